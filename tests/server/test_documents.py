"""Documents (§3.2): upload, list filters, update, download, delete."""

from __future__ import annotations

import json

from .conftest import Api


def test_upload_several_files_with_duplicate_names(api: Api) -> None:
    dataset_id = api.dataset("upload")
    first = api.upload(dataset_id, {"notes.txt": b"one", "guide.md": b"# two"})
    assert [d["name"] for d in first] == ["notes.txt", "guide.md"]
    doc = first[0]
    # v0.27's upload answer: the new rows' columns (no counters, status or metadata yet)
    assert set(doc) == {
        "id",
        "dataset_id",
        "chunk_method",
        "pipeline_id",
        "parser_config",
        "created_by",
        "type",
        "name",
        "location",
        "size",
        "thumbnail",
        "suffix",
        "source_type",
        "run",
        "content_hash",
    }
    assert doc["run"] == "UNSTART" and doc["dataset_id"] == dataset_id and doc["size"] == 3
    assert doc["suffix"] == "txt" and doc["type"] == "doc" and doc["chunk_method"] == "naive"
    listed = api.docs(dataset_id)[-1]
    assert listed["progress"] == 0.0 and listed["status"] == "1" and listed["meta_fields"] == {}
    again = api.upload(dataset_id, {"notes.txt": b"three"})
    assert again[0]["name"] == "notes(1).txt"
    parts = [("file", ("same.txt", b"a")), ("file", ("same.txt", b"b"))]
    both = api.ok("POST", f"/datasets/{dataset_id}/documents", files=parts)
    assert [d["name"] for d in both] == ["same.txt", "same(1).txt"]


def test_upload_errors(api: Api) -> None:
    dataset_id = api.dataset("upload-errors")
    only_bad = api.json(
        "POST", f"/datasets/{dataset_id}/documents", files=[("file", ("tool.exe", b"MZ"))]
    )
    assert only_bad["code"] == 500
    assert "tool.exe" in only_bad["message"] and "not been supported" in only_bad["message"]
    assert "data" not in only_bad
    partial = api.json(
        "POST",
        f"/datasets/{dataset_id}/documents",
        files=[("file", ("ok.txt", b"fine")), ("file", ("bad.xyz", b"?"))],
    )
    assert partial["code"] == 500 and "bad.xyz" in partial["message"]
    assert [d["name"] for d in partial["data"]] == ["ok.txt"]
    assert [d["name"] for d in api.docs(dataset_id)] == ["ok.txt"]
    no_part = api.json(
        "POST", f"/datasets/{dataset_id}/documents", files=[("other", ("a.txt", b"x"))]
    )
    assert no_part == {"code": 101, "message": "No file part!"}
    unknown = api.json(
        "POST", "/datasets/" + "0" * 32 + "/documents", files=[("file", ("a.txt", b"x"))]
    )
    assert unknown["code"] == 102 and "Can't find the dataset" in unknown["message"]


def test_list_filters(api: Api) -> None:
    dataset_id = api.dataset("filters")
    docs = api.upload(dataset_id, {"alpha.txt": b"a", "beta.md": b"b", "gamma.txt": b"c"})
    ids = [d["id"] for d in docs]
    api.ok(
        "PATCH",
        f"/datasets/{dataset_id}/documents/{ids[0]}",
        json={"meta_fields": {"author": "Ann", "year": 2021, "tags": ["x", "y"]}},
    )
    api.ok(
        "PATCH",
        f"/datasets/{dataset_id}/documents/{ids[1]}",
        json={"meta_fields": {"author": "Bob", "year": 2024}},
    )
    body = api.json("GET", f"/datasets/{dataset_id}/documents")
    assert body["message"] == "success" and body["data"]["total"] == 3
    assert [d["name"] for d in body["data"]["docs"]] == ["gamma.txt", "beta.md", "alpha.txt"]

    def names(**params: object) -> list[str]:
        return sorted(d["name"] for d in api.docs(dataset_id, **params))

    assert names(keywords="ALP") == ["alpha.txt"]
    assert names(name="beta.md") == ["beta.md"]
    assert names(id=ids[2]) == ["gamma.txt"]
    assert names(suffix="txt") == ["alpha.txt", "gamma.txt"]
    assert names(run="UNSTART") == ["alpha.txt", "beta.md", "gamma.txt"]
    assert names(run="DONE") == []
    condition = {
        "logic": "and",
        "conditions": [{"name": "year", "comparison_operator": "≥", "value": "2022"}],
    }
    assert names(metadata_condition=json.dumps(condition)) == ["beta.md"]
    # RAGFlow compares the stored text with a JSON number as text vs number: no match
    condition["conditions"][0]["value"] = 2022
    assert names(metadata_condition=json.dumps(condition)) == []
    either = {
        "logic": "or",
        "conditions": [
            {"name": "author", "comparison_operator": "is", "value": "ann"},
            {"name": "year", "comparison_operator": ">", "value": "2023"},
        ],
    }
    assert names(metadata_condition=json.dumps(either)) == ["alpha.txt", "beta.md"]
    assert names(metadata=json.dumps({"author": ["Bob", "Zed"]})) == ["beta.md"]
    paged = api.ok(
        "GET",
        f"/datasets/{dataset_id}/documents",
        params={"page": 2, "page_size": 2, "orderby": "name", "desc": "false"},
    )
    assert paged["total"] == 3 and [d["name"] for d in paged["docs"]] == ["gamma.txt"]
    bad = api.json(
        "GET", f"/datasets/{dataset_id}/documents", params={"metadata_condition": "{nope"}
    )
    assert bad["code"] == 102 and "metadata_condition must be valid JSON" in bad["message"]
    assert api.json("GET", f"/datasets/{dataset_id}/documents", params={"run": "X"})["code"] == 102
    assert (
        api.json("GET", f"/datasets/{dataset_id}/documents", params={"page_size": 101})["code"]
        == 100
    )
    assert (
        api.json("GET", f"/datasets/{dataset_id}/documents", params={"orderby": "size"})["code"]
        == 101
    )
    assert (
        api.json("GET", f"/datasets/{dataset_id}/documents", params={"id": "nope"})["code"] == 102
    )


