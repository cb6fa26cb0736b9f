"""Sync and async clients send identical requests; ingest and mapping helpers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ragflow_integrations import AsyncRAGFlow, Chunk, RAGFlow, UploadError
from ragflow_integrations.ingest import IngestItem, aingest_documents, ingest_documents
from ragflow_integrations.mapping import chunk_to_record

from .fakes import FakeServer, Recorded, async_client, chat_events, err, ok, sse, sync_client

DOC = {"id": "x", "name": "a.txt", "dataset_id": "d", "run": "DONE", "progress": 1.0}


def scripted() -> FakeServer:
    server = FakeServer()
    server.on("GET", "/api/v1/datasets", ok([{"id": "d", "name": "kb"}], total_datasets=1))
    server.on("POST", "/api/v1/datasets", ok({"id": "d", "name": "kb"}))
    server.on("DELETE", "/api/v1/datasets", ok())
    server.on("GET", "/api/v1/datasets/d/documents", ok({"total": 1, "docs": [DOC]}))
    server.on("POST", "/api/v1/datasets/d/documents", ok([DOC]))
    server.on("POST", "/api/v1/datasets/d/chunks", ok())
    server.on(
        "POST", "/api/v1/retrieval", ok({"total": 1, "chunks": [{"id": "c"}], "doc_aggs": []})
    )
    server.on("POST", "/api/v1/chats", ok({"id": "c1", "name": "chat"}))
    server.on(
        "POST",
        "/api/v1/chat/completions",
        lambda r: sse(chat_events("a", "b")) if r.json.get("stream") else ok({"answer": "ab"}),
    )
    server.on("GET", "/api/v1/agents", ok({"canvas": [{"id": "g"}], "total": 1}))
    return server


def sync_script(client: RAGFlow) -> list[Any]:
    out: list[Any] = [client.list_datasets(page=2, page_size=10, name="kb")]
    ds = client.create_dataset("kb", description="d", parser_config={"layout_recognize": False})
    ds.upload_documents([{"display_name": "a.txt", "blob": b"hello"}])
    out.append(ds.parse_documents(["x"], poll_interval=0))
    out.append(
        client.retrieve(
            "q",
            dataset_ids=["d"],
            limit=5,
            highlight=True,
            metadata_condition={"logic": "and", "conditions": []},
        )
    )
    out.append(client.create_chat("chat", dataset_ids=["d"], prompt={"opener": "hi"}))
    out.append(client.chat_completion("c1", "q"))
    out.append([e.content for e in client.chat_completion("c1", "q", stream=True)])
    out.append(client.list_agents())
    client.delete_datasets(["d"])
    return out


async def async_script(client: AsyncRAGFlow) -> list[Any]:
    out: list[Any] = [await client.list_datasets(page=2, page_size=10, name="kb")]
    ds = await client.create_dataset(
        "kb", description="d", parser_config={"layout_recognize": False}
    )
    await ds.upload_documents([{"display_name": "a.txt", "blob": b"hello"}])
    out.append(await ds.parse_documents(["x"], poll_interval=0))
    out.append(
        await client.retrieve(
            "q",
            dataset_ids=["d"],
            limit=5,
            highlight=True,
            metadata_condition={"logic": "and", "conditions": []},
        )
    )
    out.append(await client.create_chat("chat", dataset_ids=["d"], prompt={"opener": "hi"}))
    out.append(await client.chat_completion("c1", "q"))
    out.append([e.content async for e in await client.chat_completion("c1", "q", stream=True)])
    out.append(await client.list_agents())
    await client.delete_datasets(["d"])
    return out


def shape(values: list[Any]) -> list[Any]:
    def one(value: Any) -> Any:
        if isinstance(value, list):
            return [one(v) for v in value]
        dump = getattr(value, "model_dump", None)
        return dump() if dump else value

    return [one(v) for v in values]


def normalise_multipart(request: Recorded) -> tuple[Any, ...]:
    comparable = request.comparable()
    if comparable[3] == "multipart/form-data":
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        parts = [p.strip() for p in request.body.split(b"--" + boundary) if p.strip(b"-\r\n")]
        return (*comparable, [p.split(b"\r\n\r\n", 1)[1] for p in parts])
    return comparable


async def test_sync_and_async_clients_send_identical_requests() -> None:
    sync_server, async_server = scripted(), scripted()
    sync_result = sync_script(sync_client(sync_server))
    async_result = await async_script(async_client(async_server))
    assert [normalise_multipart(r) for r in sync_server.requests] == [
        normalise_multipart(r) for r in async_server.requests
    ]
    assert shape(sync_result) == shape(async_result)
    assert len(sync_server.requests) == 12  # 11 calls + one version probe


# -- ingest -----------------------------------------------------------------------------------


def ingest_server(fail_second_batch: bool = False, version: str | None = "v0.27.0") -> FakeServer:
    server = FakeServer(version)
    uploads = iter(range(100))

    def upload(request: Recorded) -> Any:
        names = re.findall(rb'filename="([^"]+)"', request.body)
        if fail_second_batch and next(uploads) == 1:
            return err(500, "disk full")
        return ok([{"id": f"id-{n.decode()}", "name": n.decode()} for n in names])

    def docs(request: Recorded) -> Any:
        ids = [v for k, v in request.query if k == "ids"]
        return ok(
            {
                "total": len(ids),
                "docs": [{"id": i, "name": i, "run": "DONE", "progress": 1} for i in ids],
            }
        )

    server.on("POST", "/api/v1/datasets/d/documents", upload)
    server.on("POST", "/api/v1/datasets/d/chunks", ok())
    server.on("GET", "/api/v1/datasets/d/documents", docs)
    return server


def items(n: int) -> list[IngestItem]:
    return [IngestItem(f"f{i}.txt", b"x" * (i + 1)) for i in range(n)]


def test_ingest_batches_uploads_one_parse_per_batch_one_poll_per_round() -> None:
    server = ingest_server()
    client = sync_client(server)
    docs = ingest_documents(
        client.wrap("dataset", {"id": "d"}), items(5), batch_size=2, poll_interval=0
    )
    assert len(docs) == 5
    assert len(server.calls("POST", "/api/v1/datasets/d/documents")) == 3
    assert len(server.calls("POST", "/api/v1/datasets/d/chunks")) == 3
    assert len(server.calls("GET")) == 1


async def test_async_ingest_goes_on_after_a_failed_batch_and_accounts_for_every_file() -> None:
    server = ingest_server(fail_second_batch=True)
    client = async_client(server)
    with pytest.raises(UploadError) as info:
        await aingest_documents(client.wrap("dataset", {"id": "d"}), items(6), batch_size=2)
    assert [d.name for d in info.value.uploaded] == ["f0.txt", "f1.txt", "f4.txt", "f5.txt"]
    assert info.value.failed == ["f2.txt", "f3.txt"]
    assert len(server.calls("POST", "/api/v1/datasets/d/chunks")) == 2
    assert "disk full" in info.value.message


def test_ingest_meta_fields_are_set_by_one_batch_update_per_value_set() -> None:
    server = ingest_server()
    server.on("POST", "/api/v1/datasets/d/metadata/update", ok({"updated": 2, "matched_docs": 2}))
    client = sync_client(server)
    ingest_documents(
        client.wrap("dataset", {"id": "d"}),
        [
            IngestItem("a.txt", b"a", {"lang": "en"}),
            IngestItem("b.txt", b"b", {"lang": "en"}),
            IngestItem("c.txt", b"c", {"lang": "fr", "n": 2}),
        ],
        poll_interval=0,
    )
    assert server.calls("PATCH") == []
    assert [c.json for c in server.calls("POST", "/api/v1/datasets/d/metadata/update")] == [
        {
            "selector": {"document_ids": ["id-a.txt", "id-b.txt"]},
            "updates": [{"key": "lang", "value": "en"}],
            "deletes": [],
        },
        {
            "selector": {"document_ids": ["id-c.txt"]},
            "updates": [{"key": "lang", "value": "fr"}, {"key": "n", "value": 2}],
            "deletes": [],
        },
    ]


def test_ingest_meta_fields_on_an_old_server_take_one_update_per_document() -> None:
    server = ingest_server(version=None)
    server.on("PUT", "/api/v1/datasets/d/documents/.*", ok({"meta_fields": {"lang": "en"}}))
    client = sync_client(server)
    ingest_documents(
        client.wrap("dataset", {"id": "d"}),
        [IngestItem("a.txt", b"a", {"lang": "en"})],
        wait=False,
    )
    assert server.calls("PUT")[0].json == {"meta_fields": {"lang": "en"}}
    assert server.calls("POST", "/api/v1/datasets/d/metadata/update") == []


# -- mapping ----------------------------------------------------------------------------------


def test_chunk_to_record_from_retrieval_chunk() -> None:
    chunk = Chunk.model_validate(
        {
            "id": "c1",
            "content": "text",
            "document_id": "doc",
            "document_keyword": "a.pdf",
            "dataset_id": "d",
            "similarity": 0.9,
            "vector_similarity": 0.8,
            "term_similarity": 1.0,
            "positions": [[1, 2, 3, 4, 5]],
            "image_id": "",
            "important_keywords": ["k"],
            "document_metadata": {"author": "ann", "similarity": "the user's own"},
        }
    )
    record = chunk_to_record(chunk)
    assert (record.id, record.text, record.score) == ("c1", "text", 0.9)
    assert record.metadata == {
        "author": "ann",
        "similarity": "the user's own",
        "ragflow_chunk_id": "c1",
        "ragflow_document_id": "doc",
        "ragflow_document_name": "a.pdf",
        "ragflow_dataset_id": "d",
        "ragflow_similarity": 0.9,
        "ragflow_vector_similarity": 0.8,
        "ragflow_term_similarity": 1.0,
        "ragflow_positions": [[1, 2, 3, 4, 5]],
        "ragflow_important_keywords": ["k"],
    }
    assert (record.document_id, record.document_name) == ("doc", "a.pdf")


def test_chunk_to_record_uses_given_document_meta_and_seed_names() -> None:
    chunk = Chunk.model_validate(
        {"chunk_id": "c2", "content_with_weight": "t", "docnm_kwd": "b.txt", "kb_id": ["d"]}
    )
    record = chunk_to_record(chunk, document_meta={"year": 2024})
    assert record.id == "c2" and record.text == "t" and record.score is None
    assert record.metadata["ragflow_document_name"] == "b.txt"
    assert record.metadata["ragflow_dataset_id"] == "d"
    assert record.metadata["year"] == 2024


def test_ingest_reports_documents_whose_parse_could_not_start() -> None:
    server = ingest_server()
    server.on(
        "POST", "/api/v1/datasets/d/chunks", err(503, "busy", status=503), ok()
    )  # first batch's parse start fails
    client = sync_client(server)
    with pytest.raises(UploadError) as info:
        ingest_documents(client.wrap("dataset", {"id": "d"}), items(3), batch_size=2)
    error = info.value
    assert [d.name for d in error.uploaded] == ["f0.txt", "f1.txt", "f2.txt"]
    assert [d.name for d in error.unparsed] == ["f0.txt", "f1.txt"]
    assert error.failed == []
    assert "parsing could not be started" in error.message
