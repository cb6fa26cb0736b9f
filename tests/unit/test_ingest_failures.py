"""Ingestion and parse waiting under lost connections: every file accounted for, timeouts kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ragflow_integrations import APIConnectionError, ParseTimeoutError, UploadError
from ragflow_integrations.ingest import IngestItem, aingest_documents, ingest_documents

from .fakes import Answer, FakeServer, Recorded, async_client, ok, sync_client

DOCS = "/api/v1/datasets/d/documents"
CHUNKS = "/api/v1/datasets/d/chunks"
ITEMS = [IngestItem(f"{n}.txt", f"file {n}".encode()) for n in "abc"]


def stored(record: Recorded) -> Answer:
    """Echo the uploaded files as stored documents (ids = names without extension)."""
    names = [part.split('"')[0] for part in record.body.decode().split('filename="')[1:]]
    return ok([{"id": n.split(".")[0], "name": n, "run": "UNSTART"} for n in names])


def running(*ids: str) -> Answer:
    docs = [{"id": i, "name": f"{i}.txt", "run": "RUNNING", "progress": 0.5} for i in ids]
    return ok({"total": len(docs), "docs": docs})


@pytest.mark.parametrize("fail", ["drop", "read", "connect"])
def test_upload_lost_connection_fails_only_its_batch(fail: str) -> None:
    server = FakeServer().on("POST", DOCS, Answer(fail=fail), stored)
    server.on("POST", CHUNKS, ok())
    client = sync_client(server)
    with pytest.raises(UploadError) as info:
        ingest_documents(client.wrap("dataset", {"id": "d"}), ITEMS, batch_size=1, wait=False)
    error = info.value
    assert error.failed == ["a.txt"]
    assert [d.name for d in error.uploaded] == ["b.txt", "c.txt"] and error.unparsed == []
    assert isinstance(error.__cause__, APIConnectionError)
    assert ("may have stored them" in error.message) == (fail != "connect")
    assert [r.json for r in server.calls("POST", CHUNKS)] == [
        {"document_ids": ["b"]},
        {"document_ids": ["c"]},
    ]


async def test_async_parse_start_lost_connection_reports_the_batch_unparsed() -> None:
    server = FakeServer().on("POST", DOCS, stored)
    server.on("POST", CHUNKS, Answer(fail="drop"), ok())
    client = async_client(server)
    with pytest.raises(UploadError) as info:
        await aingest_documents(
            client.wrap("dataset", {"id": "d"}), ITEMS, batch_size=2, wait=False
        )
    error = info.value
    assert [d.name for d in error.uploaded] == ["a.txt", "b.txt", "c.txt"]
    assert [d.name for d in error.unparsed] == ["a.txt", "b.txt"] and error.failed == []
    assert "retry with dataset.parse_documents" in error.message
    assert len(server.calls("POST", CHUNKS)) == 2


def test_garbled_upload_answer_is_a_batch_failure_whose_files_may_be_stored() -> None:
    garbled = Answer(headers={"Content-Type": "text/html"}, body=b"<html>proxy</html>")
    server = FakeServer().on("POST", DOCS, garbled, stored)
    server.on("POST", CHUNKS, ok())
    client = sync_client(server)
    with pytest.raises(UploadError) as info:
        ingest_documents(client.wrap("dataset", {"id": "d"}), ITEMS[:2], batch_size=1, wait=False)
    assert info.value.failed == ["a.txt"] and [d.name for d in info.value.uploaded] == ["b.txt"]
    assert "may have stored them" in info.value.message


@pytest.mark.parametrize("fail", ["drop", "connect"])
def test_parse_timeout_survives_a_failed_cancel(fail: str) -> None:
    server = FakeServer().on("POST", CHUNKS, ok())
    server.on("DELETE", CHUNKS, Answer(fail=fail))
    server.on("GET", DOCS, running("a"))
    client = sync_client(server, max_retries=1)
    with pytest.raises(ParseTimeoutError) as info:
        client.wrap("dataset", {"id": "d"}).parse_documents(
            ["a"], timeout=0, poll_interval=0, cancel_on_timeout=True
        )
    error = info.value
    assert [d.id for d in error.pending] == ["a"] and error.cancelled is False
    assert isinstance(error.cancel_error, APIConnectionError)
    assert error.__cause__ is error.cancel_error
    assert "cancelling the parse failed" in error.message
    assert len(server.calls("DELETE")) == 2  # the cancel is idempotent: retried once


def test_parse_timeout_with_a_refused_cancel_keeps_the_server_message() -> None:
    refused: dict[str, Any] = {"code": 102, "message": "Can't stop parsing document a"}
    server = FakeServer().on("POST", CHUNKS, ok())
    server.on("DELETE", CHUNKS, Answer(body=json.dumps(refused).encode()))
    server.on("GET", DOCS, running("a"))
    client = sync_client(server)
    with pytest.raises(ParseTimeoutError) as info:
        client.wrap("dataset", {"id": "d"}).parse_documents(
            ["a"], timeout=0, poll_interval=0, cancel_on_timeout=True
        )
    assert info.value.cancel_error is not None and not info.value.cancelled
    assert "Can't stop parsing document a" in str(info.value)
