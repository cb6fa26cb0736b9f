"""Dataset requests are validated like RAGFlow's pydantic models, per emulated line."""

from __future__ import annotations

import pytest

from ragflow_integrations.testing import LocalRAGFlowServer

from .conftest import Api


def create(api: Api, **body: object) -> dict[str, object]:
    result: dict[str, object] = api.json("POST", "/datasets", json={"name": "v", **body})
    return result


@pytest.mark.parametrize(
    ("parser_config", "message"),
    [
        (
            {"chunk_token_num": 3.14},
            "Field: <parser_config.chunk_token_num> - Message: <Input should be a valid integer>"
            " - Value: <3.14>",
        ),
        (
            {"tag_kb_ids": [1]},
            "Field: <parser_config.tag_kb_ids.0> - Message: <Input should be a valid string>"
            " - Value: <1>",
        ),
        (
            {"pages": [["a"]]},
            "Field: <parser_config.pages.0.0> - Message: <Input should be a valid integer>"
            " - Value: <a>",
        ),
        (
            {"graphrag": {"method": "x"}},
            "Field: <parser_config.graphrag.method> - Message: <Input should be 'light', "
            "'general' or 'ner'> - Value: <x>",
        ),
        (
            {"raptor": {"prompt": " "}},
            "Field: <parser_config.raptor.prompt> - Message: <String should have at least 1 "
            "character> - Value: < >",
        ),
        (
            {"parent_child": {"children_delimiter": ""}},
            "Field: <parser_config.parent_child.children_delimiter> - Message: <String should "
            "have at least 1 character> - Value: <>",
        ),
        (
            "not a dict",
            "Field: <parser_config> - Message: <Input should be a valid dictionary or instance "
            "of ParserConfig> - Value: <not a dict>",
        ),
    ],
)
def test_parser_config_refusals_027(api: Api, parser_config: object, message: str) -> None:
    assert create(api, parser_config=parser_config) == {"code": 101, "message": message}


def test_parser_config_refusals_022(api22: Api) -> None:
    threshold = create(api22, parser_config={"raptor": {"threshold": 2}})
    assert threshold == {
        "code": 101,
        "message": "Field: <parser_config.raptor.threshold> - Message: <Input should be less "
        "than or equal to 1> - Value: <2>",
    }
    # v0.22 has no parent-child chunking and no "ner" GraphRAG method
    assert "Extra inputs" in str(create(api22, parser_config={"parent_child": {}})["message"])
    method = create(api22, parser_config={"graphrag": {"method": "ner"}})
    assert "Input should be 'light' or 'general'" in str(method["message"])


def test_default_parser_config_per_line(api: Api, api22: Api) -> None:
    new = api.ok("POST", "/datasets", json={"name": "line-defaults"})["parser_config"]
    assert new["raptor"]["max_token"] == 512 and "threshold" not in new["raptor"]
    assert new["graphrag"]["batch_chunk_token_size"] == 4096
    assert new["parent_child"] == {"use_parent_child": False, "children_delimiter": "\n"}
    assert new["children_delimiter"] == "" and new["table_context_size"] == 0
    assert new["llm_id"] == "local-extractive-responder@Builtin"
    old = api22.ok("POST", "/datasets", json={"name": "line-defaults"})["parser_config"]
    assert old["raptor"]["max_token"] == 256 and old["raptor"]["threshold"] == 0.1
    assert old["raptor"]["prompt"].startswith("Please summarize the following paragraphs.")
    assert not {"parent_child", "children_delimiter", "table_context_size", "llm_id"} & set(old)
    # a supplied config is completed with the pydantic defaults, then laid over the method's
    partial = api22.ok("POST", "/datasets", json={"name": "p", "parser_config": {"topn_tags": 5}})
    assert partial["parser_config"]["topn_tags"] == 5
    assert partial["parser_config"]["raptor"]["use_raptor"] is False
    assert partial["parser_config"]["delimiter"] == "\\n"
    table = api22.ok("POST", "/datasets", json={"name": "t", "chunk_method": "table"})
    assert table["parser_config"] == {}


def test_update_merges_and_resets_the_config(api: Api) -> None:
    dataset_id = api.dataset("upd-config")
    path = f"/datasets/{dataset_id}"
    merged = api.ok("PUT", path, json={"parser_config": {"raptor": {"max_cluster": 9}}})
    assert merged["parser_config"]["raptor"]["max_cluster"] == 9
    assert merged["parser_config"]["raptor"]["max_token"] == 512
    # the update flattens parent-child into children_delimiter/enable_children
    assert merged["parser_config"]["children_delimiter"] == ""
    assert merged["parser_config"]["enable_children"] is False
    qa = api.ok("PUT", path, json={"chunk_method": "qa", "parser_config": {}})
    assert qa["parser_config"] == {
        "table_context_size": 0,
        "image_context_size": 0,
        "raptor": {"use_raptor": False},
        "graphrag": {"use_graphrag": False},
    }


