"""Agents (§3.12): CRUD, versions, sessions and canvas runs, in both emulated versions."""

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


def canvas(dataset_id: str | None = None, prologue: str = "Agent here.") -> dict[str, Any]:
    """Begin -> Retrieval -> LLM -> Message, or Begin -> Message echoing the query."""
    components: dict[str, Any] = {
        "begin": {
            "obj": {"component_name": "Begin", "params": {"prologue": prologue}},
            "downstream": ["Retrieval:0" if dataset_id else "Message:0"],
            "upstream": [],
        },
        "Message:0": {
            "obj": {
                "component_name": "Message",
                "params": {"content": ["{LLM:0@content}" if dataset_id else "echo {sys.query}"]},
            },
            "downstream": [],
            "upstream": [],
        },
    }
    if dataset_id:
        components["Retrieval:0"] = {
            "obj": {"component_name": "Retrieval", "params": {"kb_ids": [dataset_id], "top_n": 2}},
            "downstream": ["LLM:0"],
            "upstream": ["begin"],
        }
        components["LLM:0"] = {
            "obj": {"component_name": "LLM", "params": {}},
            "downstream": ["Message:0"],
            "upstream": ["Retrieval:0"],
        }
    return {"components": components, "history": [], "retrieval": [], "path": [], "globals": {}}


def make_agent(api: Api, title: str) -> tuple[str, str]:
    dataset_id = api.dataset(f"{title}-kb")
    api.ingest(dataset_id, CORPUS)
    agent = api.ok(
        "POST",
        "/agents",
        json={"title": title, "description": "retrieval agent", "dsl": canvas(dataset_id)},
    )
    return agent["id"], dataset_id


def test_agent_crud_and_versions(fresh: Api) -> None:
    agent_id, dataset_id = make_agent(fresh, "crud-agent")
    listed = fresh.ok("GET", "/agents")
    assert listed["total"] == 1 and listed["canvas"][0]["id"] == agent_id
    assert listed["canvas"][0]["type"] == "agent" and "dsl" not in listed["canvas"][0]
    got = fresh.ok("GET", f"/agents/{agent_id}")
    assert got["title"] == "crud-agent" and got["dsl"] == canvas(dataset_id)
    assert got["last_publish_time"] is None and got["nickname"] == "local"
    updated = fresh.ok("PUT", f"/agents/{agent_id}", json={"title": "renamed"})
    assert isinstance(updated["update_time"], int)
    assert fresh.ok("GET", f"/agents/{agent_id}")["title"] == "renamed"
    assert fresh.json("POST", "/agents", json={"title": "RENAMED", "dsl": {}}) == {
        "code": 102,
        "message": "RENAMED already exists.",
    }
    assert fresh.json("POST", "/agents", json={"title": "no-dsl"}) == {
        "code": 101,
        "message": "No DSL data in request.",
        "data": False,
    }
    assert fresh.json("POST", "/agents", json={"dsl": {}})["message"] == "No title in request."
    assert fresh.json("GET", "/agents", params={"page_size": 101})["code"] == 100
    # a new DSL is a new version; the same DSL again only refreshes the latest one
    fresh.ok("PUT", f"/agents/{agent_id}", json={"dsl": canvas(None)})
    fresh.ok("PUT", f"/agents/{agent_id}", json={"dsl": canvas(None)})
    versions = fresh.ok("GET", f"/agents/{agent_id}/versions")
    assert len(versions) == 2 and "dsl" not in versions[0]
    latest = fresh.ok("GET", f"/agents/{agent_id}/versions/{versions[0]['id']}")
    assert latest["dsl"] == canvas(None) and latest["user_canvas_id"] == agent_id
    assert fresh.json("GET", f"/agents/{agent_id}/versions/{'0' * 32}") == {
        "code": 102,
        "message": "Version not found.",
    }
    assert fresh.ok("DELETE", f"/agents/{agent_id}") is True
    assert fresh.ok("GET", "/agents") == {"canvas": [], "total": 0}
    assert fresh.json("GET", f"/agents/{agent_id}") == {"code": 102, "message": "canvas not found."}
    denied = fresh.json("DELETE", f"/agents/{agent_id}")
    assert denied["code"] == 103 and denied["data"] is False


def test_agent_list_ignores_id_and_title_but_honours_keywords(fresh: Api) -> None:
    """v0.27 reads no ``id``/``title`` on GET /agents (§3.12): they list every agent."""
    first = fresh.ok("POST", "/agents", json={"title": "Alpha finder", "dsl": {}})["id"]
    fresh.ok("POST", "/agents", json={"title": "beta", "dsl": {}})
    for params in ({"id": first}, {"title": "beta"}, {"id": "nope"}):
        assert fresh.ok("GET", "/agents", params=params)["total"] == 2
    found = fresh.ok("GET", "/agents", params={"keywords": "ALPHA"})
    assert [a["id"] for a in found["canvas"]] == [first] and found["total"] == 1


