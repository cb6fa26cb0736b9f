"""The async paths of the LlamaIndex adapters never block the event loop.

Each test runs against a local server and checks that the ``a*`` call either lets the loop run
while it waits (a file that only becomes readable later) or sends no request through the sync
transport (every request goes through ``AsyncRAGFlow`` over ``httpx``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from ragflow_integrations import DataSet, NotFoundError, RAGFlow
from ragflow_integrations._transport import sync as sync_transport
from ragflow_integrations.llama_index import RAGFlowIndex, RAGFlowToolSpec
from ragflow_integrations.testing import LocalRAGFlowServer


def _record_sync_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record ``METHOD path`` of every request sent through the sync transport."""
    sent: list[str] = []
    real = sync_transport.SyncTransport._send

    def spy(self: Any, spec: Any) -> Any:
        sent.append(f"{spec.method} {spec.path}")
        return real(self, spec)

    monkeypatch.setattr(sync_transport.SyncTransport, "_send", spy)
    return sent


def _own(server: LocalRAGFlowServer) -> dict[str, Any]:
    return {"api_key": server.api_key, "base_url": server.base_url, "max_retries": 0}


@pytest.mark.live
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
async def test_aupload_file_reads_the_file_off_the_event_loop(tmp_path: Path) -> None:
    """A file whose bytes arrive only after the loop has run once: reading it on the loop would
    deadlock the writer (which waits for the loop) until its timeout."""
    fifo = tmp_path / "alpacas.txt"
    os.mkfifo(fifo)
    loop = asyncio.get_running_loop()
    loop_ran = threading.Event()
    saw_loop: list[bool] = []

    def writer() -> None:
        with open(fifo, "wb") as out:  # returns once the reader has opened the FIFO
            loop.call_soon_threadsafe(loop_ran.set)
            saw_loop.append(loop_ran.wait(timeout=3.0))
            out.write(b"Alpacas hum when they are content.")

    with LocalRAGFlowServer() as server:
        index = RAGFlowIndex(
            dataset_name="li-async-fifo", create_if_missing=True, poll_interval=0.05, **_own(server)
        )
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        document_id = await index.aupload_file(fifo, ref_doc_id="alpacas")
        thread.join(timeout=5.0)
        info = index.ref_doc_info

    assert saw_loop == [True]  # the event loop kept running while the file was read
    assert info["alpacas"].metadata["ragflow_document_id"] == document_id
    assert info["alpacas"].metadata["ragflow_document_name"] == "alpacas.txt"


@pytest.mark.live
async def test_to_tool_list_async_describes_datasets_through_the_async_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalRAGFlowServer() as server:
        with RAGFlow(**_own(server)) as client:
            dataset = client.create_dataset(name="li-async-tools", description="Field notes.")
        spec = RAGFlowToolSpec([dataset.id], describe_datasets=True, **_own(server))
        sent = _record_sync_requests(monkeypatch)
        tools = await spec.to_tool_list_async()
        sent_async = list(sent)
        expected = spec.to_tool_list()

    assert sent_async == []  # no sync request (and no thread) inside the event loop
    assert sent  # the sync to_tool_list does use the sync client: the spy sees it
    assert [t.metadata.name for t in tools] == [t.metadata.name for t in expected]
    assert [t.metadata.description for t in tools] == [t.metadata.description for t in expected]
    assert "- li-async-tools (id " in tools[0].metadata.description
    assert "Field notes." in tools[0].metadata.description


@pytest.mark.live
async def test_acreate_and_afrom_documents_open_and_fill_the_dataset_asynchronously(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = [
        Document(id_="doc-otter", text="Sea otters hold hands while sleeping."),
        Document(id_="doc-gecko", text="Geckos climb glass with dry adhesion."),
    ]
    with LocalRAGFlowServer() as server:
        own = {**_own(server), "poll_interval": 0.05}
        sent = _record_sync_requests(monkeypatch)
        index = await RAGFlowIndex.afrom_documents(
            documents, dataset_name="li-async-open", create_if_missing=True, **own
        )
        by_id = await RAGFlowIndex.acreate(index.dataset_id, **own)
        by_name = await RAGFlowIndex.acreate(dataset_name="li-async-open", **own)
        await by_id.ainsert(Document(id_="doc-newt", text="Newts regrow their limbs."))
        hits = await by_name.as_retriever(similarity_top_k=1).aretrieve("otters sleeping")
        with pytest.raises(NotFoundError, match="create_if_missing=True"):
            await RAGFlowIndex.acreate(dataset_name="li-async-missing", **own)
        sent_async = list(sent)
        info = by_name.ref_doc_info  # the sync methods work on an index opened asynchronously
        with RAGFlow(**_own(server)) as client:
            fetched = client.get_dataset(id=index.dataset_id)

    assert sent_async == []  # not one request through the sync transport inside the loop
    assert sent  # the sync ref_doc_info does use it: the spy sees it
    assert by_id.dataset_id == by_name.dataset_id == index.dataset_id == fetched.id
    assert isinstance(by_name.dataset, DataSet)
    assert by_name.dataset.name == fetched.name == "li-async-open"
    assert hits[0].node.metadata["ragflow_ref_doc_id"] == "doc-otter"
    assert sorted(info) == ["doc-gecko", "doc-newt", "doc-otter"]


@pytest.mark.live
async def test_afrom_documents_rejects_transformations_like_from_documents() -> None:
    with (
        LocalRAGFlowServer() as server,
        pytest.raises(NotImplementedError, match="transformations"),
    ):
        await RAGFlowIndex.afrom_documents(
            [], dataset_name="x", transformations=[SentenceSplitter()], **_own(server)
        )
