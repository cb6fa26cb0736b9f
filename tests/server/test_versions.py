"""Per-version details of chunks, retrieval, sessions and models (RAGFlow v0.22.1 vs v0.27.0)."""

from __future__ import annotations

from typing import Any

from .conftest import CORPUS, Api


def parsed(api: Api, name: str) -> tuple[str, dict[str, Any]]:
    dataset_id = api.dataset(name)
    return dataset_id, api.ingest(dataset_id, CORPUS)


def test_chunk_count_is_rag_flows_counter(api: Api) -> None:
    """Adding a chunk adds one to the document's count even when the same content replaces
    an existing chunk (RAGFlow's ``increment_chunk_num``); deleting subtracts what went."""
    dataset_id, docs = parsed(api, "counter")
    doc = docs["bees.txt"]
    base = f"/datasets/{dataset_id}/documents/{doc['id']}/chunks"
    before = api.ok("GET", base)["doc"]["chunk_count"]
    first = api.ok("POST", base, json={"content": "same text"})["chunk"]["id"]
    again = api.ok("POST", base, json={"content": "same text"})["chunk"]["id"]
    assert first == again
    listed = api.ok("GET", base)
    assert listed["doc"]["chunk_count"] == before + 2 and listed["total"] == before + 1
    assert api.json("DELETE", base, json={"chunk_ids": [first]}) == {"code": 0}
    assert api.ok("GET", base)["doc"]["chunk_count"] == before + 1


def test_chunk_validation_per_version(api: Api, api22: Api) -> None:
    for client, message in ((api, "`questions` must be a list of strings"), (api22, None)):
        dataset_id, docs = parsed(client, "chunk-rules")
        base = f"/datasets/{dataset_id}/documents/{docs['bees.txt']['id']}/chunks"
        body = client.json("POST", base, json={"content": "x", "questions": [1]})
        if message:
            assert body == {"code": 102, "message": message}
        else:  # v0.22.1's tokenizer join fails
            assert body == {
                "code": 100,
                "message": "TypeError('sequence item 0: expected str instance, int found')",
                "data": None,
            }
        added = client.ok("POST", base, json={"content": "y", "questions": ["", " q "]})
        assert added["chunk"]["questions"] == ["q"]
        assert ("doc_type_kwd" in added["chunk"]) is (client is api)
        unknown = client.json("GET", base.replace(docs["bees.txt"]["id"], "0" * 32))
        assert unknown["message"] == (
            f"you don't own the document {'0' * 32}"
            if client is api
            else f"You don't own the document {'0' * 32}."
        )
    dataset_id, docs = parsed(api, "chunk-tags")
    base = f"/datasets/{dataset_id}/documents/{docs['bees.txt']['id']}/chunks"
    assert api.json("POST", base, json={"content": "t", "tag_kwd": [1]}) == {
        "code": 102,
        "message": "`tag_kwd` must be a list of strings",
    }
    assert api.json("POST", base, json={"content": "t", "tag_feas": {"a": -1}}) == {
        "code": 102,
        "message": "`tag_feas` values must be finite numbers greater than 0",
    }
    cid = api.ok("POST", base, json={"content": "t", "tag_kwd": ["x"]})["chunk"]["id"]
    assert api.json("PATCH", f"{base}/{cid}", json={"content": None}) == {"code": 0}
    assert api.json("PATCH", f"{base}/{cid}", json={"questions": "q"}) == {
        "code": 102,
        "message": "`questions` should be a list",
    }


def test_chunk_delete_per_version(api: Api, api22: Api) -> None:
    dataset_id, docs = parsed(api, "delete-rules")
    base = f"/datasets/{dataset_id}/documents/{docs['bees.txt']['id']}/chunks"
    cid = api.ok("POST", base, json={"content": "one"})["chunk"]["id"]
    assert api.json("DELETE", base, json={"chunk_ids": []}) == {"code": 0}  # nothing
    assert api.ok("GET", base)["total"] == 2
    partial = api.json("DELETE", base, json={"chunk_ids": [cid, cid]})
    assert partial == {
        "code": 0,
        "data": {"success_count": 1, "errors": [f"Duplicate chunk ids: {cid}"]},
    }
    dataset_id, docs = parsed(api22, "delete-rules-22")
    base = f"/datasets/{dataset_id}/documents/{docs['bees.txt']['id']}/chunks"
    api22.ok("POST", base, json={"content": "one"})
    # v0.22.1: an empty id list filters nothing, so every chunk of the document goes
    assert api22.json("DELETE", base, json={"chunk_ids": []}) == {"code": 0}
    assert api22.ok("GET", base)["total"] == 0
    missing = api22.json("DELETE", base.replace(docs["bees.txt"]["id"], "0" * 32), json={})
    assert missing["message"] == f'LookupError("Can\'t find the document with ID {"0" * 32}!")'


