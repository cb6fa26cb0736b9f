"""``metadata_condition`` evaluated on the client, for servers that ignore it in a listing.

RAGFlow v0.22 answers ``GET /datasets/{id}/documents?metadata_condition=…`` with every document;
the client then keeps the documents whose ``meta_fields`` satisfy the condition, with RAGFlow's
own matching rules (reference §3.6):

* a document without the key never matches (whatever the operator, ``empty`` and ``≠`` included);
* each value is compared as its text, and a list value matches when one of its items does;
* ``=``/``≠``/``>``/``<``/``≥``/``≤`` compare ``YYYY-MM-DD`` dates as text, otherwise Python
  literals (numbers, booleans) when both sides are text that reads as one, otherwise lower-cased
  text (so a condition value sent as a JSON number matches nothing, on the server as here);
* ``contains``/``not contains``/``start with``/``end with`` are lower-cased text tests, ``in`` /
  ``not in`` membership in the condition's value, ``empty``/``not empty`` the value's truth;
* ``logic`` ``"and"`` (default) or ``"or"`` joins the conditions.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["metadata_matches"]

_ALIASES = {"is": "=", "not is": "≠", "!=": "≠", ">=": "≥", "<=": "≤", "==": "="}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ORDER = {"=", "≠", ">", "<", "≥", "≤"}


def _lower(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return [v.lower() if isinstance(v, str) else v for v in value]
    return value


def _literal_pair(actual: str, expected: Any) -> tuple[Any, Any]:
    """Both sides as Python literals, or both unchanged (never one side only). Like RAGFlow, the
    condition's value is read only when it is text: a JSON number stays a number and never equals
    the stored value's text."""
    try:
        return ast.literal_eval(actual), ast.literal_eval(expected)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return actual, expected


def _order_match(op: str, actual: Any, expected: Any) -> bool:
    a_text, e_text = str(actual).strip(), str(expected).strip()
    if _DATE.match(e_text):
        if not _DATE.match(a_text):
            return False
        a, e = a_text, e_text
    else:
        a, e = _literal_pair(actual, expected)
        a, e = _lower(a), _lower(e)
    if op == "=":
        return bool(a == e)
    if op == "≠":
        return bool(a != e)
    try:
        if op == ">":
            return bool(a > e)
        if op == "<":
            return bool(a < e)
        if op == "≥":
            return bool(a >= e)
        return bool(a <= e)
    except TypeError:
        return False


def _value_match(op: str, actual: Any, expected: Any) -> bool:
    if op in _ORDER:
        return _order_match(op, actual, expected)
    a, e = _lower(actual), _lower(expected)
    try:
        if op in ("contains", "not contains"):
            if not isinstance(e, str):
                return False  # RAGFlow's text search fails on anything but text: no match
            return (str(a).find(e) >= 0) == (op == "contains")
        if op == "in":
            return bool(a in e)
        if op == "not in":
            return bool(a not in e)
        if op == "start with":
            return str(a).lower().startswith(str(expected).lower())
        if op == "end with":
            return str(a).lower().endswith(str(expected).lower())
        if op == "empty":
            return not a
        if op == "not empty":
            return bool(a)
    except TypeError:
        return False
    return False


def condition_matches(meta: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    """Whether one ``{name, comparison_operator, value}`` holds for a document's metadata."""
    name = condition.get("name")
    if not isinstance(name, str) or name not in meta:
        return False
    op = str(condition.get("comparison_operator", "")).strip()
    op = _ALIASES.get(op, op)
    value = meta[name]
    # RAGFlow's flattened metadata index: the text of each item of a list, None left out
    items = [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    return any(_value_match(op, item, condition.get("value")) for item in items)


def metadata_matches(meta: Any, condition: Mapping[str, Any] | None) -> bool:
    """Whether ``meta`` (a document's ``meta_fields``) satisfies a whole ``metadata_condition``."""
    if not condition:
        return True
    conditions = [c for c in condition.get("conditions") or [] if isinstance(c, Mapping)]
    if not conditions:
        return True
    fields = meta if isinstance(meta, Mapping) else {}
    results = (condition_matches(fields, c) for c in conditions)
    if str(condition.get("logic", "and")).lower() == "or":
        return any(results)
    return all(results)
