"""Framework metadata becomes RAGFlow meta_fields the same way for both adapters."""

from __future__ import annotations

import json

from ragflow_integrations.ingest import to_meta_fields


def test_scalars_and_lists_pass_through_the_rest_becomes_json() -> None:
    fields = to_meta_fields(
        {
            "title": "Nile",
            "year": 2024,
            "score": 0.5,
            "tags": ["river", "africa"],
            "pair": (1, 2),
            "flag": True,
            "off": False,
            "skip": None,
            "nested": {"b": 1, "a": [1, {"x": None}]},
            3: "numeric key",
        }
    )
    assert fields == {
        "title": "Nile",
        "year": 2024,
        "score": 0.5,
        "tags": ["river", "africa"],
        "pair": [1, 2],
        "flag": "true",
        "off": "false",
        "nested": json.dumps({"a": [1, {"x": None}], "b": 1}, sort_keys=True),
        "3": "numeric key",
    }


def test_lists_of_mixed_or_boolean_values_become_json() -> None:
    fields = to_meta_fields({"mixed": [1, {"a": 1}], "bools": [True, False]})
    assert fields == {"mixed": '[1, {"a": 1}]', "bools": "[true, false]"}
