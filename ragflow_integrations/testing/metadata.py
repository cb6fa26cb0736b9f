"""``metadata_condition`` evaluation over documents' ``meta_fields`` (reference §3.6)."""

from __future__ import annotations

import re
from datetime import date
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


def _comparable(value: Any) -> Any:
    """Numbers stay numbers, YYYY-MM-DD strings become dates, other strings lower-case."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if _DATE.match(text):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    try:
        return float(text)
    except ValueError:
        return text.lower()


def _compare(op: str, actual: Any, expected: Any) -> bool:
    a, e = _comparable(actual), _comparable(expected)
    if op in {"=", "≠"}:
        same = a == e
        return same if op == "=" else not same
    if type(a) is not type(e):
        a, e = str(actual).lower(), str(expected).lower()
    try:
        if op == ">":
            return bool(a > e)
        if op == "<":
            return bool(a < e)
        if op == "≥":
            return bool(a >= e)
        if op == "≤":
            return bool(a <= e)
    except TypeError:
        return False
    return False


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str) and "," in value:
        return [part.strip() for part in value.split(",")]
    return [value]


def condition_matches(meta: dict[str, Any], cond: dict[str, Any]) -> bool:
    """Whether one ``{name, comparison_operator, value}`` condition holds for ``meta``."""
    name = str(cond.get("name", ""))
    op = str(cond.get("comparison_operator", "=")).strip().lower()
    op = _ALIASES.get(op, op)
    expected = cond.get("value")
    present = name in meta and meta[name] not in (None, "", [])
    if op == "empty":
        return not present
    if op == "not empty":
        return present
    if not present:
        return op in {"≠", "not contains", "not in"}
    actual = meta[name]
    values = actual if isinstance(actual, list) else [actual]
    if op in {"contains", "not contains"}:
        needle = str(expected).lower()
        hit = any(needle in str(v).lower() for v in values)
        return hit if op == "contains" else not hit
    if op in {"in", "not in"}:
        options = {str(_comparable(x)) for x in _as_list(expected)}
        hit = any(str(_comparable(v)) in options for v in values)
        return hit if op == "in" else not hit
    if op == "start with":
        return any(str(v).lower().startswith(str(expected).lower()) for v in values)
    if op == "end with":
        return any(str(v).lower().endswith(str(expected).lower()) for v in values)
    if op == "≠":
        return all(_compare("≠", v, expected) for v in values)
    return any(_compare(op, v, expected) for v in values)


def metadata_matches(meta: dict[str, Any], condition: dict[str, Any] | None) -> bool:
    """Whether a document's metadata satisfies a whole ``{logic, conditions}`` filter."""
    if not condition:
        return True
    conditions = [c for c in condition.get("conditions") or [] if isinstance(c, dict)]
    if not conditions:
        return True
    results = (condition_matches(meta, c) for c in conditions)
    if str(condition.get("logic", "and")).lower() == "or":
        return any(results)
    return all(results)
