"""Agents (§3.12): CRUD, sessions and the retrieve-then-answer run."""

from __future__ import annotations

import json
from typing import Any

from .conftest import CORPUS, Api


def events_of(api: Api, path: str, body: dict[str, Any]) -> list[Any]:
    response = api.call("POST", path, json=body, stream=True)
    out: list[Any] = []
    for line in response.iter_lines(decode_unicode=True):
        if line:
            text = line.removeprefix("data:").strip()
            out.append(text if text == "[DONE]" else json.loads(text))
    return out


def make_agent(api: Api, title: str) -> tuple[str, str]:
    dataset_id = api.dataset(f"{title}-kb")
    api.ingest(dataset_id, CORPUS)
    agent = api.ok(
        "POST",
        "/agents",
        json={
            "title": title,
            "description": "retrieval agent",
            "dsl": {"dataset_ids": [dataset_id], "prologue": "Agent here.", "top_n": 2},
        },
    )
    return agent["id"], dataset_id


def test_agent_crud(fresh: Api) -> None:
    agent_id, _ = make_agent(fresh, "crud-agent")
    listed = fresh.ok("GET", "/agents")
    assert listed["total"] == 1 and listed["canvas"][0]["id"] == agent_id
    assert listed["canvas"][0]["type"] == "agent"
    got = fresh.ok("GET", f"/agents/{agent_id}")
    assert got["title"] == "crud-agent" and got["dsl"]["prologue"] == "Agent here."
    updated = fresh.ok("PUT", f"/agents/{agent_id}", json={"title": "renamed"})
    assert isinstance(updated["update_time"], int)
    assert fresh.ok("GET", f"/agents/{agent_id}")["title"] == "renamed"
    assert fresh.json("POST", "/agents", json={"title": "renamed", "dsl": {}})["code"] == 102
    assert fresh.json("POST", "/agents", json={"title": "no-dsl"})["code"] == 101
    assert fresh.json("GET", "/agents", params={"page_size": 101})["code"] == 100
    assert fresh.ok("DELETE", f"/agents/{agent_id}") is True
    assert fresh.ok("GET", "/agents") == {"canvas": [], "total": 0}
    assert fresh.json("GET", f"/agents/{agent_id}")["code"] == 102


def test_agent_list_ignores_id_and_title_but_honours_keywords(fresh: Api) -> None:
    """v0.27 reads no ``id``/``title`` on GET /agents (§3.12): they list every agent."""
    first = fresh.ok("POST", "/agents", json={"title": "Alpha finder", "dsl": {}})["id"]
    fresh.ok("POST", "/agents", json={"title": "beta", "dsl": {}})
    for params in ({"id": first}, {"title": "beta"}, {"id": "nope"}):
        assert fresh.ok("GET", "/agents", params=params)["total"] == 2
    found = fresh.ok("GET", "/agents", params={"keywords": "ALPHA"})
    assert [a["id"] for a in found["canvas"]] == [first] and found["total"] == 1


def test_old_agent_list_filters_by_id_and_title(fresh22: Api) -> None:
    first = fresh22.ok("POST", "/agents", json={"title": "alpha", "dsl": {}})["id"]
    fresh22.ok("POST", "/agents", json={"title": "beta", "dsl": {}})
    assert [a["id"] for a in fresh22.ok("GET", "/agents", params={"id": first})] == [first]
    assert [a["title"] for a in fresh22.ok("GET", "/agents", params={"title": "beta"})] == ["beta"]
    assert fresh22.json("GET", "/agents", params={"title": "gamma"})["code"] == 102


def test_agent_sessions(api: Api) -> None:
    agent_id = api.ok("POST", "/agents", json={"title": "session-agent", "dsl": {}})["id"]
    base = f"/agents/{agent_id}/sessions"
    session = api.json("POST", base, json={"user_id": "u7"})
    assert "message" not in session and session["data"]["agent_id"] == agent_id
    assert session["data"]["message"][0]["role"] == "assistant"
    api.ok("POST", base)
    listed = api.json("GET", base, params={"dsl": "false"})
    assert listed["total"] == 2 and all("dsl" not in s for s in listed["data"])
    one = api.ok("GET", f"{base}/{session['data']['id']}")
    assert one["user_id"] == "u7"
    assert api.json("DELETE", base, json={"ids": [session["data"]["id"]]}) == {"code": 0}
    assert api.json("DELETE", base, json={"delete_all": True}) == {"code": 0}
    assert api.json("GET", base)["total"] == 0


