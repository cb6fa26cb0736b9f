"""Chat assistants (§3.8) and sessions (§3.9), both emulation modes."""

from __future__ import annotations

from ragflow_integrations.testing.routes._common import TENANT_ID

from .conftest import CORPUS, Api


def parsed_dataset(api: Api, name: str = "chat-kb") -> str:
    dataset_id = api.dataset(name)
    api.ingest(dataset_id, CORPUS)
    return dataset_id


def test_chat_crud_027(fresh: Api) -> None:
    dataset_id = parsed_dataset(fresh)
    created = fresh.json(
        "POST",
        "/chats",
        json={
            "name": "helper",
            "dataset_ids": [dataset_id],
            "top_n": 3,
            "prompt_config": {"prologue": "Hello there", "empty_response": "Nothing."},
            "ignored_key": 1,
        },
    )
    assert created["code"] == 0 and created["message"] == "success"
    chat = created["data"]
    assert chat["dataset_ids"] == [dataset_id] and chat["kb_names"] == ["chat-kb"]
    assert chat["top_n"] == 3 and chat["similarity_threshold"] == 0.1
    assert chat["prompt_config"]["prologue"] == "Hello there"
    assert chat["prompt_config"]["quote"] is True
    assert chat["prompt_config"]["parameters"] == [
        {"key": "knowledge", "optional": False},
        {"key": "date", "optional": True},
    ]
    assert chat["llm_setting"] == {} and chat["llm_id"] == chat["tenant_llm_id"]
    assert "ignored_key" not in chat and "created_by" not in chat
    chat_id = chat["id"]
    assert fresh.ok("GET", f"/chats/{chat_id}")["name"] == "helper"
    patched = fresh.ok(
        "PATCH",
        f"/chats/{chat_id}",
        json={"prompt_config": {"empty_response": "Nope."}, "llm_setting": {"temperature": 0.2}},
    )
    assert patched["prompt_config"]["prologue"] == "Hello there"
    assert patched["prompt_config"]["empty_response"] == "Nope."
    # PUT replaces the prompt config as given (no merge, no defaults)
    replaced = fresh.ok("PUT", f"/chats/{chat_id}", json={"prompt_config": {"prologue": "Hi"}})
    assert replaced["prompt_config"] == {"prologue": "Hi"}
    fresh.ok("POST", "/chats", json={"name": "second"})
    listed = fresh.ok("GET", "/chats", params={"page_size": 1})
    assert listed["total"] == 2 and [c["name"] for c in listed["chats"]] == ["second"]
    assert listed["chats"][0]["nickname"] == "local" and "create_date" not in listed["chats"][0]
    assert fresh.ok("GET", "/chats", params={"keywords": "HELP"})["total"] == 1
    assert fresh.ok("GET", "/chats", params={"name": "second"})["chats"][0]["name"] == "second"
    assert fresh.json("GET", "/chats", params={"page_size": 500})["code"] == 100
    assert fresh.json("POST", "/chats", json={"name": "HELPER"}) == {
        "code": 102,
        "message": "duplicated chat name in creating chat",
    }
    assert fresh.json("POST", "/chats", json={})["message"] == "`name` is required"
    assert fresh.json("POST", "/chats", json={"name": "x", "tenant_id": "t"}) == {
        "code": 102,
        "message": "`tenant_id` must not be provided",
    }
    assert fresh.json("POST", "/chats", json={"name": "x", "llm_id": "glm-4"}) == {
        "code": 102,
        "message": "`llm_id` glm-4 doesn't exist",
    }
    assert fresh.json("GET", "/chats/" + "0" * 32) == {
        "code": 109,
        "message": "no authorization",
        "data": False,
    }
    assert fresh.json("PATCH", f"/chats/{chat_id}", json={"name": "SECOND"}) == {
        "code": 102,
        "message": "duplicated chat name",
    }
    assert fresh.ok("DELETE", f"/chats/{chat_id}") is True
    assert fresh.ok("DELETE", "/chats", json={"ids": None}) == {}
    assert fresh.ok("DELETE", "/chats", json={"delete_all": True}) == {"success_count": 1}
    assert fresh.ok("GET", "/chats")["total"] == 0


