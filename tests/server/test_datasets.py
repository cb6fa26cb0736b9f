"""Datasets (§3.1) and the knowledge-graph endpoints."""

from __future__ import annotations

from .conftest import Api


def test_create_returns_the_dataset_with_defaults(api: Api) -> None:
    body = api.json("POST", "/datasets", json={"name": "  defaults  "})
    assert "message" not in body
    data = body["data"]
    assert data["name"] == "defaults"
    assert len(data["id"]) == 32
    assert data["chunk_method"] == "naive"
    assert data["permission"] == "me"
    assert data["parser_config"]["chunk_token_num"] == 512
    assert data["parser_config"]["delimiter"] == "\n"
    assert data["parser_config"]["layout_recognize"] == "DeepDOC"
    assert (data["document_count"], data["chunk_count"], data["token_num"]) == (0, 0, 0)
    assert isinstance(data["create_time"], int) and data["create_time"] > 10**12
    assert "@" in data["embedding_model"]


def test_partial_parser_config_is_merged_over_defaults(api: Api) -> None:
    data = api.ok(
        "POST",
        "/datasets",
        json={"name": "pc", "parser_config": {"chunk_token_num": 64, "delimiter": "\n!?"}},
    )
    config = data["parser_config"]
    assert config["chunk_token_num"] == 64
    assert config["delimiter"] == "\n!?"
    assert config["raptor"]["use_raptor"] is False
    assert config["html4excel"] is False


def test_create_is_strict(api: Api) -> None:
    cases = [
        ({"name": "x", "language": "English"}, "Extra inputs are not permitted"),
        ({"name": "x", "chunk_method": "bogus"}, "Input should be 'naive'"),
        ({"name": "x", "parser_config": {"layout_recognize": True}}, "a valid string"),
        ({"name": "x", "parser_config": {"chunk_token_num": 4096}}, "less than or equal to 2048"),
        ({"name": "x", "parser_config": {"bogus": 1}}, "Extra inputs are not permitted"),
        ({"name": "x", "permission": "all"}, "Input should be 'me' or 'team'"),
        ({"name": "x", "embedding_model": "BAAI/bge-zh-v1.5"}, "<model_name>@<provider>"),
        ({"name": ""}, "at least 1 character"),
        ({}, "Field required"),
    ]
    for payload, fragment in cases:
        body = api.json("POST", "/datasets", json=payload)
        assert body["code"] == 101, payload
        assert fragment in body["message"], (payload, body)


