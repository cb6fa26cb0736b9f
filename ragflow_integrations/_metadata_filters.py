"""Metadata filters as RAGFlow's ``metadata_condition`` (private; shared by both adapters).

RAGFlow filters documents by their metadata with one flat list of conditions joined by one logic
(reference §3.6)::

    {"logic": "and" | "or", "conditions": [{"name": key, "comparison_operator": op, "value": v}]}

Strings compare case-insensitively and ``YYYY-MM-DD`` strings as dates. LangChain's dict filters
(:func:`from_dict_filter`) and LlamaIndex's ``MetadataFilters`` (``llama_index/_filters.py``) are
translated here into that shape; whatever it cannot express is refused with a ``ValueError``
naming the part, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "OPERATORS",
    "and_conditions",
    "condition",
    "from_dict_filter",
    "metadata_condition",
]

OPERATORS: dict[str, str] = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "in",
    "nin": "not in",
    "contains": "contains",
    "is_empty": "empty",
}
"""Operator names (LangChain's without the ``$``) and RAGFlow's ``comparison_operator``s.
``contains`` is a substring test on the value (on each item of a list value)."""

_DICT_OPERATORS = ", ".join(f"${name}" for name in OPERATORS if name != "is_empty")
_FLAT = "RAGFlow takes one flat list of conditions joined by one logic (all AND or all OR)"


def condition(name: str, operator: str, value: Any) -> dict[str, Any]:
    """One RAGFlow condition: ``in`` / ``nin`` values as lists, ``is_empty`` without a value.

    Numbers and booleans are sent as text: RAGFlow compares the text of each stored value with
    the condition's value, reading both as Python literals only when both are text (so ``2022``
    matches a stored 2022, and ``> "2022"`` compares numbers; a JSON number would match nothing).
    """
    if operator in ("in", "nin"):
        items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        value = [_as_text(item) for item in items]
    elif operator == "is_empty":
        value = None
    else:
        value = _as_text(value)
    return {"name": name, "comparison_operator": OPERATORS[operator], "value": value}


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) else value


def metadata_condition(logic: str, conditions: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """``{"logic", "conditions"}``, or None for no condition (RAGFlow would match nothing)."""
    if not conditions:
        return None
    return {"logic": logic, "conditions": list(conditions)}


def and_conditions(*parts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The conditions of ``parts`` (``metadata_condition`` dicts, None ignored) all at once.

    A part joined by OR with more than one condition cannot be ANDed with another part in
    RAGFlow's flat shape: ``ValueError``.
    """
    given = [dict(part) for part in parts if part and part.get("conditions")]
    if len(given) <= 1:
        return given[0] if given else None
    conditions: list[dict[str, Any]] = []
    for part in given:
        items = list(part["conditions"])
        if str(part.get("logic", "and")).lower() != "and" and len(items) > 1:
            raise ValueError(
                f"cannot combine the OR filter {part} with another filter: {_FLAT}; pass one "
                "filter (filter= or metadata_condition=) that holds every condition"
            )
        conditions += items
    return metadata_condition("and", conditions)


def from_dict_filter(filter: Any) -> dict[str, Any] | None:
    """A LangChain-style dict filter as a ``metadata_condition`` (None when it is empty).

    Understood: ``{"key": value}`` (equality; several keys: AND), ``{"key": {"$op": value}}``
    with ``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$in``, ``$nin``, ``$contains``
    (several operators on one key: AND), and ``{"$and": [...]}`` / ``{"$or": [...]}`` of those, as
    long as the whole filter is one flat AND or one flat OR. Anything else (``$not``,
    ``$exists``, ``$like``, an OR inside an AND, a nested field) raises ``ValueError``.
    """
    if not isinstance(filter, Mapping):
        raise TypeError(
            f"filter must be a dict such as {{'topic': 'tea'}} or {{'year': {{'$gte': 2020}}}}, "
            f"got {type(filter).__name__}"
        )
    logic, conditions = _group(filter)
    return metadata_condition(logic or "and", conditions)


def _group(node: Mapping[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(logic, conditions)`` of one dict; logic None when it holds at most one condition."""
    parts = []
    for key, value in node.items():
        if key in ("$and", "$or"):
            parts.append(_combination(key, value))
        elif not isinstance(key, str) or key.startswith("$"):
            raise ValueError(
                f"RAGFlow metadata filters cannot express {key!r}; supported: field names with "
                f"{_DICT_OPERATORS}, combined with $and / $or"
            )
        else:
            parts.append(_field(key, value))
    return _joined("and", parts, f"the filter {dict(node)}")


def _combination(key: str, children: Any) -> tuple[str | None, list[dict[str, Any]]]:
    if not isinstance(children, list | tuple) or not children:
        raise ValueError(f"{key} takes a non-empty list of filters, got {children!r}")
    for child in children:
        if not isinstance(child, Mapping):
            raise ValueError(f"{key} takes a list of filter dicts, got {child!r}")
    return _joined(key[1:], [_group(child) for child in children], f"{key}: {list(children)}")


def _joined(
    logic: str, parts: list[tuple[str | None, list[dict[str, Any]]]], where: str
) -> tuple[str | None, list[dict[str, Any]]]:
    if len(parts) == 1:
        return parts[0]  # {"$or": [...]} alone, or one key: its own logic
    conditions: list[dict[str, Any]] = []
    for part_logic, part in parts:
        if part_logic not in (None, logic):
            raise ValueError(
                f"cannot express {where}: an {part_logic.upper()} of several conditions inside "
                f"an {logic.upper()}; {_FLAT} (an OR over values of one key is $in)"
            )
        conditions += part
    return (logic if len(conditions) > 1 else None), conditions


def _field(name: str, value: Any) -> tuple[str | None, list[dict[str, Any]]]:
    if isinstance(value, Mapping):
        operators = list(value)
        unknown = [op for op in operators if not (isinstance(op, str) and op[1:] in OPERATORS)]
        if not operators or unknown or "$is_empty" in operators:
            raise ValueError(
                f"RAGFlow metadata filters cannot express {name!r}: {dict(value)}; supported "
                f"operators: {_DICT_OPERATORS} (nested fields are not supported)"
            )
        conditions = [_checked(name, op[1:], operand) for op, operand in value.items()]
        return ("and" if len(conditions) > 1 else None), conditions
    return None, [_checked(name, "eq", value)]


def _checked(name: str, operator: str, value: Any) -> dict[str, Any]:
    listed = isinstance(value, list | tuple | set | frozenset)
    if operator in ("in", "nin") and not listed:
        raise ValueError(f"${operator} on {name!r} takes a list of values, got {value!r}")
    if operator not in ("in", "nin") and (listed or value is None or isinstance(value, Mapping)):
        raise ValueError(
            f"${operator} on {name!r} takes one string or number, got {value!r}"
            + (" (for several values use $in)" if listed else "")
        )
    return condition(name, operator, value)
