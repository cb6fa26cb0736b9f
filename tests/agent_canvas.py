"""A RAGFlow agent canvas for tests: real RAGFlow (v0.27) refuses a DSL that is not a canvas, and
so does the local server."""

from __future__ import annotations

from typing import Any


def canvas(dataset_id: str, prologue: str = "Agent here.") -> dict[str, Any]:
    """A RAGFlow canvas: Begin -> Retrieval -> LLM -> Message."""
    components: dict[str, Any] = {
        "begin": {
            "obj": {"component_name": "Begin", "params": {"prologue": prologue}},
            "downstream": ["Retrieval:0"],
            "upstream": [],
        },
        "Retrieval:0": {
            "obj": {"component_name": "Retrieval", "params": {"kb_ids": [dataset_id], "top_n": 2}},
            "downstream": ["LLM:0"],
            "upstream": ["begin"],
        },
        "LLM:0": {
            "obj": {"component_name": "LLM", "params": {}},
            "downstream": ["Message:0"],
            "upstream": ["Retrieval:0"],
        },
        "Message:0": {
            "obj": {"component_name": "Message", "params": {"content": ["{LLM:0@content}"]}},
            "downstream": [],
            "upstream": ["LLM:0"],
        },
    }
    return {"components": components, "history": [], "retrieval": [], "path": [], "globals": {}}
