"""Dataset-level routes: builds (index), search, tags, metadata, ingestion; v0.22's builds."""

from __future__ import annotations

import time

from .conftest import CORPUS, Api


def wait_task(api: Api, path: str) -> dict[str, object]:
    deadline = time.monotonic() + 5
    while True:
        task: dict[str, object] = api.ok("GET", path)
        if task.get("progress") == 1.0:
            return task
        assert time.monotonic() < deadline, task
        time.sleep(0.05)


def test_index_build_status_and_delete(api: Api) -> None:
    dataset_id = api.dataset("builds")
    base = f"/datasets/{dataset_id}/index"
    assert api.ok("GET", base, params={"type": "graph"}) == {}
    empty = api.json("POST", base, params={"type": "raptor"})
    assert empty == {"code": 102, "message": f"No documents in Dataset {dataset_id}"}
    api.upload(dataset_id, {"a.txt": b"alpha"})
    task_id = api.ok("POST", base, params={"type": "graph"})["task_id"]
    running = api.json("POST", base, params={"type": "graph"})
    assert running["code"] == 102 and "A Graph Task is already running." in running["message"]
    task = wait_task(api, f"{base}?type=graph")
    assert task["id"] == task_id and task["task_type"] == "structure_graph"
    assert task["doc_id"] == "graph_raptor_x" and str(task["progress_msg"]).endswith("Done")
    dataset = api.ok("GET", f"/datasets/{dataset_id}")
    assert dataset["graphrag_task_id"] == task_id and dataset["graphrag_task_finish_at"]
    assert api.ok("GET", f"/datasets/{dataset_id}/graph") == {"graph": {}, "mind_map": {}}
    bad = api.json("POST", base, params={"type": "bogus"})
    assert bad["code"] == 102 and bad["message"].startswith("Invalid index type 'bogus'")
    assert api.json("DELETE", f"/datasets/{dataset_id}/bogus") == {
        "code": 101,
        "message": "Invalid index type 'bogus'",
    }
    assert api.ok("DELETE", f"/datasets/{dataset_id}/graph") == {}
    assert api.ok("GET", base, params={"type": "graph"}) == {}
    # the deprecated routes answer in get_json_result style
    old_style = api.json("POST", f"/datasets/{dataset_id}/run_raptor")
    assert old_style["code"] == 0 and old_style["message"] == "success"
    assert old_style["data"]["task_id"]
    unknown = api.json("GET", "/datasets/" + "0" * 32 + "/index", params={"type": "raptor"})
    assert unknown == {"code": 102, "message": "no authorization"}


def test_old_build_routes(api22: Api) -> None:
    dataset_id = api22.dataset("old-builds")
    assert api22.ok("GET", f"/datasets/{dataset_id}/trace_graphrag") == {}
    api22.upload(dataset_id, {"a.txt": b"alpha"})
    task_id = api22.ok("POST", f"/datasets/{dataset_id}/run_graphrag")["graphrag_task_id"]
    task = wait_task(api22, f"/datasets/{dataset_id}/trace_graphrag")
    assert task["id"] == task_id and task["task_type"] == "graphrag"
    unknown = api22.json("POST", "/datasets/" + "0" * 32 + "/run_raptor")
    assert unknown == {"code": 109, "message": "No authorization."}
    index = api22.json("POST", f"/datasets/{dataset_id}/index", params={"type": "graph"})
    assert index["code"] != 0  # no such route on v0.22


def test_search(api: Api) -> None:
    dataset_id = api.dataset("search")
    docs = api.ingest(dataset_id, CORPUS)
    path = f"/datasets/{dataset_id}/search"
    missing = api.json("POST", path, json={})
    assert missing["code"] == 101 and "<question>" in missing["message"]
    found = api.ok("POST", path, json={"question": "volcano Sicily", "size": 2})
    assert found["total"] == len(found["chunks"]) <= 2 and found["labels"] == {}
    top = found["chunks"][0]
    assert "Etna" in top["content_with_weight"] and top["docnm_kwd"] == "volcano.html"
    assert {"chunk_id", "doc_id", "kb_id", "similarity", "term_similarity"} <= set(top)
    only = docs["python.md"]["id"]
    scoped = api.ok("POST", path, json={"question": "volcano", "doc_ids": [only]})
    assert {c["doc_id"] for c in scoped["chunks"]} <= {only}
    many = api.ok(
        "POST", "/datasets/search", json={"question": "bees", "dataset_ids": [dataset_id]}
    )
    assert many["chunks"] and many["doc_aggs"][0]["doc_name"] == "bees.txt"
    stranger = api.json("POST", "/datasets/" + "0" * 32 + "/search", json={"question": "x"})
    assert stranger == {
        "code": 102,
        "message": f"Only owner of dataset {'0' * 32} authorized for this operation.",
    }


