"""Protocol details of reference §3.1–§3.16 that the server once got wrong (plain ``requests``)."""

from __future__ import annotations

from typing import Any

from .conftest import CORPUS, Api


def test_retrieval_top_k_is_a_candidate_pool_not_a_result_limit(api: Api) -> None:
    # §3.5: "`top_k` ... candidate pool for vector search ... It does **not** limit the result
    # count — use `page_size`". Full-text matches are candidates whatever top_k is.
    dataset_id = api.dataset("topk")
    files = {f"n{i}.txt": f"Note {i} about the orchard apples.\n".encode() for i in range(5)}
    api.ingest(dataset_id, {**files, **CORPUS})
    body: dict[str, Any] = {
        "dataset_ids": [dataset_id],
        "question": "orchard apples",
        "similarity_threshold": 0.0,
    }
    data = api.ok("POST", "/retrieval", json={**body, "top_k": 1})
    hits = [c for c in data["chunks"] if "orchard" in c["content"]]
    assert len(hits) == 5, data
    assert data["total"] >= 5
    # page_size is what limits the page
    paged = api.ok("POST", "/retrieval", json={**body, "top_k": 1, "page_size": 2})
    assert len(paged["chunks"]) == 2 and paged["total"] == data["total"]
    # a large top_k still ranks the term matches first
    full = api.ok("POST", "/retrieval", json={**body, "top_k": 1024})
    assert all("orchard" in c["content"] for c in full["chunks"][:5])


def test_chat_llm_id_must_be_a_configured_model(api: Api) -> None:
    # §3.8: "`llm_id` (model name, default tenant chat model; unknown → 102 "`llm_id` X doesn't
    # exist")"
    # v0.25+: the default is the tenant's default chat model, as its tenant-model id
    default = api.ok("POST", "/chats", json={"name": "llm-default"})
    assert default["llm_id"] == default["tenant_llm_id"] and len(default["llm_id"]) == 32
    same = api.ok("POST", "/chats", json={"name": "llm-same", "llm_id": default["llm_id"]})
    assert same["llm_id"] == default["llm_id"]
    named = api.ok(
        "POST", "/chats", json={"name": "llm-named", "llm_id": "local-extractive-responder@Builtin"}
    )
    assert named["llm_id"] == "local-extractive-responder@Builtin"
    assert named["tenant_llm_id"] == default["tenant_llm_id"]
    bad = api.json("POST", "/chats", json={"name": "llm-bad", "llm_id": "gpt-nope@OpenAI"})
    assert bad["code"] == 102 and bad["message"] == "`llm_id` gpt-nope@OpenAI doesn't exist"
    for method in ("PUT", "PATCH"):
        update = api.json(method, f"/chats/{default['id']}", json={"llm_id": "gpt-nope"})
        assert update["code"] == 102 and update["message"] == "`llm_id` gpt-nope doesn't exist"
    assert api.ok("GET", f"/chats/{default['id']}")["llm_id"] == default["llm_id"]


def test_completion_llm_id_override_must_be_configured(api: Api) -> None:
    # §3.10: "`llm_id` | per-request model override (must be configured, else 102 "Cannot use
    # specified model X.")"
    chat_id = api.ok("POST", "/chats", json={"name": "llm-override"})["id"]
    body: dict[str, Any] = {"chat_id": chat_id, "question": "hello", "stream": False}
    bad = api.json("POST", "/chat/completions", json={**body, "llm_id": "gpt-nope"})
    assert bad == {
        "code": 100,
        "message": "LookupError('Provider name is required.')",
        "data": None,
    }
    unknown = api.json("POST", "/chat/completions", json={**body, "llm_id": "gpt-4@OpenAI"})
    assert unknown["message"] == "LookupError('Provider OpenAI not found.')"
    good = {**body, "llm_id": "local-extractive-responder@Builtin"}
    assert api.json("POST", "/chat/completions", json=good)["code"] == 0