def test_update_document(api: Api) -> None:
    dataset_id = api.dataset("update-docs")
    doc_id = api.upload(dataset_id, {"a.txt": b"alpha", "b.txt": b"beta"})[0]["id"]
    path = f"/datasets/{dataset_id}/documents/{doc_id}"
    renamed = api.ok("PATCH", path, json={"name": "renamed.txt", "enabled": 0})
    assert renamed["name"] == "renamed.txt" and renamed["status"] == "0"
    assert renamed["location"] == "a.txt"  # the stored file keeps its location
    assert api.ok("PUT", path, json={"enabled": 1})["status"] == "1"
    assert api.json("PATCH", path, json={"name": "renamed.md"}) == {
        "code": 101,
        "message": "The extension of file can't be changed",
    }
    assert api.json("PATCH", path, json={"name": "b.txt"})["code"] == 102
    as_bool = api.json("PATCH", path, json={"enabled": True})
    assert as_bool["code"] == 102 and "valid integer" in as_bool["message"]
    assert api.json("PATCH", path, json={"chunk_count": 5})["code"] == 102
    assert api.json("PATCH", path, json={"meta_fields": {"k": {"nested": 1}}})["code"] == 102
    method = api.ok(
        "PATCH", path, json={"chunk_method": "qa", "parser_config": {"chunk_token_num": 32}}
    )
    assert method["chunk_method"] == "qa" and method["parser_config"]["chunk_token_num"] == 32
    assert api.json("PATCH", path, json={"chunk_method": ""})["code"] == 102


def test_download(api: Api) -> None:
    dataset_id = api.dataset("download")
    content = "héllo wörld\n".encode()
    doc_id = api.upload(dataset_id, {"greeting.txt": content})[0]["id"]
    response = api.call("GET", f"/datasets/{dataset_id}/documents/{doc_id}")
    assert response.status_code == 200 and response.content == content
    assert "attachment" in response.headers["content-disposition"]
    assert "greeting.txt" in response.headers["content-disposition"]
    assert response.headers["content-type"].startswith("text/plain")
    assert api.call("GET", f"/documents/{doc_id}").content == content
    missing = api.json("GET", f"/datasets/{dataset_id}/documents/" + "0" * 32)
    assert missing == {"code": 102, "message": "document not found"}
    empty_id = api.upload(dataset_id, {"empty.txt": b""})[0]["id"]
    assert api.json("GET", f"/documents/{empty_id}") == {
        "code": 102,
        "message": "This file is empty.",
    }


def test_delete_documents_027(api: Api) -> None:
    dataset_id = api.dataset("delete-docs")
    ids = [d["id"] for d in api.upload(dataset_id, {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})]
    path = f"/datasets/{dataset_id}/documents"
    neither = api.json("DELETE", path, json={"ids": None})
    assert neither["code"] == 102 and "should either provide doc ids" in neither["message"]
    assert api.json("DELETE", path, json={"ids": ["nope"]})["code"] == 102
    assert api.ok("DELETE", path, json={"ids": [ids[0]]}) == {"deleted": 1}
    assert api.ok("DELETE", path, json={"delete_all": True}) == {"deleted": 2}
    assert api.docs(dataset_id) == []


def test_delete_documents_022_without_ids_deletes_all(api22: Api) -> None:
    dataset_id = api22.dataset("old-delete")
    api22.upload(dataset_id, {"a.txt": b"a", "b.txt": b"b"})
    listed = api22.json("GET", f"/datasets/{dataset_id}/documents")
    assert "message" not in listed and listed["data"]["total"] == 2
    assert api22.json("DELETE", f"/datasets/{dataset_id}/documents", json={"ids": None}) == {
        "code": 0
    }
    assert api22.docs(dataset_id) == []


def test_old_server_updates_with_put_only(api22: Api) -> None:
    dataset_id = api22.dataset("old-update")
    doc_id = api22.upload(dataset_id, {"a.txt": b"a"})[0]["id"]
    path = f"/datasets/{dataset_id}/documents/{doc_id}"
    assert api22.json("PATCH", path, json={"name": "b.txt"})["code"] == 100
    # a changed `enabled` makes v0.22 answer `data: true` instead of the document
    assert api22.ok("PUT", path, json={"name": "b.txt", "enabled": False}) is True
    (doc,) = api22.docs(dataset_id)
    assert doc["name"] == "b.txt" and doc["status"] == "0" and doc["title"] is None
    assert "nickname" not in doc and "content_hash" not in doc