def test_chat_needs_parsed_datasets(api: Api) -> None:
    empty = api.dataset("unparsed")
    body = api.json("POST", "/chats", json={"name": "c-unparsed", "dataset_ids": [empty]})
    assert body["code"] == 102 and "doesn't own parsed file" in body["message"]


def test_partial_bulk_delete(api: Api) -> None:
    chat_id = api.ok("POST", "/chats", json={"name": "to-delete"})["id"]
    body = api.json("DELETE", "/chats", json={"ids": [chat_id, "f" * 32]})
    assert body["code"] == 0 and body["message"].startswith("Partially deleted 1 chats")
    assert body["data"]["success_count"] == 1
    gone = api.json("DELETE", "/chats", json={"ids": [chat_id]})
    assert gone["code"] == 102 and "not found" in gone["message"]


def test_old_chat_body_and_list_shape(fresh22: Api) -> None:
    dataset_id = parsed_dataset(fresh22)
    created = fresh22.json(
        "POST",
        "/chats",
        json={
            "name": "old",
            "avatar": "",
            "dataset_ids": [dataset_id],
            "llm": {"model_name": "local-extractive-responder", "temperature": 0.5},
            "prompt": {
                "opener": "Welcome!",
                "show_quote": False,
                "top_n": 2,
                "keywords_similarity_weight": 0.6,
                "empty_response": "None found.",
            },
        },
    )
    assert "message" not in created and created["code"] == 0
    chat = created["data"]
    assert chat["llm"] == {"temperature": 0.5, "model_name": "local-extractive-responder"}
    assert chat["prompt"]["opener"] == "Welcome!" and chat["prompt"]["show_quote"] is False
    # stored as given, answered as 1 - x (v0.22.1)
    assert chat["prompt"]["keywords_similarity_weight"] == 0.4 and chat["prompt"]["top_n"] == 2
    assert chat["prompt"]["similarity_threshold"] == 0.2 and chat["prompt"]["tts"] is False
    assert chat["dataset_ids"] == [dataset_id] and "datasets" not in chat
    assert not {"llm_id", "prompt_config", "top_n", "top_k", "icon", "kb_ids"} & set(chat)
    listed = fresh22.ok("GET", "/chats")
    assert isinstance(listed, list) and listed[0]["id"] == chat["id"]
    assert listed[0]["datasets"][0]["id"] == dataset_id
    assert listed[0]["datasets"][0]["chunk_num"] > 0 and listed[0]["top_k"] == 1024
    assert fresh22.json("PUT", f"/chats/{chat['id']}", json={"name": "renamed"}) == {"code": 0}
    # an update without dataset_ids empties the chat's datasets (v0.22.1)
    assert fresh22.ok("GET", "/chats", params={"id": chat["id"]})[0]["datasets"] == []
    assert fresh22.json("PATCH", f"/chats/{chat['id']}", json={"name": "x"})["code"] == 100
    assert fresh22.json("GET", "/chats", params={"name": "nope"})["code"] == 102
    assert fresh22.json("POST", "/chats", json={"name": "bad", "llm": {"model_name": "x@y"}}) == {
        "code": 102,
        "message": "`model_name` x@y doesn't exist",
    }
    assert fresh22.json("POST", "/chats", json={"name": "RENAMED"}) == {
        "code": 102,
        "message": "Duplicated chat name in creating chat.",
    }
    unused = {"name": "p", "prompt": {"prompt": "No knowledge here"}}
    assert fresh22.json("POST", "/chats", json=unused) == {
        "code": 102,
        "message": "Parameter 'knowledge' is not used",
    }
    fresh22.ok("POST", "/chats", json={"name": "other"})
    assert fresh22.json("DELETE", "/chats", json={"ids": ["f" * 32]}) == {
        "code": 102,
        "message": f"Assistant({'f' * 32}) not found.",
    }
    assert fresh22.json("DELETE", "/chats", json={"ids": None}) == {"code": 0}
    assert fresh22.ok("GET", "/chats") == []