def test_configured_llms_option() -> None:
    # extra model names (`llms=` / `--llm`) are accepted by chats, completions and the OpenAI
    # endpoint (§3.11: "any other value must be a model configured for the tenant")
    from ragflow_integrations.testing import LocalRAGFlowServer

    with LocalRAGFlowServer(llms=["qwen-plus@Tongyi-Qianwen"]) as server:
        api = Api(server)
        chat = api.ok("POST", "/chats", json={"name": "q", "llm_id": "qwen-plus@Tongyi-Qianwen"})
        assert chat["llm_id"] == "qwen-plus@Tongyi-Qianwen"
        q: dict[str, Any] = {"chat_id": chat["id"], "question": "hi", "stream": False}
        ok = {**q, "llm_id": "qwen-plus@Tongyi-Qianwen"}
        assert api.json("POST", "/chat/completions", json=ok)["code"] == 0
        messages = [{"role": "user", "content": "hi"}]
        for model in ("qwen-plus@Tongyi-Qianwen", "local-extractive-responder@Builtin"):
            body = api.json(
                "POST",
                f"/openai/{chat['id']}/chat/completions",
                json={"model": model, "messages": messages},
            )
            assert body["model"] == model, body
        bad = api.json(
            "POST",
            f"/openai/{chat['id']}/chat/completions",
            json={"model": "gpt-4o", "messages": messages},
        )
        assert bad["code"] == 101 and bad["message"] == "`llm_id` gpt-4o doesn't exist"


def test_chunk_list_keywords_highlight_the_content(api: Api) -> None:
    # §3.4: "`keywords` (full-text match; matching content comes back with highlight markup)";
    # the chunk items are `id, content, document_id, …` — there is no `highlight` key.
    dataset_id = api.dataset("chunk-highlight")
    doc = api.ingest(dataset_id, {"bees.txt": CORPUS["bees.txt"]})["bees.txt"]
    base = f"/datasets/{dataset_id}/documents/{doc['id']}/chunks"
    listed = api.ok("GET", base, params={"keywords": "nectar"})
    assert listed["total"] == 1
    chunk = listed["chunks"][0]
    assert "highlight" not in chunk
    assert "<em>nectar</em>" in chunk["content"]
    # RAGFlow's text chunker starts every chunk with a newline
    assert api.ok("GET", base)["chunks"][0]["content"] == "\n" + CORPUS["bees.txt"].decode().strip()


def test_agents_openai_deprecated_alias(api: Api) -> None:
    # §3.12: "OpenAI-compatible mode: same URL, body {"agent_id", "openai-compatible": true,
    # "messages": […], …} … Deprecated alias: `POST /agents_openai/{agent_id}/chat/completions`."
    dataset_id = api.dataset("agents-openai-kb")
    api.ingest(dataset_id, CORPUS)
    from .test_agents import canvas

    agent_id = api.ok(
        "POST", "/agents", json={"title": "agents-openai", "dsl": canvas(dataset_id)}
    )["id"]
    messages = [{"role": "user", "content": "volcano in Sicily"}]
    path = f"/agents_openai/{agent_id}/chat/completions"
    plain = api.call("POST", path, json={"model": "model", "messages": messages}).json()
    assert plain["object"] == "chat.completion", plain
    assert "Etna" in plain["choices"][0]["message"]["content"]
    response = api.call("POST", path, json={"messages": messages, "stream": True}, stream=True)
    lines = [line for line in response.iter_lines(decode_unicode=True) if line]
    assert lines[-1] == "data: [DONE]"