def test_create_needs_json_content_type(api: Api) -> None:
    body = api.json(
        "POST",
        "/datasets",
        data="name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert body["code"] == 101
    assert body["message"].startswith("Unsupported content type: Expected application/json")
    body = api.json(
        "POST", "/datasets", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert body == {
        "code": 101,
        "message": "Malformed JSON syntax: Missing commas/brackets or invalid encoding",
    }


def test_duplicate_names_are_suffixed(fresh: Api) -> None:
    names = [
        fresh.ok("POST", "/datasets", json={"name": n})["name"] for n in ("Docs", "docs", "DOCS")
    ]
    assert names == ["Docs", "docs(1)", "DOCS(2)"]


def test_list_total_paging_and_order(fresh: Api) -> None:
    ids = [fresh.dataset(f"d{i}") for i in range(5)]
    body = fresh.json("GET", "/datasets", params={"page": 1, "page_size": 2})
    assert body["total_datasets"] == 5
    assert [d["id"] for d in body["data"]] == ids[::-1][:2]
    asc = fresh.ok("GET", "/datasets", params={"desc": "false", "page": 2, "page_size": 2})
    assert [d["id"] for d in asc] == ids[2:4]
    for bad in ({"page": "x"}, {"page": 0}, {"page_size": 0}, {"page_size": "a"}):
        assert fresh.json("GET", "/datasets", params=bad)["code"] == 101, bad
    by_name = fresh.json("GET", "/datasets", params={"name": "d3"})
    assert [d["id"] for d in by_name["data"]] == [ids[3]] and by_name["total_datasets"] == 1
    by_ids = fresh.ok("GET", "/datasets", params=[("ids", ids[0]), ("ids", f"{ids[1]},{ids[2]}")])
    assert {d["id"] for d in by_ids} == set(ids[:3])
    assert fresh.ok("GET", "/datasets", params={"id": ids[4]})[0]["name"] == "d4"


def test_list_validation(api: Api) -> None:
    too_big = api.json("GET", "/datasets", params={"page_size": 101})
    assert too_big["code"] == 101 and "less than or equal to 100" in too_big["message"]
    unknown = api.json("GET", "/datasets", params={"bogus": 1})
    assert unknown["code"] == 101 and "Extra inputs are not permitted" in unknown["message"]
    missing = api.json("GET", "/datasets", params={"name": "no-such-dataset"})
    assert missing["code"] == 102 and "lacks permission" in missing["message"]
    order = api.json("GET", "/datasets", params={"orderby": "name"})
    assert order["code"] == 101


def test_old_server_has_no_page_size_cap(api22: Api) -> None:
    assert api22.json("GET", "/datasets", params={"page_size": 1000})["code"] == 0


def test_get_one_and_update(api: Api) -> None:
    dataset_id = api.dataset("to-update")
    got = api.ok("GET", f"/datasets/{dataset_id}")
    assert got["name"] == "to-update" and got["size"] == 0 and got["connectors"] == []
    updated = api.ok(
        "PUT",
        f"/datasets/{dataset_id}",
        json={"name": "updated", "description": "new", "parser_config": {"chunk_token_num": 100}},
    )
    assert updated["name"] == "updated" and updated["description"] == "new"
    assert updated["parser_config"]["chunk_token_num"] == 100
    assert updated["parser_config"]["delimiter"] == "\n"
    reset = api.ok("PUT", f"/datasets/{dataset_id}", json={"chunk_method": "qa"})
    assert reset["chunk_method"] == "qa" and "chunk_token_num" not in reset["parser_config"]
    empty = api.json("PUT", f"/datasets/{dataset_id}", json={})
    assert empty == {"code": 102, "message": "no properties were modified"}
    other = api.dataset("taken-name")
    clash = api.json("PUT", f"/datasets/{other}", json={"name": "UPDATED"})
    assert clash == {"code": 102, "message": "Dataset name 'UPDATED' already exists"}
    missing = api.json("GET", "/datasets/" + "0" * 32)
    assert missing["code"] == 102


def test_get_one_is_not_routed_on_old_servers(api22: Api) -> None:
    dataset_id = api22.dataset("old")
    body = api22.json("GET", f"/datasets/{dataset_id}")
    assert body["code"] == 100 and "MethodNotAllowed" in body["message"]


def test_delete_semantics_027(fresh: Api) -> None:
    ids = [fresh.dataset(f"x{i}") for i in range(3)]
    assert fresh.ok("DELETE", "/datasets", json={"ids": None}) == {"success_count": 0}
    assert fresh.ok("DELETE", "/datasets", json={}) == {"success_count": 0}
    assert len(fresh.ok("GET", "/datasets")) == 3
    foreign = fresh.json("DELETE", "/datasets", json={"ids": [ids[0], "f" * 32]})
    assert foreign["code"] == 102 and "lacks permission" in foreign["message"]
    assert fresh.ok("DELETE", "/datasets", json={"ids": [ids[0]]}) == {"success_count": 1}
    assert fresh.ok("DELETE", "/datasets", json={"delete_all": True}) == {"success_count": 2}
    assert fresh.ok("GET", "/datasets") == []


def test_delete_semantics_022_ids_null_deletes_everything(fresh22: Api) -> None:
    for i in range(3):
        fresh22.dataset(f"y{i}")
    unknown_flag = fresh22.json("DELETE", "/datasets", json={"delete_all": True})
    assert unknown_flag["code"] == 101 and "Extra inputs" in unknown_flag["message"]
    assert fresh22.json("DELETE", "/datasets", json={"ids": []}) == {"code": 0}
    assert len(fresh22.ok("GET", "/datasets")) == 3
    assert fresh22.json("DELETE", "/datasets", json={"ids": None}) == {"code": 0}
    assert fresh22.ok("GET", "/datasets") == []


def test_knowledge_graph_is_empty(api: Api) -> None:
    dataset_id = api.dataset("graph")
    empty: dict[str, object] = {"graph": {}, "mind_map": {}}
    assert api.ok("GET", f"/datasets/{dataset_id}/graph") == empty
    assert api.ok("GET", f"/datasets/{dataset_id}/knowledge_graph") == empty
    assert api.ok("DELETE", f"/datasets/{dataset_id}/graph") == {}
    unknown = api.json("GET", "/datasets/" + "0" * 32 + "/graph")
    assert unknown == {"code": 109, "message": "no authorization"}


def test_knowledge_graph_022(api22: Api) -> None:
    dataset_id = api22.dataset("graph")
    assert api22.ok("GET", f"/datasets/{dataset_id}/knowledge_graph") == {
        "graph": {},
        "mind_map": {},
    }
    assert api22.ok("DELETE", f"/datasets/{dataset_id}/knowledge_graph") is True
    unknown = api22.json("GET", "/datasets/" + "0" * 32 + "/knowledge_graph")
    assert unknown == {"code": 109, "message": "No authorization."}


def test_parsing_status_counts(api: Api) -> None:
    dataset_id = api.dataset("status")
    api.upload(dataset_id, {"a.txt": b"alpha", "b.txt": b"beta"})
    listed = api.ok("GET", "/datasets", params={"id": dataset_id, "include_parsing_status": "true"})
    assert listed[0]["parsing_status"]["unstart_count"] == 2
    assert listed[0]["document_count"] == 2


def test_lone_surrogates_are_refused_and_nothing_is_stored(fresh: Api) -> None:
    # json.dumps keeps "\ud800" as an escape, which decodes to a string that cannot be stored.
    for body in ('{"name": "kb\\ud800"}', '{"name": "kb", "description": "\\ud800"}'):
        answer = fresh.json(
            "POST", "/datasets", data=body, headers={"Content-Type": "application/json"}
        )
        assert answer["code"] == 101
        assert "invalid encoding" in answer["message"]
    assert fresh.ok("GET", "/datasets") == []


def test_description_and_language_must_be_strings(api: Api) -> None:
    answer = api.json("POST", "/datasets", json={"name": "typed", "description": 7})
    assert answer["code"] == 101
    assert "description" in answer["message"]
    dataset_id = api.dataset("typed_ok")
    answer = api.json("PUT", f"/datasets/{dataset_id}", json={"language": ["English"]})
    assert answer["code"] == 101
    assert "language" in answer["message"]
