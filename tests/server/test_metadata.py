"""The metadata_condition operators on literal inputs, with RAGFlow's own rules (its
``meta_filter`` over the flattened metadata index): a document without the key never matches."""

from __future__ import annotations

import pytest

from ragflow_integrations.testing.metadata import matching_ids

META = {"author": "Ann Lee", "year": 2021, "tags": ["ai", "ml"], "date": "2024-03-05", "blank": ""}


def _keeps(condition: dict[str, object]) -> bool:
    return matching_ids([{"id": "d", "meta_fields": META}], condition) == {"d"}


@pytest.mark.parametrize(
    ("name", "op", "value", "expected"),
    [
        ("author", "=", "ann lee", True),
        ("author", "is", "Bob", False),
        ("author", "≠", "Bob", True),
        ("author", "!=", "ann lee", False),
        ("author", "not is", "Bob", True),
        ("year", ">", "2020", True),
        ("year", "<", "2021", False),
        ("year", "≥", "2021", True),
        ("year", "=", 2021, False),  # a JSON number is not read as a literal: no match
        ("year", ">=", 2022, False),
        ("year", "≤", "2021.0", True),
        ("year", "<=", 2000, False),
        ("author", "contains", "LEE", True),
        ("author", "not contains", "lee", False),
        ("tags", "contains", "m", True),
        ("tags", "in", ["ml", "cv"], True),
        ("tags", "not in", ["cv"], True),
        ("author", "in", "Bob,Ann Lee", True),
        ("author", "start with", "ann", True),
        ("author", "end with", "LEE", True),
        ("author", "end with", "ann", False),
        ("blank", "empty", None, True),
        ("missing", "empty", None, False),
        ("author", "not empty", None, True),
        ("date", ">", "2024-01-31", True),
        ("date", "<", "2024-3-1", True),
        ("missing", "=", "x", False),
        ("missing", "≠", "x", False),
    ],
)
def test_operators(name: str, op: str, value: object, expected: bool) -> None:
    cond = {"name": name, "comparison_operator": op, "value": value}
    assert _keeps({"conditions": [cond]}) is expected


def test_logic() -> None:
    yes = {"name": "year", "comparison_operator": "=", "value": "2021"}
    no = {"name": "year", "comparison_operator": "=", "value": "1999"}
    assert _keeps({"logic": "and", "conditions": [yes, no]}) is False
    assert _keeps({"logic": "or", "conditions": [yes, no]}) is True
    assert _keeps({"conditions": [yes]}) is True