def test_unknown_agent_is_code_103(api: Api) -> None:
    unknown = "0" * 32
    for method, path, body in (
        ("GET", f"/agents/{unknown}/sessions", None),
        ("POST", f"/agents/{unknown}/sessions", {}),
        ("POST", f"/agents/{unknown}/completions", {"question": "hi"}),
        ("POST", "/agents/chat/completions", {"agent_id": unknown, "query": "hi"}),
        ("GET", f"/agents/{unknown}/versions", None),
        ("PUT", f"/agents/{unknown}", {"title": "x"}),
    ):
        assert api.json(method, path, json=body) == {
            "code": 103,
            "message": "Make sure you have permission to access the agent.",
            "data": False,
        }, path


def test_a_dsl_that_is_no_canvas_cannot_run(api: Api) -> None:
    """RAGFlow stores any JSON object as DSL but its canvas needs ``components``."""
    agent_id = api.ok("POST", "/agents", json={"title": "not-a-canvas", "dsl": {"x": 1}})["id"]
    failure = {"code": 100, "message": "KeyError('components')", "data": None}
    assert api.json("POST", f"/agents/{agent_id}/sessions", json={}) == failure
    body = {"agent_id": agent_id, "query": "hi"}
    assert api.json("POST", "/agents/chat/completions", json=body) == failure


def test_agent_sessions(api: Api) -> None:
    agent_id = api.ok("POST", "/agents", json={"title": "session-agent", "dsl": canvas()})["id"]
    base = f"/agents/{agent_id}/sessions"
    session = api.json("POST", base, json={"user_id": "u7", "name": "mine"})
    data = session["data"]
    assert "message" not in session and data["agent_id"] == agent_id and data["name"] == "mine"
    assert data["message"] == [{"role": "assistant", "content": "Agent here."}]
    assert data["user_id"] == data["exp_user_id"] == "u7" and data["source"] == "agent"
    assert data["dsl"]["path"] == [] and "reference" not in data
    api.ok("POST", base)
    listed = api.json("GET", base, params={"dsl": "false"})
    assert listed["total"] == 2 and all("dsl" not in s for s in listed["data"])
    one = api.ok("GET", f"{base}/{data['id']}")
    assert one["user_id"] == "u7" and one["dialog_id"] == agent_id and one["reference"] == []
    assert api.json("GET", f"{base}/{'0' * 32}") == {"code": 102, "message": "Session not found!"}
    assert api.json("DELETE", base, json={"ids": [data["id"]]}) == {"code": 0}
    assert api.json("DELETE", base, json={"delete_all": True}) == {"code": 0}
    assert api.json("GET", base)["total"] == 0


def test_agent_run_stream_records_a_workflow_session(api: Api) -> None:
    agent_id, _ = make_agent(api, "stream-agent")
    events = events_of(
        api,
        "/agents/chat/completions",
        {"agent_id": agent_id, "query": "How do bees make honey?", "stream": True},
    )
    assert events[-1] == "[DONE]"
    kinds = [e["event"] for e in events[:-1]]
    assert kinds[0] == "workflow_started" and kinds[-1] == "workflow_finished"
    assert kinds.count("message") > 1 and kinds.count("node_finished") == 4  # streamed in pieces
    text = "".join(e["data"]["content"] for e in events[:-1] if e["event"] == "message")
    assert "honey" in text and "[ID:0]" in text
    end = next(e for e in events[:-1] if e["event"] == "message_end")
    assert end["data"]["reference"]["chunks"]["0"]["document_name"] == "bees.txt"
    assert "bees.txt" in end["data"]["reference"]["doc_aggs"]
    assert events[-2]["data"]["outputs"]["content"] == text
    session = api.ok("GET", f"/agents/{agent_id}/sessions/{end['session_id']}")
    assert session["source"] == "workflow"
    assert [m["role"] for m in session["message"]] == ["user", "assistant"]
    assert session["message"][1]["content"] == text


def test_agent_run_in_a_session(api: Api) -> None:
    agent_id, _ = make_agent(api, "plain-agent")
    session_id = api.ok("POST", f"/agents/{agent_id}/sessions", json={})["id"]
    answer = api.ok(
        "POST",
        f"/agents/{agent_id}/completions",
        json={"question": "Who created Python?", "session_id": session_id},
    )
    assert answer["event"] == "message_end" and "Guido" in answer["data"]["content"]
    assert answer["session_id"] == session_id and "usage" in answer["data"]
    events = events_of(
        api,
        "/agents/chat/completions",
        {"agent_id": agent_id, "query": "Eiffel Tower", "session_id": session_id, "stream": True},
    )
    kinds = [e["event"] for e in events[:-1]]
    assert "workflow_started" not in kinds and kinds[-1] == "workflow_finished"
    assert set(events[-2]["data"]) == {"usage"}
    listed = api.json("GET", f"/agents/{agent_id}/sessions", params={"id": session_id})
    messages = listed["data"][0]["message"]
    assert [m["role"] for m in messages] == ["assistant", "user", "assistant", "user", "assistant"]
    assert messages[2]["reference"][0]["document_name"] == "python.md"
    assert messages[2]["reference"][0]["citation_id"] == "0"
    assert api.json("POST", "/agents/chat/completions", json={"query": "x"}) == {
        "code": 101,
        "message": "`agent_id` is required.",
        "data": False,
    }
    unknown = {"agent_id": agent_id, "query": "x", "session_id": "0" * 32}
    assert api.json("POST", "/agents/chat/completions", json=unknown) == {
        "code": 102,
        "message": "Session not found!",
    }