def test_retrieval_per_version(api: Api, api22: Api) -> None:
    question = {"question": "How do bees make honey?"}
    new_id, new_docs = parsed(api, "retrieval-27")
    api.ok(
        "PATCH",
        f"/datasets/{new_id}/documents/{new_docs['bees.txt']['id']}",
        json={"meta_fields": {"topic": "insects"}},
    )
    new = api.ok(
        "POST",
        "/retrieval",
        json={**question, "dataset_ids": [new_id], "reference_metadata": {"include": True}},
    )
    chunk = new["chunks"][0]
    assert chunk["document_metadata"] == {"topic": "insects"} and "highlight" not in chunk
    assert {"tag_kwd", "mom_id", "row_id"} <= set(chunk) and "kb_id" not in chunk
    assert api.json(
        "POST", "/retrieval", json={**question, "dataset_ids": [new_id], "top_k": 0}
    ) == {
        "code": 102,
        "message": "`top_k` must be greater than 0",
    }
    old_id, _ = parsed(api22, "retrieval-22")
    old = api22.ok(
        "POST",
        "/retrieval",
        json={**question, "dataset_ids": [old_id], "reference_metadata": {"include": True}},
    )
    chunk = old["chunks"][0]
    assert "<em>" in chunk["highlight"] and "document_metadata" not in chunk
    assert not {"tag_kwd", "mom_id", "row_id", "kb_id"} & set(chunk)
    off = api22.ok(
        "POST", "/retrieval", json={**question, "dataset_ids": [old_id], "highlight": False}
    )
    assert "highlight" in off["chunks"][0]  # only the string "false" turns it off
    off = api22.ok(
        "POST", "/retrieval", json={**question, "dataset_ids": [old_id], "highlight": "false"}
    )
    assert "highlight" not in off["chunks"][0]
    paged = api22.ok(
        "POST", "/retrieval", json={**question, "dataset_ids": [old_id], "page": 99, "page_size": 1}
    )
    assert paged == {"total": 0, "chunks": [], "doc_aggs": []}  # total counts the page only


def test_message_delete_and_feedback(api: Api) -> None:
    dataset_id, _ = parsed(api, "feedback-kb")
    chat_id = api.ok("POST", "/chats", json={"name": "feedback-chat", "dataset_ids": [dataset_id]})[
        "id"
    ]
    session_id = api.ok("POST", f"/chats/{chat_id}/sessions", json={})["id"]
    ids = []
    for question in ("How do bees make honey?", "Who created Python?"):
        body = {
            "chat_id": chat_id,
            "session_id": session_id,
            "messages": [{"role": "user", "content": question}],
            "stream": False,
        }
        ids.append(api.ok("POST", "/chat/completions", json=body)["id"])
    base = f"/chats/{chat_id}/sessions/{session_id}/messages"
    rated = api.ok("PUT", f"{base}/{ids[0]}/feedback", json={"thumbup": False, "feedback": "meh"})
    answer = rated["messages"][2]
    assert answer["thumbup"] is False and answer["feedback"] == "meh"
    again = api.ok("PUT", f"{base}/{ids[0]}/feedback", json={"thumbup": True})
    assert again["messages"][2]["thumbup"] is True and "feedback" not in again["messages"][2]
    assert api.json("PUT", f"{base}/{ids[0]}/feedback", json={"thumbup": "yes"}) == {
        "code": 102,
        "message": "thumbup must be a boolean",
    }
    second_reference = api.ok("GET", f"/chats/{chat_id}/sessions/{session_id}")["reference"][1]
    kept = api.ok("DELETE", f"{base}/{ids[0]}")
    assert [m["content"] for m in kept["messages"] if m["role"] == "user"] == [
        "Who created Python?"
    ]
    assert kept["reference"] == [second_reference]
    session = api.ok("GET", f"/chats/{chat_id}/sessions/{session_id}")
    assert len(session["messages"]) == 3
    assert api.json("DELETE", f"/chats/{chat_id}/sessions/{'0' * 32}/messages/x") == {
        "code": 102,
        "message": "Session not found!",
    }


def test_models(api: Api) -> None:
    models = api.ok("GET", "/models")
    chat = [m for m in models if m["model_type"] == ["chat"]]
    assert [m["name"] for m in chat] == ["local-extractive-responder"]
    assert all(len(m["model_id"]) == 32 and m["provider_name"] == "Builtin" for m in models)
    assert api.ok("GET", "/models", params={"type": "embedding"})[0]["model_type"] == ["embedding"]
    assert len(api.ok("GET", "/models", params={"type": "nonsense"})) == len(models)
    defaults = api.ok("GET", "/models/default")["models"]
    assert (defaults[0]["model_type"], defaults[0]["model_name"]) == (
        "chat",
        "local-extractive-responder",
    )
    llm_id = api.ok("POST", "/chats", json={"name": "model-chat"})["llm_id"]
    assert llm_id == defaults[0]["model_id"]
