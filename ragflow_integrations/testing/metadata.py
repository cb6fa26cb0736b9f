"""``metadata_condition`` evaluation over documents' ``meta_fields`` (reference §3.6)."""

from __future__ import annotations

import ast
import contextlib
import re
from typing import Any

_ALIASES = {"is": "=", "not is": "≠", "!=": "≠", ">=": "≥", "<=": "≤", "==": "="}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
OPERATORS = frozenset(
    {
        "=",
        "≠",
        ">",
        "<",
        "≥",
        "≤",
        "contains",
        "not contains",
        "in",
        "not in",
        "start with",
        "end with",
        "empty",
        "not empty",
    }
)


# ---------------------------------------------------------------- RAGFlow's flattened index
def flattened_metadata(docs: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """``{key: {str(value): [document ids]}}`` over the documents' ``meta_fields`` (list values
    count once per item, ``None`` values not at all), as RAGFlow's metadata index answers."""
    out: dict[str, dict[str, list[str]]] = {}
    for doc in docs:
        for key, value in (doc.get("meta_fields") or {}).items():
            by_value = out.setdefault(key, {})
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    by_value.setdefault(str(item), []).append(doc["id"])
    return out


_OPERATOR_NAMES = {"is": "=", "not is": "≠", ">=": "≥", "<=": "≤", "!=": "≠"}


def _is_date(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _literal(text: Any) -> Any:
    return ast.literal_eval(text)


def _value_matches(operator: str, stored: Any, wanted: Any) -> bool:
    """One flattened value against one condition, with RAGFlow's coercions: dates compare as
    text, otherwise both sides are read as Python literals when both can be, strings compare
    lower-cased."""
    if operator in ("=", "≠", ">", "<", "≥", "≤"):
        left, right = str(stored).strip(), str(wanted).strip()
        if _is_date(right):
            if not _is_date(left):
                return False
            stored, wanted = left, right
        else:
            with contextlib.suppress(ValueError, SyntaxError, TypeError, MemoryError):
                stored, wanted = _literal(stored), _literal(wanted)
            stored = stored.lower() if isinstance(stored, str) else stored
            wanted = wanted.lower() if isinstance(wanted, str) else wanted
    else:
        stored = stored.lower() if isinstance(stored, str) else stored
        if isinstance(wanted, str):
            wanted = wanted.lower()
        elif isinstance(wanted, list):
            wanted = [w.lower() if isinstance(w, str) else w for w in wanted]
    try:
        if operator == "contains":
            return str(stored).find(wanted) >= 0
        if operator == "not contains":
            return str(stored).find(wanted) == -1
        if operator == "in":
            return bool(stored in wanted)
        if operator == "not in":
            return bool(stored not in wanted)
        if operator == "start with":
            return str(stored).lower().startswith(str(wanted).lower())
        if operator == "end with":
            return str(stored).lower().endswith(str(wanted).lower())
        if operator == "empty":
            return not stored
        if operator == "not empty":
            return bool(stored)
        comparisons = {
            "=": lambda a, b: a == b,
            "≠": lambda a, b: a != b,
            ">": lambda a, b: a > b,
            "<": lambda a, b: a < b,
            "≥": lambda a, b: a >= b,
            "≤": lambda a, b: a <= b,
        }
        compare = comparisons.get(operator)
        return bool(compare(stored, wanted)) if compare else False
    except Exception:  # RAGFlow treats a failed comparison as no match
        return False


def matching_ids(docs: list[dict[str, Any]], condition: dict[str, Any]) -> set[str]:
    """The ids of ``docs`` that a ``metadata_condition`` keeps, the way RAGFlow filters (over the
    flattened index of those documents)."""
    return set(filter_by_metadata(flattened_metadata(docs), condition))


def filter_by_metadata(
    metas: dict[str, dict[str, list[str]]], condition: dict[str, Any]
) -> list[str]:
    """The ids a ``{logic, conditions}`` filter keeps, over a flattened index (RAGFlow's
    ``meta_filter``): a key nobody has matches nothing; ``and`` intersects, ``or`` unites."""
    logic = condition.get("logic", "and")
    chosen: set[str] | None = None
    for cond in condition.get("conditions", []):
        operator = str(cond["comparison_operator"])
        operator = _OPERATOR_NAMES.get(operator, operator)
        key, wanted = cond["name"], cond["value"]
        ids = [
            doc_id
            for value, doc_ids in metas.get(key, {}).items()
            if _value_matches(operator, value, wanted)
            for doc_id in doc_ids
        ]
        if chosen is None:
            chosen = set(ids)
        elif logic == "and":
            chosen &= set(ids)
            if not chosen:
                return []
        else:
            chosen |= set(ids)
    return list(chosen or [])


def _is_schema(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        "$schema" in obj
        or (obj.get("type") == "object" and isinstance(obj.get("properties"), dict))
    )


def _is_field_list(obj: Any) -> bool:
    if not isinstance(obj, list) or not obj:
        return False
    for item in obj:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            return False
        if item.get("enum") is not None and not isinstance(item["enum"], list):
            return False
        for text in ("description", "descriptions"):
            if item.get(text) is not None and not isinstance(item[text], str):
                return False
    return True


def metadata_json_schema(obj: Any) -> dict[str, Any]:
    """A metadata field list as the JSON schema RAGFlow's document list shows (a schema stays
    as it is; anything else becomes ``{}``)."""
    if _is_schema(obj):
        return dict(obj)
    if not _is_field_list(obj):
        return {}
    properties: dict[str, Any] = {}
    for item in obj:
        prop: dict[str, Any] = {
            "description": item.get("description") or item.get("descriptions") or ""
        }
        if item.get("enum"):
            prop["enum"] = item["enum"]
            prop["type"] = "string"
        properties[item["key"]] = prop
    return {"type": "object", "properties": properties, "additionalProperties": False}
