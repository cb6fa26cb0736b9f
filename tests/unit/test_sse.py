"""SSE decoding and stream normalisation (delta, cumulative, legacy, agents), cut streams."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragflow_integrations import ResponseDecodeError, StreamError
from ragflow_integrations._core.ops import StreamPlan
from ragflow_integrations._core.request import RequestSpec
from ragflow_integrations._core.sse import (
    SSEDecoder,
    StreamMode,
    StreamNormaliser,
    iter_payloads,
    reference_chunks,
    split_think,
)
from ragflow_integrations._core.streaming import StreamRunner

from .fakes import FakeServer, async_client, chat_events, sse, sync_client


def env(data: Any, code: int = 0, message: str = "") -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def line(payload: Any, space: bool = False) -> str:
    return ("data: " if space else "data:") + json.dumps(payload)


def ev(answer: str = "", **extra: Any) -> dict[str, Any]:
    return env({"answer": answer, "reference": {"chunks": []}, "final": False, **extra})


# -- decoder ----------------------------------------------------------------------------------


def test_decoder_accepts_both_prefixes_and_skips_noise() -> None:
    lines = [
        ": keep-alive",
        "",
        "event: message",
        line({"a": 1}),
        "",
        line({"b": 2}, space=True),
        "id: 7",
        "",
        "data:[DONE]",
        line({"never": True}),
    ]
    assert list(iter_payloads(lines)) == [{"a": 1}, {"b": 2}]


def test_decoder_stops_on_data_true_envelope() -> None:
    lines = [line(env({"answer": "x"})), "", line(env(True)), "", line(env({"answer": "y"}))]
    decoder = SSEDecoder()
    out = [p for raw in lines for p in decoder.feed(raw)]
    assert out == [env({"answer": "x"})]
    assert decoder.done


def test_decoder_joins_multiline_data_and_accepts_bytes() -> None:
    lines = [b'data: {"a":', b"data: 1}", b"", b"data: [DONE]"]
    assert list(iter_payloads(lines)) == [{"a": 1}]


def test_error_envelope_raises_stream_error() -> None:
    lines = [line(env({"answer": "**ERROR**: boom", "reference": []}, code=500, message="boom"))]
    with pytest.raises(StreamError, match="boom") as info:
        list(iter_payloads(lines))
    assert info.value.code == 500


def test_malformed_event_raises_decode_error() -> None:
    with pytest.raises(ResponseDecodeError, match="not JSON"):
        list(iter_payloads(["data: {oops", ""]))


# -- normaliser -------------------------------------------------------------------------------


def feed_all(norm: StreamNormaliser, payloads: list[dict[str, Any]]) -> list[Any]:
    events = [e for p in payloads for e in norm.feed(p)]
    return events + norm.finish()


def test_delta_mode_with_reasoning_markers_and_final_reference() -> None:
    chunk = {"id": "c1", "content": "RAGFlow is…", "document_name": "a.txt"}
    payloads = [
        ev("", start_to_think=True),
        ev("Let me think."),
        ev("", end_to_think=True),
        ev("Hello"),
        ev(" world"),
        env(
            {
                "answer": "",
                "final": True,
                "session_id": "s1",
                "id": "m1",
                "reference": {"total": 1, "chunks": [chunk], "doc_aggs": [{"doc_name": "a.txt"}]},
            }
        ),
    ]
    events = feed_all(StreamNormaliser("delta"), payloads)
    assert [e.delta for e in events] == ["", "Hello", " world", ""]
    assert [e.content for e in events] == ["", "Hello", "Hello world", "Hello world"]
    assert events[0].reasoning_delta == "Let me think."
    assert all("think" not in e.content for e in events)
    last = events[-1]
    assert last.final and last.reasoning == "Let me think."
    assert last.reference == [chunk]
    assert last.doc_aggs == [{"doc_name": "a.txt"}]
    assert (last.session_id, last.message_id) == ("s1", "m1")
    assert [e.final for e in events].count(True) == 1


def test_final_event_with_text_replaces_instead_of_appending() -> None:
    payloads = [
        ev("Sorry! Nothing found."),
        env({"answer": "Sorry! Nothing found.", "final": True, "reference": {}}),
    ]
    events = feed_all(StreamNormaliser("delta"), payloads)
    assert events[-1].content == "Sorry! Nothing found."
    assert events[-1].final


@pytest.mark.parametrize("mode", ["cumulative", "auto"])
def test_a_final_answer_that_rewrites_the_text_keeps_deltas_whole(mode: StreamMode) -> None:
    # RAGFlow v0.22 streams whole answers, and its last one inserts citation markers mid-text.
    streamed = "RAGFlow is an engine. (canned answer)"
    rewritten = "RAGFlow is an engine [ID:0]. (canned answer)"
    payloads = [ev("RAGFlow is an engine."), ev(streamed), ev(rewritten)]
    events = feed_all(StreamNormaliser(mode), payloads)
    assert "".join(e.delta for e in events) == events[-1].content == streamed
    assert events[-1].final and events[-1].final_content == rewritten
    assert all(e.final_content is None for e in events[:-1])


def test_text_after_a_rewrite_is_appended_from_the_rewritten_answer() -> None:
    answers = ["Hello.", "Hello [ID:0].", "Hello [ID:0]. More"]
    events = feed_all(StreamNormaliser("cumulative"), [ev(a) for a in answers])
    assert [e.delta for e in events] == ["Hello.", " More", ""]
    assert events[-1].content == "Hello. More"
    assert events[-1].final_content == "Hello [ID:0]. More"


@given(answers=st.lists(st.text(max_size=10).filter(lambda s: "<think>" not in s), max_size=8))
def test_deltas_always_concatenate_to_the_content(answers: list[str]) -> None:
    for mode in ("cumulative", "auto", "delta"):
        events = feed_all(StreamNormaliser(mode), [ev(a) for a in answers])  # type: ignore[arg-type]
        assert "".join(e.delta for e in events) == events[-1].content


def test_cumulative_legacy_mode_with_inline_think() -> None:
    answers = [
        "<think>hmm",
        "<think>hmm, ok</think>",
        "<think>hmm, ok</think>The answer",
        "<think>hmm, ok</think>The answer is 42",
    ]
    events = feed_all(StreamNormaliser("cumulative"), [ev(a) for a in answers])
    assert [e.content for e in events] == [
        "",
        "",
        "The answer",
        "The answer is 42",
        "The answer is 42",
    ]
    assert [e.delta for e in events] == ["", "", "The answer", " is 42", ""]
    assert [e.reasoning_delta for e in events] == ["hmm", ", ok", "", "", ""]
    assert events[-1].reasoning == "hmm, ok"
    assert events[-1].final


def test_auto_mode_detects_cumulative_streams() -> None:
    events = feed_all(StreamNormaliser("auto"), [ev("Hel"), ev("Hello"), ev("Hello there")])
    assert events[-1].content == "Hello there"
    assert "".join(e.delta for e in events) == "Hello there"


@given(
    parts=st.lists(
        st.text(min_size=1, max_size=8).filter(lambda s: "<think>" not in s),
        min_size=1,
        max_size=12,
    )
)
def test_delta_and_cumulative_forms_give_the_same_content(parts: list[str]) -> None:
    full = "".join(parts)
    delta = feed_all(StreamNormaliser("delta"), [ev(p) for p in parts])
    running = ["".join(parts[: i + 1]) for i in range(len(parts))]
    cumulative = feed_all(StreamNormaliser("cumulative"), [ev(r) for r in running])
    assert delta[-1].content == full == cumulative[-1].content
    assert "".join(e.delta for e in delta) == full
    assert "".join(e.delta for e in cumulative) == full


def test_agent_events() -> None:
    payloads = [
        {"event": "workflow_started", "session_id": "s9", "data": {"inputs": {}}},
        {"event": "message", "message_id": "m9", "data": {"content": "Hi "}},
        {"event": "message", "data": {"content": "there", "start_to_think": False}},
        {
            "event": "message_end",
            "data": {
                "reference": {
                    "chunks": {"1": {"id": "b"}, "0": {"id": "a"}},
                    "doc_aggs": {"x": {"doc_name": "x"}},
                }
            },
        },
        {"event": "workflow_finished", "data": {"outputs": {"content": "Hi there"}}},
    ]
    events = feed_all(StreamNormaliser("delta"), payloads)
    assert [e.delta for e in events] == ["Hi ", "there", ""]
    assert events[-1].final and events[-1].content == "Hi there"
    assert [c["id"] for c in events[-1].reference or []] == ["a", "b"]
    assert events[-1].session_id == "s9"


def test_split_think_and_reference_shapes() -> None:
    assert split_think("<think>a</think>\nB") == ("a", "B")
    assert split_think("plain") == ("", "plain")
    assert split_think("<think>unfinished") == ("unfinished", "")
    assert reference_chunks([{"id": 1}]) == ([{"id": 1}], None)
    assert reference_chunks({}) == (None, None)
    assert reference_chunks(None) == (None, None)


# -- runner -----------------------------------------------------------------------------------


def runner(kind: str = "chat", mode: StreamMode = "delta") -> StreamRunner:
    return StreamRunner(
        StreamPlan(RequestSpec("POST", "/chat/completions", stream=True), kind, mode)
    )


def test_runner_error_event_carries_partial_text() -> None:
    r = runner()
    r.feed(line(ev("partial ")))
    with pytest.raises(StreamError) as info:
        r.feed(line(env({"answer": "**ERROR**: x"}, code=500, message="LLM failed")))
    assert info.value.partial_text == "partial "
    assert info.value.path == "/chat/completions"


def test_runner_missing_terminator_is_a_cut_stream() -> None:
    r = runner()
    r.feed(line(ev("Hello")))
    with pytest.raises(StreamError, match="end marker") as info:
        r.finish()
    assert info.value.partial_text == "Hello"


def test_runner_openai_chunks_pass_through() -> None:
    r = runner("openai")
    chunk = {"choices": [{"delta": {"content": "Hi"}}]}
    assert r.feed(line(chunk)) == [chunk]
    r.feed("data:[DONE]")
    assert r.done and r.partial_text == "Hi" and r.finish() == []


# -- through the clients ----------------------------------------------------------------------


def stream_server(*answers: Any) -> FakeServer:
    return FakeServer().on("POST", "/api/v1/chat/completions", *answers)


def test_sync_stream_cut_mid_way_raises_with_partial_text() -> None:
    lines = chat_events("Hello", " world")
    body_len = len(("\n".join(lines[:2]) + "\n").encode())
    server = stream_server(sse(lines, cut_after=body_len + 3))
    client = sync_client(server)
    seen: list[str] = []
    with pytest.raises(StreamError) as info:
        for event in client.chat_completion("c1", "hi", stream=True):
            seen.append(event.content)
    assert seen == ["Hello"]
    assert info.value.partial_text == "Hello"


async def test_async_stream_cut_mid_way_raises_with_partial_text() -> None:
    lines = chat_events("Hello", " world")
    body_len = len(("\n".join(lines[:2]) + "\n").encode())
    client = async_client(stream_server(sse(lines, cut_after=body_len + 3)))
    seen: list[str] = []
    with pytest.raises(StreamError) as info:
        async for event in await client.chat_completion("c1", "hi", stream=True):
            seen.append(event.content)
    assert seen == ["Hello"]
    assert info.value.partial_text == "Hello"


def test_stream_request_answered_with_json_error_raises_mapped_error() -> None:
    from ragflow_integrations import NotFoundError

    from .fakes import err

    client = sync_client(stream_server(err(102, "Session not found!")))
    with pytest.raises(NotFoundError, match="Session not found"):
        list(client.chat_completion("c1", "hi", session_id="nope", stream=True))


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_stream_request_answered_with_a_cut_json_body_raises_stream_error(
    flavour: str,
) -> None:
    from .fakes import JSON, Answer

    body = json.dumps({"code": 0, "data": {"answer": "a long answer " * 20}}).encode()
    server = stream_server(Answer(headers=dict(JSON), body=body, cut_after=25))
    with pytest.raises(StreamError, match="The stream was cut") as info:
        if flavour == "sync":
            list(sync_client(server).chat_completion("c1", "hi", stream=True))
        else:
            [e async for e in await async_client(server).chat_completion("c1", "hi", stream=True)]
    assert info.value.method == "POST" and info.value.path == "/chat/completions"


def test_space_prefixed_stream_and_done_terminator() -> None:
    lines = [line(ev("A"), space=True), "", line(ev("B"), space=True), "", "data: [DONE]", ""]
    client = sync_client(stream_server(sse(lines)))
    events = list(client.chat_completion("c1", "hi", stream=True))
    assert [e.content for e in events] == ["A", "AB", "AB"]
    assert events[-1].final


def test_a_server_of_unknown_version_gets_auto_streams_for_both_forms() -> None:
    """v0.22-v0.24 all 404 the version probe; v0.24 streams deltas, older ones cumulative text."""
    from ragflow_integrations._core.features import ServerFeatures

    unknown = ServerFeatures.from_version(None)
    assert unknown.stream_mode == "auto"
    assert ServerFeatures.from_version("0.22").stream_mode == "cumulative"
    assert ServerFeatures.from_version("0.24.0").stream_mode == "delta"
    parts = ["RAGFlow is ", "an open-source ", "RAG engine."]
    running = ["".join(parts[: i + 1]) for i in range(len(parts))]
    for answers in (parts, running):
        events = feed_all(StreamNormaliser(unknown.stream_mode), [ev(a) for a in answers])
        assert events[-1].content == "RAGFlow is an open-source RAG engine."
        assert "".join(e.delta for e in events) == events[-1].content