def test_message_component_renders_the_query(api: Api) -> None:
    agent_id = api.ok("POST", "/agents", json={"title": "echo-agent", "dsl": canvas()})["id"]
    answer = api.ok("POST", "/agents/chat/completions", json={"agent_id": agent_id, "query": "hi"})
    assert answer["event"] == "workflow_finished" and answer["data"]["content"] == "echo hi"


def test_agent_openai_compatible_mode(api: Api) -> None:
    agent_id, _ = make_agent(api, "openai-agent")
    body = {
        "agent_id": agent_id,
        "openai-compatible": True,
        "messages": [{"role": "user", "content": "volcano in Sicily"}],
    }
    plain = api.call("POST", "/agents/chat/completions", json=body).json()
    assert plain["object"] == "chat.completion" and plain["model"] == agent_id
    assert "Etna" in plain["choices"][0]["message"]["content"]
    response = api.call(
        "POST", "/agents/chat/completions", json={**body, "stream": True}, stream=True
    )
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)
    last = json.loads(lines[-2][6:])
    assert "reference" in last["choices"][0]["delta"]
    alias = api.call("POST", f"/agents_openai/{agent_id}/chat/completions", json=body).json()
    assert "Etna" in alias["choices"][0]["message"]["content"]
    assert api.json("POST", "/agents/chat/completions", json={**body, "messages": []}) == {
        "code": 102,
        "message": "You must provide at least one message.",
    }


def test_old_server_agents(fresh22: Api) -> None:
    api = fresh22
    dataset_id = api.dataset("old-agent-kb")
    api.ingest(dataset_id, CORPUS)
    assert api.json("POST", "/agents", json={"title": "old-agent", "dsl": canvas(dataset_id)}) == {
        "code": 0,
        "message": "success",
        "data": True,
    }
    assert api.json("POST", "/agents", json={"title": "OLD-AGENT", "dsl": {}}) == {
        "code": 102,
        "message": "Agent with title OLD-AGENT already exists.",
    }
    listed = api.ok("GET", "/agents")
    assert isinstance(listed, list) and listed[0]["title"] == "old-agent"
    agent_id = listed[0]["id"]
    assert listed[0]["dsl"] == canvas(dataset_id)
    assert api.json("GET", "/agents", params={"title": "nobody"}) == {
        "code": 102,
        "message": "The agent doesn't exist.",
    }
    events = events_of(api, f"/agents/{agent_id}/completions", {"question": "bees"})
    assert events[-1] == "[DONE]"
    kinds = [e["event"] for e in events[:-1]]
    assert set(kinds[:-1]) == {"message"} and kinds[-1] == "message_end"
    plain = api.ok(
        "POST", f"/agents/{agent_id}/completions", json={"question": "bees", "stream": False}
    )
    assert plain["event"] == "workflow_finished" and "honey" in plain["data"]["content"]
    session = api.ok("POST", f"/agents/{agent_id}/sessions")
    assert set(session) == {"id", "agent_id", "user_id", "message", "source", "dsl"}
    sessions = api.ok("GET", f"/agents/{agent_id}/sessions")
    assert all("messages" in s and "message" not in s for s in sessions)
    assert api.json("GET", f"/agents/{agent_id}")["message"] == (
        "<MethodNotAllowed '405: Method Not Allowed'>"
    )
    unknown = "0" * 32
    assert api.json("POST", f"/agents/{unknown}/completions", json={"stream": False}) == {
        "code": 100,
        "message": "AssertionError('Agent not found.')",
        "data": None,
    }
    assert api.json("GET", f"/agents/{unknown}/sessions") == {
        "code": 102,
        "message": f"You don't own the agent {unknown}.",
    }
    assert api.json("PUT", f"/agents/{agent_id}", json={"description": "d"})["data"] is True
    assert api.json("DELETE", f"/agents/{agent_id}") == {
        "code": 0,
        "message": "success",
        "data": True,
    }


def test_the_documented_canvas_runs(api: Api) -> None:
    """The agent DSL in docs/local-server.md works as written (dataset id filled in)."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "local-server.md"
    (block,) = re.findall(r"^```json\n(.*?)^```", doc.read_text(encoding="utf-8"), re.S | re.M)
    dataset_id = api.dataset("documented-canvas")
    api.ingest(dataset_id, CORPUS)
    dsl = json.loads(block.replace("<dataset id>", dataset_id))
    agent_id = api.ok("POST", "/agents", json={"title": "documented", "dsl": dsl})["id"]
    session = api.ok("POST", f"/agents/{agent_id}/sessions", json={})
    assert session["message"][0]["content"] == "Hi!"
    answer = api.ok(
        "POST",
        "/agents/chat/completions",
        json={"agent_id": agent_id, "query": "Which volcano is in Sicily?"},
    )
    assert "Etna" in answer["data"]["content"]
