"""The metadata_condition operators (§3.6) on literal inputs."""

from __future__ import annotations

import pytest

from ragflow_integrations.testing.metadata import condition_matches, metadata_matches

META = {"author": "Ann Lee", "year": 2021, "tags": ["ai", "ml"], "date": "2024-03-05", "blank": ""}


@pytest.mark.parametrize(
    ("name", "op", "value", "expected"),
    [
        ("author", "=", "ann lee", True),
        ("author", "is", "Bob", False),
        ("author", "≠", "Bob", True),
        ("author", "!=", "ann lee", False),
        ("author", "not is", "Bob", True),
        ("year", ">", 2020, True),
        ("year", "<", "2021", False),
        ("year", "≥", 2021, True),
        ("year", ">=", 2022, False),
        ("year", "≤", 2021.0, True),
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
        ("missing", "empty", None, True),
        ("author", "not empty", None, True),
        ("date", ">", "2024-01-31", True),
        ("date", "<", "2024-3-1", True),
        ("missing", "=", "x", False),
        ("missing", "≠", "x", True),
    ],
)
def test_operators(name: str, op: str, value: object, expected: bool) -> None:
    cond = {"name": name, "comparison_operator": op, "value": value}
    assert condition_matches(META, cond) is expected


def test_logic() -> None:
    yes = {"name": "year", "comparison_operator": "=", "value": 2021}
    no = {"name": "year", "comparison_operator": "=", "value": 1999}
    assert metadata_matches(META, {"logic": "and", "conditions": [yes, no]}) is False
    assert metadata_matches(META, {"logic": "or", "conditions": [yes, no]}) is True
    assert metadata_matches(META, {"conditions": [yes]}) is True
    assert metadata_matches(META, None) is True
    assert metadata_matches({}, {"conditions": []}) is True