def test_get_one_chunk(api: Api) -> None:
    # §3.4: "GET `/datasets/{ds}/documents/{doc}/chunks/{chunk_id}` | get raw stored chunk
    # (… internal names such as `content_with_weight`, `docnm_kwd`, `important_kwd`) | R"
    dataset_id = api.dataset("one-chunk")
    doc = api.ingest(dataset_id, {"bees.txt": CORPUS["bees.txt"]})["bees.txt"]
    base = f"/datasets/{dataset_id}/documents/{doc['id']}/chunks"
    added = api.ok("POST", base, json={"content": "Queens lay eggs.", "important_keywords": ["q"]})
    cid = added["chunk"]["id"]
    body = api.json("GET", f"{base}/{cid}")
    assert body["code"] == 0 and "message" not in body  # R envelope
    raw = body["data"]
    assert raw["id"] == cid and raw["content_with_weight"] == "Queens lay eggs."
    assert raw["docnm_kwd"] == "bees.txt" and raw["important_kwd"] == ["q"]
    assert not any(k.startswith("_") or k.endswith("_vec") for k in raw)
    assert raw["question_kwd"] == [] and "tag_kwd" not in raw and "img_id" not in raw
    assert api.json("GET", f"{base}/{'0' * 16}") == {"code": 102, "message": "Chunk not found!"}
    listed = api.json("GET", base, params={"id": "0" * 16})
    assert listed == {"code": 102, "message": f"Chunk not found: {dataset_id}/{'0' * 16}"}


def test_batch_update_status(api: Api) -> None:
    # v0.27 `POST /datasets/{id}/documents/batch-update-status`: per-document outcomes
    dataset_id = api.dataset("batch-status")
    ids = [d["id"] for d in api.upload(dataset_id, {"a.txt": b"a", "b.txt": b"b"})]
    path = f"/datasets/{dataset_id}/documents/batch-update-status"
    empty = api.json("POST", path, json={})
    assert empty == {"code": 101, "message": '"doc_ids" must be a non-empty list.'}
    bad = api.json("POST", path, json={"doc_ids": ids, "status": 2})
    assert bad == {"code": 101, "message": '"Status" must be either 0 or 1:2!'}
    done = api.json("POST", path, json={"doc_ids": ids, "status": 0})
    assert done == {
        "code": 0,
        "message": "success",
        "data": {ids[0]: {"status": "0"}, ids[1]: {"status": "0"}},
    }
    assert {d["status"] for d in api.docs(dataset_id)} == {"0"}
    partial = api.json("POST", path, json={"doc_ids": [ids[0], "nope"], "status": "1"})
    assert partial["code"] == 500 and partial["message"] == "Partial failure"
    assert partial["data"] == {ids[0]: {"status": "1"}, "nope": {"error": "Document not found"}}


def test_dataset_list_desc_is_a_strict_bool(api: Api) -> None:
    # §2.5: "`desc`: datasets list uses pydantic bool (accepts true/false/1/0/yes/no…)"; §3.1's
    # list is pydantic-validated, so an uninterpretable value is a code 101 validation error.
    bad = api.json("GET", "/datasets", params={"desc": "maybe"})
    assert bad["code"] == 101 and "<desc>" in bad["message"]
    for value in ("true", "False", "1", "0", "yes", "NO", "on", "off"):
        assert api.json("GET", "/datasets", params={"desc": value})["code"] == 0, value


def test_old_server_dataset_list_desc_is_also_a_bool(api22: Api) -> None:
    # v0.22 validates the list query with the same pydantic model
    bad = api22.json("GET", "/datasets", params={"desc": "maybe"})
    assert bad["code"] == 101 and "<desc>" in bad["message"]


def test_default_prompt_config_parameters_include_date(api: Api) -> None:
    # §3.8: "Defaults filled when missing: … parameters incl. `date`."
    chat = api.ok("POST", "/chats", json={"name": "date-param"})
    keys = [p["key"] for p in chat["prompt_config"]["parameters"]]
    assert keys[:1] == ["knowledge"] and "date" in keys
    # an optional parameter: completions without `date` still answer
    body = {"chat_id": chat["id"], "question": "hello", "stream": False}
    assert api.json("POST", "/chat/completions", json=body)["code"] == 0