def test_tags_and_ingestion(api: Api) -> None:
    dataset_id = api.dataset("tags")
    doc = api.ingest(dataset_id, {"bees.txt": CORPUS["bees.txt"]})["bees.txt"]
    chunks = f"/datasets/{dataset_id}/documents/{doc['id']}/chunks"
    api.ok("POST", chunks, json={"content": "Drones do not sting.", "tag_kwd": ["insects"]})
    tags = api.ok("GET", f"/datasets/{dataset_id}/tags")
    assert all(isinstance(t, list) and len(t) == 2 for t in tags)
    renamed = api.ok("PUT", f"/datasets/{dataset_id}/tags", json={"from_tag": "a", "to_tag": "b"})
    assert renamed == {"from": "a", "to": "b"}
    assert api.json(
        "PUT", f"/datasets/{dataset_id}/tags", json={"from_tag": " ", "to_tag": "b"}
    ) == {
        "code": 101,
        "message": "from_tag and to_tag must not be empty",
    }
    assert api.ok("DELETE", f"/datasets/{dataset_id}/tags", json={"tags": []}) == {}
    lacking = api.json("GET", "/datasets/tags/aggregation")
    assert lacking == {"code": 102, "message": "Lack of dataset_ids in query parameters"}
    summary = api.ok("GET", f"/datasets/{dataset_id}/ingestions/summary")
    assert summary["doc_num"] == 1 and summary["chunk_num"] >= 1
    assert summary["status"]["done_count"] == 1
    assert api.ok("GET", f"/datasets/{dataset_id}/ingestions") == {"total": 0, "logs": []}
    assert api.json("GET", f"/datasets/{dataset_id}/ingestions/nope") == {
        "code": 102,
        "message": "Log not found",
    }


def test_metadata_routes(api: Api) -> None:
    dataset_id = api.dataset("meta")
    ids = [d["id"] for d in api.upload(dataset_id, {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})]
    for doc_id, meta in zip(
        ids,
        [{"tags": ["foo", "bar"], "author": "alice"}, {"tags": ["foo"]}, {"author": "bob"}],
        strict=True,
    ):
        api.ok("PATCH", f"/datasets/{dataset_id}/documents/{doc_id}", json={"meta_fields": meta})
    summary = api.ok("GET", f"/datasets/{dataset_id}/metadata/summary")["summary"]
    assert summary["tags"] == {"type": "list", "values": [["foo", 2], ["bar", 1]]}
    assert summary["author"]["type"] == "string"
    flat = api.ok("GET", "/datasets/metadata/flattened", params={"dataset_ids": dataset_id})
    assert flat["tags"]["foo"] == ids[:2] and flat["author"] == {"alice": [ids[0]], "bob": [ids[2]]}
    path = f"/datasets/{dataset_id}/metadata/update"
    condition = {"conditions": [{"name": "author", "comparison_operator": "=", "value": "bob"}]}
    # the selector intersects ids with the condition: a condition alone selects nothing
    alone = api.ok(
        "POST",
        path,
        json={"selector": {"metadata_condition": condition}, "updates": [{"key": "x", "value": 1}]},
    )
    assert alone == {"updated": 0, "matched_docs": 0}
    both = api.ok(
        "POST",
        path,
        json={
            "selector": {"document_ids": ids, "metadata_condition": condition},
            "updates": [{"key": "year", "value": 2020}],
            "deletes": [{"key": "author"}],
        },
    )
    assert both == {"updated": 1, "matched_docs": 1}
    assert api.docs(dataset_id, id=ids[2])[0]["meta_fields"] == {"year": 2020}
    by_ids = api.ok(
        "PATCH",
        f"/datasets/{dataset_id}/documents/metadatas",
        json={"selector": {"document_ids": ids[:2]}, "updates": [{"key": "tags", "value": "baz"}]},
    )
    assert by_ids == {"updated": 2, "matched_docs": 2}
    assert api.docs(dataset_id, id=ids[1])[0]["meta_fields"] == {"tags": ["foo", "baz"]}
    foreign = api.json("POST", path, json={"selector": {"document_ids": ["nope"]}})
    assert foreign == {
        "code": 102,
        "message": f"These documents do not belong to dataset {dataset_id}: nope",
    }
    assert api.json("POST", path, json={"updates": [{"key": "k"}]}) == {
        "code": 102,
        "message": "Each update requires key and value.",
    }
    config = {"metadata": [{"key": "era", "type": "string"}], "built_in_metadata": []}
    saved = api.ok("PUT", f"/datasets/{dataset_id}/metadata/config", json=config)
    assert saved["metadata"] == [
        {"key": "era", "type": "string", "description": None, "enum": None}
    ]
    assert api.ok("GET", f"/datasets/{dataset_id}/metadata/config") == saved
    bad = api.json("PUT", f"/datasets/{dataset_id}/metadata/config", json={"fields": []})
    assert bad["code"] == 101 and "Extra inputs" in bad["message"]
    doc_config = api.ok(
        "PUT", f"/datasets/{dataset_id}/documents/{ids[0]}/metadata/config", json={"metadata": []}
    )
    assert doc_config["kb_id"] == dataset_id and doc_config["parser_id"] == "naive"
    assert "raptor" not in doc_config["parser_config"]  # RAGFlow drops it on such a merge
    # documents uploaded now inherit the fields; the list shows them as a JSON schema
    new_id = api.upload(dataset_id, {"d.txt": b"d"})[0]["id"]
    assert api.docs(dataset_id, id=new_id)[0]["parser_config"]["metadata"] == {
        "type": "object",
        "properties": {"era": {"description": ""}},
        "additionalProperties": False,
    }


def test_repeated_slashes_redirect(api: Api) -> None:
    response = api.call("DELETE", "//datasets//documents", json={"ids": ["x"]})
    assert [r.status_code for r in response.history] == [308]
    assert response.json()["code"] == 100 and "MethodNotAllowed" in response.json()["message"]