@pytest.mark.parametrize(
    ("body", "old", "new"),
    [
        (
            {"avatar": "data:image/gif;base64,R0lG"},
            "Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']",
            "Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']",
        ),
        (
            {"avatar": "image/png;base64"},
            "Missing MIME prefix. Expected format: data:<mime>;base64,<data>",
            "missing MIME prefix. Expected format: data:<mime>;base64,<data>",
        ),
        (
            {"embedding_model": "@Builtin"},
            "Both model_name and provider must be non-empty strings",
            "both model_name and provider must be non-empty strings",
        ),
        (
            {"embedding_model": "no-provider"},
            "Embedding model identifier must follow <model_name>@<provider> format",
            "embedding model identifier must follow <model_name>@<provider> format",
        ),
    ],
)
def test_message_case_differs_per_line(
    api: Api, api22: Api, body: dict[str, object], old: str, new: str
) -> None:
    assert old in str(create(api22, **body)["message"])
    assert new in str(create(api, **body)["message"])


def test_embedding_model_availability() -> None:
    with (
        LocalRAGFlowServer(emulate="0.22", llms=["glm-4@ZHIPU-AI"]) as old,
        LocalRAGFlowServer(llms=["glm-4@ZHIPU-AI"]) as new,
    ):
        api22, api = Api(old), Api(new)
        assert create(api22, embedding_model="anything@Builtin")["code"] == 0
        assert create(api22, embedding_model="embedding-3@ZHIPU-AI")["code"] == 0
        assert create(api22, embedding_model="text-embedding-3-small@OpenAI") == {
            "code": 101,
            "message": "Unauthorized model: <text-embedding-3-small@OpenAI>",
        }
        assert create(api22, embedding_model="nope@ZHIPU-AI") == {
            "code": 101,
            "message": "Unsupported model: <nope@ZHIPU-AI>",
        }
        assert create(api, embedding_model="embedding-3@ZHIPU-AI")["code"] == 0
        assert create(api, embedding_model="embedding-3@default@ZHIPU-AI")["code"] == 0
        assert create(api, embedding_model="x@OpenAI") == {
            "code": 102,
            "message": "Provider OpenAI not found for model x@OpenAI.",
        }
        assert create(api, embedding_model="embedding-3@other@ZHIPU-AI") == {
            "code": 102,
            "message": "Instance other not found for model embedding-3@other@ZHIPU-AI.",
        }
        assert create(api, embedding_model="nope@ZHIPU-AI") == {
            "code": 102,
            "message": "Model nope@ZHIPU-AI not found for model embedding",
        }


def test_request_envelope_errors(api: Api, api22: Api) -> None:
    for server in (api, api22):
        xml = server.json("DELETE", "/datasets", headers={"Content-Type": "text/xml"})
        assert xml == {
            "code": 101,
            "message": "Unsupported content type: Expected application/json, got text/xml",
        }
        empty = server.json("DELETE", "/datasets", headers={"Content-Type": "application/json"})
        assert (
            empty["message"] == "Malformed JSON syntax: Missing commas/brackets or invalid encoding"
        )
        text = server.json(
            "POST", "/datasets", data='"a"', headers={"Content-Type": "application/json"}
        )
        assert text["message"] == "Invalid request payload: expected object, got str"


def test_ids_per_line(api: Api, api22: Api) -> None:
    dataset_id = api.dataset("ids")
    repeated = api.json("DELETE", "/datasets", json={"ids": [dataset_id, dataset_id]})
    assert repeated == {
        "code": 101,
        "message": f"Field: <ids> - Message: <Duplicate ids: '{dataset_id}'> - Value: "
        f"<{[dataset_id, dataset_id]}>",
    }
    uuid4 = "bda07f054d3d4d36a4e597e2a04a8da3"
    assert api.json("DELETE", "/datasets", json={"ids": [uuid4]})["code"] == 102
    old = api22.json("DELETE", "/datasets", json={"ids": [uuid4]})
    assert old["code"] == 101 and "Invalid UUID1 format" in old["message"]
    unknown = "d94a8dc02c9711f0930f7fbc369eab6d"
    assert api22.json("PUT", f"/datasets/{unknown}", json={"name": "x"})["code"] == 108
    assert api22.json("PUT", f"/datasets/{api22.dataset('x')}", json={}) == {
        "code": 101,
        "message": "No properties were modified",
    }
    language = api22.json("PUT", f"/datasets/{unknown}", json={"language": "English"})
    assert "Extra inputs are not permitted" in language["message"]


def test_list_parameters(fresh: Api) -> None:
    first, second = fresh.dataset("alpha"), fresh.dataset("beta")
    assert len(fresh.ok("GET", "/datasets", params={"name": ""})) == 2
    assert fresh.ok("GET", "/datasets", params={"id": first, "name": "beta"}) == []
    both = fresh.json("GET", "/datasets", params={"id": first, "ids": second})
    assert both["code"] == 102 and "Should not provide both" in both["message"]
    malformed = fresh.json("GET", "/datasets", params={"id": "nope"})
    assert malformed == {
        "code": 101,
        "message": "Field: <id> - Message: <Invalid UUID format> - Value: <nope>",
    }
    assert fresh.ok("GET", "/datasets", params={"ext": '{"keywords": "ALP"}'})[0]["id"] == first
    status = fresh.ok("GET", "/datasets", params={"include_parsing_status": "true"})
    assert status[0]["parsing_status"]["unstart_count"] == 0
    assert status[0]["embedding_model_name"] == "" and status[0]["nickname"]
