"""Pure helpers of the LangChain adapters (no network)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from ragflow_integrations.langchain.chat_models import _StopCutter, _to_wire_messages
from ragflow_integrations.langchain.vectorstores import _to_meta_fields


@pytest.mark.parametrize(
    ("pieces", "stop", "expected"),
    [
        (["Hello wor", "ld. More"], ["."], "Hello world"),
        (["abc", "<e", "nd> tail"], ["<end>"], "abc"),
        (["abc <e", "ls", "e"], ["<end>"], "abc <else"),
        (["no stop here"], [], "no stop here"),
        (["x", "STOP", "y"], ["STOP", "x"], ""),
    ],
)
def test_stop_cutter(pieces: list[str], stop: list[str], expected: str) -> None:
    cutter = _StopCutter(stop)
    out = "".join(cutter.feed(p) for p in pieces) + cutter.flush()
    assert out == expected


def test_wire_messages_merge_same_role_neighbours() -> None:
    wire = _to_wire_messages(
        [
            SystemMessage("be brief"),
            HumanMessage("hi"),
            HumanMessage("there"),
            AIMessage("hello"),
            HumanMessage([{"type": "text", "text": "question"}]),
        ]
    )
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi\n\nthere"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "question"},
    ]
    with pytest.raises(ValueError, match="last message must be a human"):
        _to_wire_messages([HumanMessage("hi"), AIMessage("hello")])


def test_meta_fields_keep_scalars_and_encode_the_rest() -> None:
    assert _to_meta_fields(
        {
            "a": "x",
            "n": 2,
            "f": 0.5,
            "tags": ["t", 1],
            "flag": True,
            "obj": {"k": [1]},
            "none": None,
        }
    ) == {"a": "x", "n": 2, "f": 0.5, "tags": ["t", 1], "flag": "true", "obj": '{"k": [1]}'}
