"""Chat completions: native (§3.10), OpenAI-compatible (§3.11), related questions (§3.13)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

from .conftest import CORPUS, Api


def sse_payloads(api: Api, path: str, body: dict[str, Any]) -> list[Any]:
    """POST and decode every ``data:`` line (``[DONE]`` kept as a string)."""
    response = api.call("POST", path, json=body, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-accel-buffering"] == "no"
    out: list[Any] = []
    for line in response.iter_lines(decode_unicode=True):
        if not line:
            continue
        assert line.startswith("data:"), line
        text = line[5:].strip()
        out.append(text if text == "[DONE]" else json.loads(text))
    return out


@pytest.fixture(scope="module")
def kb(server27: Any) -> dict[str, str]:
    api = Api(server27)
    dataset_id = api.dataset("completions-kb")
    docs = api.ingest(dataset_id, CORPUS)
    chat = api.ok(
        "POST",
        "/chats",
        json={
            "name": "completion-chat",
            "dataset_ids": [dataset_id],
            "prompt_config": {"empty_response": "I found nothing.", "prologue": "Hi!"},
        },
    )
    bare = api.ok("POST", "/chats", json={"name": "no-datasets"})
    return {
        "dataset": dataset_id,
        "chat": chat["id"],
        "bare": bare["id"],
        "bees": docs["bees.txt"]["id"],
    }


def ask(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def test_non_stream_answer_cites_the_retrieved_chunk(api: Api, kb: dict[str, str]) -> None:
    body = api.json(
        "POST",
        "/chat/completions",
        json={"chat_id": kb["chat"], "messages": ask("How do bees make honey?"), "stream": False},
    )
    assert body["code"] == 0 and body["message"] == "success"
    data = body["data"]
    assert "honey" in data["answer"] and "[ID:0]" in data["answer"]
    reference = data["reference"]
    assert reference["chunks"][0]["document_id"] == kb["bees"]
    assert reference["chunks"][0]["document_name"] == "bees.txt"
    assert reference["doc_aggs"][0]["doc_name"] == "bees.txt"
    assert reference["total"] == len(reference["chunks"])
    for key in ("id", "session_id", "chat_id", "created_at", "prompt", "audio_binary"):
        assert key in data, key
    assert data["chat_id"] == kb["chat"]
    session = api.ok("GET", f"/chats/{kb['chat']}/sessions/{data['session_id']}")
    assert [m["role"] for m in session["messages"]] == ["assistant", "user", "assistant"]
    assert session["messages"][0]["content"] == "Hi!"
    assert session["messages"][2]["content"] == data["answer"]
    assert session["reference"][0]["chunks"][0]["document_id"] == kb["bees"]


def test_stream_is_delta_with_final_reference(api: Api, kb: dict[str, str]) -> None:
    events = sse_payloads(
        api,
        "/chat/completions",
        {"chat_id": kb["chat"], "messages": ask("When was the Eiffel Tower completed?")},
    )
    assert events[-1] == {"code": 0, "message": "", "data": True}
    answers = [e["data"] for e in events[:-1]]
    assert all(e["code"] == 0 and e["message"] == "" for e in events[:-1])
    deltas = [a for a in answers if not a["final"]]
    final = answers[-1]
    assert len(deltas) >= 3 and final["final"] is True and final["answer"] == ""
    text = "".join(d["answer"] for d in deltas)
    assert "1889" in text and "[ID:" not in text  # citations only in the decorated answer
    assert final["reference"]["chunks"][0]["document_name"] == "france.txt"
    assert {a["session_id"] for a in answers} == {final["session_id"]} != {""}
    non_stream = api.ok(
        "POST",
        "/chat/completions",
        json={
            "chat_id": kb["chat"],
            "messages": ask("When was the Eiffel Tower completed?"),
            "stream": False,
        },
    )
    assert "[ID:0]" in non_stream["answer"]
    assert re.sub(r" \[ID:\d+\]", "", non_stream["answer"]) == text
    assert final["prompt"].startswith("You are an intelligent assistant")


def test_legacy_stream_is_cumulative(api: Api, kb: dict[str, str]) -> None:
    events = sse_payloads(
        api,
        f"/chats/{kb['chat']}/completions",
        {"question": "Which volcano is in Sicily?", "legacy": True},
    )
    answers = [e["data"]["answer"] for e in events[:-1]]
    assert all(b.startswith(a) for a, b in itertools.pairwise(answers))
    assert answers[-1] == answers[-2] and "Etna" in answers[-1]


def test_session_history_and_stateless_mode(api: Api, kb: dict[str, str]) -> None:
    session_id = api.ok("POST", f"/chats/{kb['chat']}/sessions", json={"name": "s"})["id"]
    for question in ("Who created Python?", "What is a volcano?"):
        api.ok(
            "POST",
            "/chat/completions",
            json={
                "chat_id": kb["chat"],
                "session_id": session_id,
                "messages": ask(question),
                "stream": False,
            },
        )
    session = api.ok("GET", f"/chats/{kb['chat']}/sessions/{session_id}")
    assert len(session["messages"]) == 5 and len(session["reference"]) == 2
    before = len(api.ok("GET", f"/chats/{kb['chat']}/sessions", params={"page_size": 100}))
    stateless = api.ok(
        "POST",
        "/chat/completions",
        json={
            "chat_id": kb["chat"],
            "stream": False,
            "pass_all_history_messages": True,
            "store_history_messages": False,
            "messages": [
                {"role": "system", "content": "ignored"},
                {"role": "assistant", "content": "leading, dropped"},
                {"role": "user", "content": "Tell me about bees"},
            ],
        },
    )
    assert stateless["session_id"] == "" and "bees" in stateless["answer"].lower()
    after = len(api.ok("GET", f"/chats/{kb['chat']}/sessions", params={"page_size": 100}))
    assert after == before


def test_completion_errors(api: Api, kb: dict[str, str]) -> None:
    cases = [
        ({"chat_id": kb["chat"]}, 101, "required argument are missing: messages"),
        (
            {"chat_id": kb["chat"], "messages": [{"role": "assistant", "content": "x"}]},
            101,
            "`messages` must contain a user message.",
        ),
        (
            {"chat_id": kb["chat"], "messages": [*ask("x"), {"role": "assistant", "content": "y"}]},
            101,
            "The last message must be from user.",
        ),
        ({"chat_id": kb["chat"], "messages": [{"role": "user"}]}, 101, "include `role` and"),
        (
            {"chat_id": kb["chat"], "messages": ask("x"), "store_history_messages": False},
            102,
            "pass_all_history_messages",
        ),
        (
            {"chat_id": kb["chat"], "messages": ask("x"), "session_id": "0" * 32},
            102,
            "Session not found!",
        ),
        ({"messages": ask("x"), "session_id": "0" * 32}, 102, "`chat_id` is required"),
        ({"chat_id": "0" * 32, "messages": ask("x")}, 109, "no authorization"),
        ({"chat_id": kb["chat"], "messages": ask("x"), "llm_id": "x@y"}, 100, "Provider y"),
    ]
    for body, code, fragment in cases:
        answer = api.json("POST", "/chat/completions", json=body)
        assert answer["code"] == code, body
        assert fragment in answer["message"], (body, answer)
    other_chat = api.ok("POST", "/chats", json={"name": "other-chat"})["id"]
    foreign = api.ok("POST", f"/chats/{other_chat}/sessions")["id"]
    wrong = api.json(
        "POST",
        "/chat/completions",
        json={"chat_id": kb["chat"], "session_id": foreign, "messages": ask("x")},
    )
    assert wrong == {"code": 102, "message": "Session does not belong to this chat!"}


def test_empty_response_when_nothing_is_retrieved(api: Api, kb: dict[str, str]) -> None:
    question = ask("Quantum chromodynamics gluon confinement?")
    data = api.ok(
        "POST",
        "/chat/completions",
        json={"chat_id": kb["chat"], "messages": question, "stream": False},
    )
    assert data["answer"] == "I found nothing." and data["reference"]["chunks"] == []
    events = sse_payloads(api, "/chat/completions", {"chat_id": kb["chat"], "messages": question})
    answers = [e["data"] for e in events[:-1]]
    assert answers[-1]["final"] is True and answers[-1]["answer"] == "I found nothing."


def test_chat_without_datasets_answers_honestly(api: Api, kb: dict[str, str]) -> None:
    events = sse_payloads(
        api, "/chat/completions", {"chat_id": kb["bare"], "messages": ask("Anything?")}
    )
    answers = [e["data"] for e in events[:-1]]
    assert all(a["final"] is False for a in answers)  # no final event without datasets
    assert "no language model" in "".join(a["answer"] for a in answers)
    no_chat = api.ok("POST", "/chat/completions", json={"messages": ask("hi"), "stream": False})
    assert no_chat["session_id"] == "" and "stand-in" in no_chat["answer"]


def test_missing_template_parameter_is_a_mid_stream_error(api: Api, kb: dict[str, str]) -> None:
    chat_id = api.ok(
        "POST",
        "/chats",
        json={
            "name": "param-chat",
            "dataset_ids": [kb["dataset"]],
            "prompt_config": {
                "parameters": [
                    {"key": "knowledge", "optional": False},
                    {"key": "style", "optional": False},
                ]
            },
        },
    )["id"]
    events = sse_payloads(api, "/chat/completions", {"chat_id": chat_id, "messages": ask("bees")})
    assert events == [
        {
            "code": 500,
            "message": "'Miss parameter: style'",  # str() of RAGFlow's KeyError
            "data": {"answer": "**ERROR**: 'Miss parameter: style'", "reference": []},
        },
        {"code": 0, "message": "", "data": True},
    ]
    ok = api.ok(
        "POST",
        "/chat/completions",
        json={"chat_id": chat_id, "messages": ask("bees"), "style": "short", "stream": False},
    )
    assert "bees" in ok["answer"].lower()
    non_stream = api.json(
        "POST",
        "/chat/completions",
        json={"chat_id": chat_id, "messages": ask("bees"), "stream": False},
    )
    assert non_stream == {"code": 100, "message": "KeyError('Miss parameter: style')", "data": None}


def test_old_server_completions(api22: Api) -> None:
    """v0.22.1: without a session only the prologue streams (and a session is made); the
    question is only read with a session; answers stream cumulatively and the last one is the
    decorated answer (citations, reference, prompt)."""
    dataset_id = api22.dataset("old-kb")
    api22.ingest(dataset_id, CORPUS)
    chat_id = api22.ok(
        "POST",
        "/chats",
        json={"name": "old-chat", "dataset_ids": [dataset_id], "prompt": {"opener": "Old hello"}},
    )["id"]
    prologue = sse_payloads(api22, f"/chats/{chat_id}/completions", {"question": "x"})
    assert prologue == [
        {
            "code": 0,
            "message": "",
            "data": {
                "answer": "Old hello",
                "reference": {},
                "audio_binary": None,
                "id": None,
                "session_id": prologue[0]["data"]["session_id"],
            },
        },
        {"code": 0, "message": "", "data": True},
    ]
    session_id = prologue[0]["data"]["session_id"]
    events = sse_payloads(
        api22,
        f"/chats/{chat_id}/completions",
        {"question": "How do bees make honey?", "session_id": session_id},
    )
    assert events[-1] == {"code": 0, "data": True}
    assert all("message" not in e for e in events)
    answers = [e["data"] for e in events[:-1]]
    streamed = [a["answer"] for a in answers[:-1]]
    assert all(b.startswith(a) for a, b in itertools.pairwise(streamed))
    assert all(a["reference"] == {"chunks": []} and "prompt" not in a for a in answers[:-1])
    final = answers[-1]
    assert (
        "[ID:0]" in final["answer"] and re.sub(r" \[ID:\d+\]", "", final["answer"]) == streamed[-1]
    )
    assert final["reference"]["chunks"][0]["document_name"] == "bees.txt"
    assert "row_id" not in final["reference"]["chunks"][0] and final["prompt"]
    listed = api22.ok("GET", f"/chats/{chat_id}/sessions", params={"id": session_id})[0]
    assert [m["role"] for m in listed["messages"]] == ["assistant", "user", "assistant"]
    # a session made by a session-less call has no reference slot for its prologue, so
    # v0.22.1's list pairs the first answer's reference with the prologue
    assert listed["messages"][0]["reference"][0]["document_name"] == "bees.txt"
    assert "reference" not in listed["messages"][2]
    empty = api22.ok(
        "POST", f"/chats/{chat_id}/completions", json={"stream": False, "question": "x"}
    )
    assert empty["answer"].startswith("Sorry!")  # the question is ignored without a session
    stateless = api22.json(
        "POST", f"/chats/{chat_id}/completions", json={"messages": ask("x"), "stream": False}
    )
    assert stateless == {
        "code": 100,
        "message": "TypeError(\"chat() got multiple values for argument 'messages'\")",
        "data": None,
    }
    assert api22.json(
        "POST", f"/chats/{chat_id}/completions", json={"question": "x", "session_id": "0" * 32}
    ) == {"code": 102, "message": f"You don't own the session {'0' * 32}"}
    assert api22.json("POST", "/chat/completions", json={}) == {
        "code": 100,
        "message": "<NotFound '404: Not Found'>",
        "data": None,
    }


# ---------------------------------------------------------------- OpenAI-compatible
def test_openai_non_stream(api: Api, kb: dict[str, str]) -> None:
    response = api.call(
        "POST",
        f"/openai/{kb['chat']}/chat/completions",
        json={
            "model": "model",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "How do bees make honey?"}]},
            ],
            "extra_body": {"reference": True},
        },
    )
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"] == f"chatcmpl-{kb['chat']}"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and "honey" in choice["message"]["content"]
    assert choice["message"]["reference"][0]["document_name"] == "bees.txt"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    plain = api.call(
        "POST",
        f"/chats_openai/{kb['chat']}/chat/completions",
        json={"model": "model", "messages": ask("bees")},
    ).json()
    assert "reference" not in plain["choices"][0]["message"]


def test_openai_stream(api: Api, kb: dict[str, str]) -> None:
    events = sse_payloads(
        api,
        f"/openai/{kb['chat']}/chat/completions",
        {
            "model": "model",
            "messages": ask("Eiffel Tower"),
            "stream": True,
            "extra_body": {"reference": True},
        },
    )
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks)
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["choices"][0]["delta"]["content"] is None
    assert final["choices"][0]["delta"]["final_content"] == text
    assert final["choices"][0]["delta"]["reference"][0]["document_name"] == "france.txt"
    assert final["usage"]["completion_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])


def test_openai_metadata_condition_and_errors(api: Api, kb: dict[str, str]) -> None:
    condition = {"conditions": [{"name": "none", "comparison_operator": "=", "value": 1}]}
    body = api.call(
        "POST",
        f"/openai/{kb['chat']}/chat/completions",
        json={
            "model": "model",
            "messages": ask("How do bees make honey?"),
            "extra_body": {"reference": True, "metadata_condition": condition},
        },
    ).json()
    assert body["choices"][0]["message"]["reference"] == []
    assert body["choices"][0]["message"]["content"] == "I found nothing."
    missing = api.json("POST", f"/openai/{kb['chat']}/chat/completions", json={})
    assert missing == {
        "code": 101,
        "message": "required argument are missing: model,messages; ",
        "data": None,
    }
    bad_model = api.json(
        "POST",
        f"/openai/{kb['chat']}/chat/completions",
        json={"model": "gpt-x", "messages": ask("x")},
    )
    assert bad_model["code"] == 101 and "gpt-x" in bad_model["message"]
    unknown = api.json(
        "POST",
        "/openai/" + "0" * 32 + "/chat/completions",
        json={"model": "model", "messages": ask("x")},
    )
    assert unknown["code"] == 102


def test_openai_on_old_server_streams_by_default(api22: Api) -> None:
    chat_id = api22.ok("POST", "/chats", json={"name": "old-openai"})["id"]
    events = sse_payloads(
        api22,
        f"/chats_openai/{chat_id}/chat/completions",
        {"model": "anything", "messages": ask("hello")},
    )
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"


# ---------------------------------------------------------------- related questions
def test_related_questions(api: Api, kb: dict[str, str]) -> None:
    first = api.json("POST", "/chat/recommendation", json={"question": "honey bees"})
    assert first["code"] == 0 and first["message"] == "success"
    phrases = first["data"]
    assert 1 <= len(phrases) <= 5 and all(isinstance(p, str) and p for p in phrases)
    assert any("nectar" in p or "colonies" in p or "flowers" in p for p in phrases), phrases
    assert api.ok("POST", "/sessions/related_questions", json={"question": "honey bees"}) == (
        phrases
    )
    assert api.json("POST", "/chat/recommendation", json={})["code"] == 101
