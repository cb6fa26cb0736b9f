"""Memories and messages (RAGFlow v0.24+, v0.27.0's memory_api.py): 0.27 mode only."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import requests

from ragflow_integrations.testing import LocalRAGFlowServer

from .conftest import Api

MODELS = {"embd_id": "BAAI/bge-small-en-v1.5@Builtin", "llm_id": "glm-4-flash@ZHIPU-AI"}


def memory(api: Api, name: str = "mem", types: list[str] | None = None) -> dict[str, Any]:
    body = {"name": name, "memory_type": types or ["raw"], **MODELS}
    data: dict[str, Any] = api.ok("POST", "/memories", json=body)
    return data


def turn(api: Api, memory_ids: Any, user: str, agent: str, **ids: str) -> dict[str, Any]:
    body = {
        "memory_id": memory_ids,
        "agent_id": ids.get("agent_id", "agent-1"),
        "session_id": ids.get("session_id", "session-1"),
        "user_input": user,
        "agent_response": agent,
    }
    if "user_id" in ids:
        body["user_id"] = ids["user_id"]
    answer: dict[str, Any] = api.json("POST", "/messages", json=body)
    return answer


def recent(api: Api, memory_id: str, **params: Any) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = api.ok(
        "GET", "/messages", params={"memory_id": memory_id, **params}
    )
    return data


def test_create_shape_defaults_and_duplicate_names(fresh: Api) -> None:
    created = fresh.json(
        "POST", "/memories", json={"name": " notes ", "memory_type": ["raw"], **MODELS}
    )
    assert created["code"] == 0 and created["message"] is True
    data = created["data"]
    assert data["name"] == "notes" and data["memory_type"] == ["raw"]
    assert data["owner_name"] is None and data["avatar"] is None and data["user_prompt"] is None
    assert data["storage_type"] == "table" and data["permissions"] == "me"
    assert data["memory_size"] == 5 * 1024 * 1024 and data["forgetting_policy"] == "FIFO"
    assert data["temperature"] == 0.5 and data["embd_id"] == MODELS["embd_id"]
    assert isinstance(data["system_prompt"], str) and data["system_prompt"]
    assert {"create_time", "create_date", "update_time", "update_date"} <= set(data)
    assert memory(fresh, "notes")["name"] == "notes(1)"
    assert memory(fresh, "notes")["name"] == "notes(2)"
    assert memory(fresh, "a.b")["name"] == "a.b"
    assert memory(fresh, "a.b")["name"] == "a(1).b"
    both = memory(fresh, "typed", ["episodic", "raw", "semantic", "raw"])
    assert both["memory_type"] == ["raw", "semantic", "episodic"]


def test_create_validation(api: Api) -> None:
    def create(**body: Any) -> Any:
        return api.json("POST", "/memories", json=body)

    assert create(name="x", memory_type=["raw"]) == {
        "code": 101,
        "message": "required argument are missing: embd_id,llm_id; ",
        "data": None,
    }
    bad_body = api.json(
        "POST", "/memories", data="{oops", headers={"content-type": "application/json"}
    )
    assert bad_body["code"] == 101 and "name,memory_type,embd_id,llm_id" in bad_body["message"]
    for name in ("", "   "):
        assert create(name=name, memory_type=["raw"], **MODELS) == {
            "code": 101,
            "message": "Memory name cannot be empty or whitespace.",
        }
    long = "a" * 129
    assert create(name=long, memory_type=["raw"], **MODELS)["message"] == (
        f"Memory name '{long}' exceeds limit of 128."
    )
    assert memory(api, "e" * 128)["name"] == "e" * 128
    assert create(name="x", memory_type="raw", **MODELS) == {
        "code": 101,
        "message": "Memory type must be a list.",
    }
    assert create(name="x", memory_type=["something"], **MODELS)["message"] == (
        "Memory type '{'something'}' is not supported."
    )
    assert create(name=5, memory_type=["raw"], **MODELS) == {
        "code": 500,
        "message": "Internal server error",
        "data": None,
    }


def test_list_filters_paging_and_limits(fresh: Api) -> None:
    first = memory(fresh, "alpha", ["raw", "semantic"])
    memory(fresh, "beta", ["raw"])
    third = memory(fresh, "gamma", ["raw", "procedural"])
    listed = fresh.json("GET", "/memories")
    assert listed["code"] == 0 and listed["message"] is True
    data = listed["data"]
    assert data["total_count"] == 3
    assert [m["name"] for m in data["memory_list"]] == ["gamma", "beta", "alpha"]
    item = data["memory_list"][0]
    assert item["owner_name"] == "local" and item["embd_name"] == ""
    assert "memory_size" not in item and "system_prompt" not in item
    page = fresh.ok("GET", "/memories", params={"page": 2, "page_size": 2})
    assert [m["name"] for m in page["memory_list"]] == ["alpha"] and page["total_count"] == 3
    assert fresh.ok("GET", "/memories", params={"page": 5})["memory_list"] == []
    by_type = fresh.ok("GET", "/memories", params={"memory_type": "semantic,procedural"})
    assert {m["id"] for m in by_type["memory_list"]} == {first["id"], third["id"]}
    assert fresh.ok("GET", "/memories", params={"keywords": "ET"})["total_count"] == 1
    assert fresh.ok("GET", "/memories", params={"ids": first["id"]})["total_count"] == 1
    assert fresh.ok("GET", "/memories", params={"tenant_id": "someone"})["total_count"] == 0
    assert fresh.ok("GET", "/memories", params={"storage_type": "graph"})["total_count"] == 0
    too_big = fresh.json("GET", "/memories", params={"page_size": 101})
    assert too_big == {
        "code": 100,
        "message": "ValueError('page_size must be less than or equal to 100')",
        "data": None,
    }
    many = ",".join(uuid.uuid4().hex for _ in range(101))
    assert fresh.json("GET", "/memories", params={"ids": many}) == {
        "code": 101,
        "message": "ids must contain at most 100 IDs",
    }


def test_config_update_and_delete(api: Api) -> None:
    mem = memory(api, "config-me", ["raw", "semantic"])
    config = api.ok("GET", f"/memories/{mem['id']}/config")
    assert config["id"] == mem["id"] and config["owner_name"] == "local"
    assert config["update_time"] is None and config["memory_type"] == ["raw", "semantic"]
    assert api.json("GET", "/memories/missing/config") == {
        "code": 404,
        "message": "Memory 'missing' not found.",
        "data": None,
    }
    unchanged = api.ok("PUT", f"/memories/{mem['id']}", json={"name": "config-me"})
    assert unchanged["tenant_embd_id"] is None and "owner_name" not in unchanged
    update = {
        "name": "renamed",
        "permissions": "team",
        "description": "notes",
        "memory_size": 1048576,
        "temperature": 0.7,
        "user_prompt": "be brief",
        "memory_type": ["raw", "episodic"],
        "unknown": 1,
    }
    updated = api.ok("PUT", f"/memories/{mem['id']}", json=update)
    assert updated["owner_name"] is None and "unknown" not in updated
    for key in ("name", "permissions", "description", "memory_size", "temperature", "user_prompt"):
        assert updated[key] == update[key], key
    assert updated["memory_type"] == ["raw", "episodic"]
    assert updated["system_prompt"] != mem["system_prompt"]  # the default prompt follows the types
    assert memory(api, "renamed")["name"] == "renamed(1)"
    errors = {
        "Memory name cannot be empty or whitespace.": {"name": " "},
        "Unknown permission 'all'.": {"permissions": "all"},
        "Memory size should be in range (0, 10485760] Bytes.": {"memory_size": 10485761},
        "Forgetting policy 'LRU' is not supported.": {"forgetting_policy": "LRU"},
        "Temperature should be in range [0, 1].": {"temperature": 1.5},
        "Memory type '{'graph'}' is not supported.": {"memory_type": ["graph"]},
    }
    for message, body in errors.items():
        assert api.json("PUT", f"/memories/{mem['id']}", json=body) == {
            "code": 101,
            "message": message,
        }
    assert api.json("PUT", f"/memories/{mem['id']}", json={"temperature": "hot"})["code"] == 500
    assert api.json("PUT", "/memories/missing", json={"name": " "})["code"] == 404
    turn(api, [mem["id"]], "hello", "hi there")
    blocked = api.json("PUT", f"/memories/{mem['id']}", json={"embd_id": "other@x"})
    assert blocked == {"code": 101, "message": "Can't update ['embd_id'] when memory isn't empty."}
    assert api.json("DELETE", f"/memories/{mem['id']}") == {
        "code": 0,
        "message": True,
        "data": None,
    }
    assert api.json("DELETE", f"/memories/{mem['id']}")["code"] == 404
    assert recent(api, mem["id"]) == []


def test_add_recent_content_forget_and_status(api: Api) -> None:
    mem = memory(api, "chat-log")
    assert turn(api, [mem["id"]], "what is coriander?", "A herb.") == {
        "code": 0,
        "message": "All add to task.",
        "data": None,
    }
    turn(api, mem["id"], "and cumin?", "A spice.", session_id="session-10", user_id="u7")
    turn(api, [mem["id"]], "bye", "Goodbye.", agent_id="agent-2", session_id="other")
    messages = recent(api, mem["id"])
    assert [m["content"] for m in messages] == [
        "User Input: bye\nAgent Response: Goodbye.",
        "User Input: and cumin?\nAgent Response: A spice.",
        "User Input: what is coriander?\nAgent Response: A herb.",
    ]
    first = messages[-1]
    assert set(first) == {
        "message_id",
        "message_type",
        "source_id",
        "memory_id",
        "user_id",
        "agent_id",
        "session_id",
        "valid_at",
        "invalid_at",
        "forget_at",
        "status",
        "content",
    }
    assert first["message_type"] == "raw" and first["source_id"] == "None"
    assert first["invalid_at"] == "None" and first["forget_at"] == "None"
    assert first["status"] is True and first["user_id"] == "" and first["memory_id"] == mem["id"]
    assert messages[1]["user_id"] == "u7"
    assert [m["content"][12:15] for m in recent(api, mem["id"], limit=2)] == ["bye", "and"]
    assert len(recent(api, mem["id"], session_id="session-1")) == 2  # a substring filter
    assert len(recent(api, mem["id"], agent_id="agent-2")) == 1
    message_id = first["message_id"]
    content = api.ok("GET", f"/messages/{mem['id']}:{message_id}/content")
    assert content["id"] == f"{mem['id']}_{message_id}" and content["zone_id"] == 0
    assert content["source_id"] is None and content["forget_at"] is None
    assert isinstance(content["content_embed"], list) and len(content["content_embed"]) > 0
    assert api.json("PUT", f"/messages/{mem['id']}:{message_id}", json={"status": "false"}) == {
        "code": 101,
        "message": "Status must be a boolean.",
    }
    assert api.json("PUT", f"/messages/{mem['id']}:{message_id}", json={}) == {
        "code": 101,
        "message": "required argument are missing: status; ",
        "data": None,
    }
    assert api.ok("PUT", f"/messages/{mem['id']}:{message_id}", json={"status": False}) is None
    disabled = api.ok("GET", f"/messages/{mem['id']}:{message_id}/content")
    assert disabled["status"] is False
    assert len(recent(api, mem["id"])) == 3  # recent messages keep disabled ones
    assert api.json("DELETE", f"/messages/{mem['id']}:{message_id}") == {
        "code": 0,
        "message": True,
        "data": None,
    }
    forgotten = api.ok("GET", f"/messages/{mem['id']}:{message_id}/content")
    assert forgotten["forget_at"] not in (None, "", "-")
    assert message_id not in [m["message_id"] for m in recent(api, mem["id"])]
    assert api.json("DELETE", f"/messages/{mem['id']}:999999")["code"] == 0  # as RAGFlow
    assert api.json("DELETE", "/messages/missing_memory:1")["code"] == 404
    assert api.json("PUT", "/messages/missing_memory:1", json={"status": False})["code"] == 404
    assert api.json("DELETE", f"/messages/{mem['id']}:abc")["code"] == 500
    assert api.json("GET", f"/messages/{mem['id']}:999999/content") == {
        "code": 404,
        "message": f"Message '999999' in memory '{mem['id']}' not found.",
        "data": None,
    }


def test_add_and_recent_validation(api: Api) -> None:
    mem = memory(api, "valid")
    assert api.json("POST", "/messages", json={"memory_id": [mem["id"]], "agent_id": "a"}) == {
        "code": 101,
        "message": "required argument are missing: session_id,user_input,agent_response; ",
        "data": None,
    }
    assert turn(api, ["nope"], "q", "a") == {
        "code": 500,
        "message": "Some messages failed to add. Detail:Memory not found.",
        "data": None,
    }
    other = memory(api, "valid-2")
    assert turn(api, f"{mem['id']},nope,{other['id']}", "q", "a")["code"] == 0
    assert len(recent(api, f"{mem['id']},{other['id']}")) == 2
    assert api.json("GET", "/messages") == {"code": 101, "message": "memory_ids is required."}
    assert api.json("GET", "/messages", params={"memory_id": mem["id"], "limit": 101}) == {
        "code": 101,
        "message": "page_size must be less than or equal to 100",
    }
    assert (
        api.json("GET", "/messages", params={"memory_id": mem["id"], "limit": "x"})["code"] == 101
    )
    assert api.ok("GET", "/messages", params={"memory_id": "nope"}) == []


def test_search_matches_words_newest_first(api: Api) -> None:
    mem = memory(api, "searchable")
    turn(api, [mem["id"]], "what is pineapple?", "A tropical fruit.", session_id="s-1")
    turn(api, [mem["id"]], "and mango?", "Another tropical fruit.", user_id="u2")
    turn(api, [mem["id"]], "what is rust?", "A language.", agent_id="agent-9")

    def search(**params: Any) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = api.ok(
            "GET", "/messages/search", params={"memory_id": mem["id"], **params}
        )
        return data

    found = search(query="tropical fruits")
    assert [m["content"].split("\n")[0] for m in found] == [
        "User Input: and mango?",
        "User Input: what is pineapple?",
    ]
    assert "content" in found[0] and found[0]["status"] is True
    assert len(search(query="tropical", top_n=1)) == 1
    assert search(query="tropical", user_id="u2")[0]["user_id"] == "u2"
    assert len(search(query="tropical", session_id="s-")) == 1
    assert search(query="language", agent_id="agent-1") == []
    assert len(search(query="language", agent_id="agent-9")) == 1
    assert search(query="the of") == []
    pineapple = search(query="pineapple")[0]["message_id"]
    api.ok("PUT", f"/messages/{mem['id']}:{pineapple}", json={"status": False})
    assert search(query="pineapple") == []
    api.ok("PUT", f"/messages/{mem['id']}:{pineapple}", json={"status": True})
    api.ok("DELETE", f"/messages/{mem['id']}:{pineapple}")
    assert search(query="pineapple") == []
    assert api.ok("GET", "/messages/search", params={"query": "fruit"}) == []
    assert api.json("GET", "/messages/search", params={"memory_id": mem["id"]}) == {
        "code": 100,
        "message": "AttributeError(\"'NoneType' object has no attribute 'strip'\")",
        "data": None,
    }
    bad_top = api.json("GET", "/messages/search", params={"memory_id": mem["id"], "top_n": "x"})
    assert bad_top == {"code": 101, "message": "invalid literal for int() with base 10: 'x'"}
    bad_float = api.json(
        "GET", "/messages/search", params={"memory_id": mem["id"], "similarity_threshold": "x"}
    )
    assert bad_float["code"] == 100 and "could not convert string to float" in bad_float["message"]


def test_extraction_stand_in_and_message_list(api: Api) -> None:
    mem = memory(api, "extracting", ["raw", "semantic", "episodic", "procedural"])
    raw_only = memory(api, "raw-only")
    answer = (
        "Coriander is a herb with edible leaves and seeds. To grow it, sow the seeds in spring.\n"
        "1. Sow seeds\n2. Water daily"
    )
    turn(api, [mem["id"], raw_only["id"]], "What is coriander?", answer)
    turn(api, [mem["id"]], "thanks", "You are welcome.", agent_id="agent-2", session_id="other")
    listed = api.ok("GET", f"/memories/{mem['id']}")
    assert listed["storage_type"] == "table" and listed["messages"]["total_count"] == 2
    raw = listed["messages"]["message_list"][1]
    assert raw["message_type"] == "raw" and "content" not in raw and raw["agent_name"] == "Unknown"
    kinds = {e["message_type"] for e in raw["extract"]}
    assert kinds == {"semantic", "episodic", "procedural"}
    assert all(e["source_id"] == raw["message_id"] for e in raw["extract"])
    assert raw["task"]["progress"] == 1.0 and raw["task"]["digest"] == str(raw["message_id"])
    contents: dict[str, list[str]] = {e["message_type"]: [] for e in raw["extract"]}
    for e in raw["extract"]:
        text = api.ok("GET", f"/messages/{mem['id']}:{e['message_id']}/content")["content"]
        contents[e["message_type"]].append(text)
    assert "Coriander is a herb with edible leaves and seeds." in contents["semantic"]
    assert contents["episodic"] == [
        "User asked: What is coriander? Agent answered: Coriander is a herb with edible leaves "
        "and seeds."
    ]
    assert "1. Sow seeds" in contents["procedural"] and "2. Water daily" in contents["procedural"]
    assert len(recent(api, mem["id"], limit=100)) > 2  # recent includes extracted messages
    plain = api.ok("GET", f"/memories/{raw_only['id']}")["messages"]["message_list"][0]
    assert plain["extract"] == [] and "don't need to extract" in plain["task"]["progress_msg"]
    by_agent = api.ok("GET", f"/memories/{mem['id']}", params={"agent_id": "agent-2"})
    assert by_agent["messages"]["total_count"] == 1
    by_session = api.ok("GET", f"/memories/{mem['id']}", params={"keywords": "ssion"})
    assert by_session["messages"]["total_count"] == 1
    paged = api.ok("GET", f"/memories/{mem['id']}", params={"page": 2, "page_size": 1})
    assert len(paged["messages"]["message_list"]) == 1 and paged["messages"]["total_count"] == 2
    too_big = api.json("GET", f"/memories/{mem['id']}", params={"page_size": 500})
    assert too_big["code"] == 100
    assert api.json("GET", "/memories/missing")["code"] == 404


def test_fifo_forgetting_keeps_the_memory_under_its_size(api: Api) -> None:
    mem = memory(api, "small")
    one = 24 * 384 + 200  # one short message: its content plus a 384-float embedding
    api.ok("PUT", f"/memories/{mem['id']}", json={"memory_size": 3 * one})
    for i in range(5):
        turn(api, [mem["id"]], f"question {i}", f"answer {i}")
    left = [m["content"] for m in recent(api, mem["id"])]
    assert len(left) == 3 and left[0].startswith("User Input: question 4")
    assert left[-1].startswith("User Input: question 2")


def test_memories_survive_a_restart(tmp_path: Path) -> None:
    with LocalRAGFlowServer(data_dir=tmp_path) as server:
        api = Api(server)
        mem = memory(api, "durable")
        turn(api, [mem["id"]], "remember me", "I will.")
    with LocalRAGFlowServer(data_dir=tmp_path) as server:
        api = Api(server)
        assert api.ok("GET", f"/memories/{mem['id']}/config")["name"] == "durable"
        assert api.ok(
            "GET", "/messages/search", params={"memory_id": mem["id"], "query": "remember"}
        )
        turn(api, [mem["id"]], "again", "Sure.")
        ids = [m["message_id"] for m in recent(api, mem["id"])]
        assert ids[0] > ids[1]  # the id sequence continues after a restart


def test_memory_routes_need_auth_and_a_027_server(api: Api, api22: Api) -> None:
    for path in ("/memories", "/messages", "/messages/search"):
        answer = requests.get(api.root + path, timeout=10)
        assert answer.status_code == 401 and answer.json()["code"] == 401
    for method, path in (("GET", "/memories"), ("POST", "/memories"), ("GET", "/messages")):
        body = api22.json(method, path, json={"name": "x", "memory_type": ["raw"], **MODELS})
        assert body["code"] != 0 and not body.get("data")
