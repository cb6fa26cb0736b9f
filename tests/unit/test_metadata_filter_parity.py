"""The client's ``metadata_condition`` evaluator (used where a server ignores the condition)
and the local server's (RAGFlow's rules) keep the same documents, operator by operator."""

from __future__ import annotations

import itertools
from typing import Any

from ragflow_integrations._core.metadata_filter import metadata_matches
from ragflow_integrations.testing.metadata import matching_ids

META: dict[str, Any] = {
    "author": "Ann Lee",
    "year": 2021,
    "tags": ["ai", "ml"],
    "date": "2024-03-05",
    "blank": "",
    "flag": True,
}
NAMES = [*META, "missing"]
OPERATORS = [
    *("=", "≠", ">", "<", "≥", "≤", "is", "not is", "contains", "not contains"),
    *("in", "not in", "start with", "end with", "empty", "not empty"),
]
VALUES: list[Any] = [
    *("ann lee", "2021", 2021, "2020", "2021.0", ["ml", "cv"], "Bob,Ann Lee", "2024-01-31"),
    *("2024-3-1", "m", "LEE", "", "True", True, None),
]


def test_client_and_server_filters_agree() -> None:
    differ = []
    for name, operator, value in itertools.product(NAMES, OPERATORS, VALUES):
        condition = {
            "conditions": [{"name": name, "comparison_operator": operator, "value": value}]
        }
        client = metadata_matches(META, condition)
        server = matching_ids([{"id": "d", "meta_fields": META}], condition) == {"d"}
        if client != server:
            differ.append((name, operator, value, client, server))
    assert differ == []
    assert len(NAMES) * len(OPERATORS) * len(VALUES) == 1680