def test_sessions(api: Api) -> None:
    chat_id = api.ok(
        "POST", "/chats", json={"name": "sessions-chat", "prompt_config": {"prologue": "Ask me."}}
    )["id"]
    base = f"/chats/{chat_id}/sessions"
    session = api.ok("POST", base, json={"name": "first", "user_id": "u1"})
    assert session["chat_id"] == chat_id and session["name"] == "first"
    assert session["messages"] == [{"role": "assistant", "content": "Ask me."}]
    # v0.25+ records the caller as the session's user, whatever the body says
    assert session["user_id"] == TENANT_ID and session["reference"] == []
    default = api.ok("POST", base)
    assert default["name"] == "New session"
    assert api.json("POST", base, json={"name": " "})["code"] == 102
    listed = api.json("GET", base)
    assert listed["message"] == "success" and len(listed["data"]) == 2 and "total" not in listed
    assert [
        s["name"] for s in api.ok("GET", base, params={"orderby": "name", "desc": "false"})
    ] == ["first", "New session"]  # case-insensitive, like MySQL's default collation
    assert api.ok("GET", base, params={"id": session["id"]})[0]["id"] == session["id"]
    one = api.ok("GET", f"{base}/{session['id']}")
    assert one["id"] == session["id"] and "avatar" in one
    renamed = api.ok("PATCH", f"{base}/{session['id']}", json={"name": "renamed"})
    assert renamed["name"] == "renamed"
    assert api.ok("PUT", f"{base}/{session['id']}", json={"name": "again"})["name"] == "again"
    assert api.json("PATCH", f"{base}/{session['id']}", json={"messages": []}) == {
        "code": 102,
        "message": "`messages` cannot be changed",
    }
    assert api.json("PATCH", f"{base}/{'0' * 32}", json={"name": "x"}) == {
        "code": 102,
        "message": "Session not found!",
    }
    malformed = api.json("DELETE", base, data=b"{", headers={"Content-Type": "application/json"})
    assert malformed == {
        "code": 101,
        "message": "Malformed JSON syntax: Missing commas/brackets or invalid encoding",
        "data": None,
    }
    assert api.ok("DELETE", base, json={"ids": [session["id"]]}) is True
    assert api.ok("DELETE", base, json={"delete_all": True}) is True
    assert api.ok("GET", base) == []
    assert api.json("POST", "/chats/" + "0" * 32 + "/sessions")["code"] == 109


def test_old_sessions(api22: Api) -> None:
    chat_id = api22.ok("POST", "/chats", json={"name": "old-sessions"})["id"]
    base = f"/chats/{chat_id}/sessions"
    first = api22.ok("POST", base, json={"name": "a", "user_id": "u1"})
    assert set(first) == {
        "id", "chat_id", "name", "messages", "user_id",
        "create_time", "create_date", "update_time", "update_date",
    }  # fmt: skip
    assert first["user_id"] == "u1"
    listed = api22.ok("GET", base)
    assert listed[0]["messages"][0]["reference"] == [] and "reference" not in listed[0]
    assert api22.json("PUT", f"{base}/{first['id']}", json={"name": "b"}) == {"code": 0}
    assert api22.json("PUT", f"{base}/{'0' * 32}", json={"name": "b"}) == {
        "code": 102,
        "message": "Session does not exist",
    }
    assert api22.json("GET", f"{base}/{first['id']}")["code"] == 100  # no such method
    assert api22.json("POST", "/chats/" + "0" * 32 + "/sessions", json={}) == {
        "code": 102,
        "message": "You do not own the assistant.",
    }
    api22.ok("POST", base, json={"name": "c"})
    assert api22.json("DELETE", base, json={}) == {"code": 0}
    assert api22.ok("GET", base) == []