def test_agent_run_stream(api: Api) -> None:
    agent_id, _ = make_agent(api, "stream-agent")
    events = events_of(
        api,
        "/agents/chat/completions",
        {"agent_id": agent_id, "query": "How do bees make honey?", "stream": True},
    )
    assert events[-1] == "[DONE]"
    kinds = [e["event"] for e in events[:-1]]
    assert kinds[0] == "workflow_started" and kinds[-2:] == ["message_end", "workflow_finished"]
    text = "".join(e["data"]["content"] for e in events[:-1] if e["event"] == "message")
    assert "honey" in text and kinds.count("message") >= 2
    end = events[-3]
    assert end["data"]["reference"]["chunks"]["0"]["document_name"] == "bees.txt"
    assert "bees.txt" in end["data"]["reference"]["doc_aggs"]
    assert events[-2]["data"]["outputs"]["content"] == text
    session_id = end["session_id"]
    session = api.ok("GET", f"/agents/{agent_id}/sessions/{session_id}")
    assert [m["role"] for m in session["message"]] == ["assistant", "user", "assistant"]
    assert session["message"][0]["content"] == "Agent here."


def test_agent_run_non_stream_and_alias(api: Api) -> None:
    agent_id, _ = make_agent(api, "plain-agent")
    first = api.json(
        "POST",
        "/agents/chat/completions",
        json={"agent_id": agent_id, "question": "Who created Python?"},
    )
    assert first["code"] == 0 and first["data"]["event"] == "workflow_finished"
    assert "Guido" in first["data"]["data"]["content"]
    session_id = first["data"]["session_id"]
    second = api.ok(
        "POST",
        f"/agents/{agent_id}/completions",
        json={"question": "Eiffel Tower", "session_id": session_id},
    )
    assert second["event"] == "message_end" and "1889" in second["data"]["content"]
    assert api.json("POST", "/agents/chat/completions", json={"query": "x"}) == {
        "code": 101,
        "message": "`agent_id` is required.",
    }
    assert (
        api.json(
            "POST",
            "/agents/chat/completions",
            json={"agent_id": agent_id, "query": "x", "session_id": "0" * 32},
        )["code"]
        == 102
    )
    empty = api.ok("POST", "/agents/chat/completions", json={"agent_id": agent_id, "query": ""})
    assert set(empty) == {"session_id"}


def test_agent_openai_compatible_mode(api: Api) -> None:
    agent_id, _ = make_agent(api, "openai-agent")
    body = {
        "agent_id": agent_id,
        "openai-compatible": True,
        "messages": [{"role": "user", "content": "volcano in Sicily"}],
    }
    plain = api.call("POST", "/agents/chat/completions", json=body).json()
    assert plain["object"] == "chat.completion"
    assert "Etna" in plain["choices"][0]["message"]["content"]
    response = api.call(
        "POST", "/agents/chat/completions", json={**body, "stream": True}, stream=True
    )
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)
    last = json.loads(lines[-2][6:])
    assert "reference" in last["choices"][0]["delta"]


def test_old_server_agents(api22: Api) -> None:
    agent_id, _ = make_agent(api22, "old-agent")
    listed = api22.ok("GET", "/agents")
    assert isinstance(listed, list) and listed[0]["id"] == agent_id
    events = events_of(
        api22, f"/agents/{agent_id}/completions", {"question": "bees", "stream": True}
    )
    assert events[-1] == "[DONE]" and events[-2]["event"] == "workflow_finished"
    assert api22.json("GET", f"/agents/{agent_id}")["code"] == 100


def test_canvas_dsl_with_kb_ids(api: Api) -> None:
    dataset_id = api.dataset("canvas-kb")
    api.ingest(dataset_id, CORPUS)
    dsl = {
        "components": {
            "Retrieval:0": {
                "obj": {"component_name": "Retrieval", "params": {"kb_ids": [dataset_id]}}
            }
        }
    }
    agent_id = api.ok("POST", "/agents", json={"title": "canvas-agent", "dsl": dsl})["id"]
    answer = api.ok(
        "POST",
        "/agents/chat/completions",
        json={"agent_id": agent_id, "query": "Which volcano is in Sicily?"},
    )
    assert "Etna" in answer["data"]["content"]
