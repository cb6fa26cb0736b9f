"""RAGFlowIndex writes and reads under stress: user metadata named like the package's own keys,
``ref_doc_id`` = the inserted id, concurrent upserts of one id, copies left by other processes,
documents of earlier versions, and copy lookups whose cost does not grow with the dataset.
Live against the local server in both emulation modes (no cassette: the writes race)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from llama_index.core import Document
from llama_index.core.llms import MockLLM

from ragflow_integrations import RAGFlow
from ragflow_integrations.ingest import IngestItem, ingest_documents
from ragflow_integrations.llama_index import RAGFlowIndex, RAGFlowReader, RAGFlowRetriever
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

# user keys named like the values the package returns or stores
USER_METADATA: dict[str, Any] = {
    "document_id": "my-own-document-id",
    "document_name": "My own name",
    "similarity": "high",
    "dataset_id": "my-own-dataset",
    "chunk_id": "my-own-chunk",
    "ref_doc_id": "not-the-inserted-id",
    "ref_doc_hash": "my-hash",
    "langchain_id": "not-a-caller-id",
    "topic": "otters",
}
TEXT = "Sea otters hold hands while they sleep so that they do not drift apart."
LOOSE = {"similarity_threshold": 0.0, "similarity_top_k": 10}


@pytest.fixture(scope="module", params=["0.22", "0.27"])
def server(request: pytest.FixtureRequest) -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer(emulate=request.param) as srv:
        yield srv


@pytest.fixture
def client(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    with RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0) as ragflow:
        yield ragflow


@pytest.fixture
def index(client: RAGFlow, request: pytest.FixtureRequest) -> RAGFlowIndex:
    return RAGFlowIndex(
        dataset_name=f"li-{request.node.name}"[:100],
        create_if_missing=True,
        client=client,
        poll_interval=0.02,
        parse_timeout=30,
    )


def _stored(index: RAGFlowIndex) -> list[Any]:
    return list(index.dataset.iter_documents())


def _user_keys(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if not k.startswith("ragflow_")}


async def test_user_metadata_and_the_inserted_id_come_back(
    index: RAGFlowIndex, client: RAGFlow
) -> None:
    await index.ainsert(Document(id_="otters", text=TEXT, metadata=USER_METADATA))
    info = index.ref_doc_info
    assert list(info) == ["otters"]
    assert _user_keys(info["otters"].metadata) == USER_METADATA

    retriever = index.as_retriever(**LOOSE)
    hits = retriever.retrieve("otters sleep") + await retriever.aretrieve("otters sleep")
    response = index.as_query_engine(llm=MockLLM(), **LOOSE).query("Why do otters hold hands?")
    nodes = [h.node for h in hits + response.source_nodes]
    assert len(nodes) == 3
    for node in nodes:
        assert node.ref_doc_id == "otters" and node.ref_doc_id in info
        assert _user_keys(node.metadata) == USER_METADATA
        assert node.metadata["ragflow_document_name"] == "otters.txt"
        assert node.metadata["ragflow_ref_doc_id"] == "otters"
        assert isinstance(node.metadata["ragflow_similarity"], float)

    for mode in ("documents", "chunks"):
        reader = RAGFlowReader(index.dataset_id, mode=mode, client=client)
        read = reader.load_data() + await reader.aload_data()
        assert len(read) == 2
        for document in read:
            assert document.ref_doc_id == "otters"
            assert _user_keys(document.metadata) == USER_METADATA
            assert (
                document.metadata["ragflow_document_id"]
                == info["otters"].metadata["ragflow_document_id"]
            )


async def test_reserved_prefix_is_refused_before_any_upload(
    index: RAGFlowIndex, tmp_path: Path
) -> None:
    bad = Document(id_="bad", text=TEXT, metadata={"ragflow_document_id": "x", "topic": "t"})
    with pytest.raises(ValueError, match=r"\['ragflow_document_id'\].*reserved"):
        index.insert(bad)
    with pytest.raises(ValueError, match="reserved"):
        await index.ainsert_documents([Document(id_="fine", text=TEXT), bad])
    file = tmp_path / "notes.md"
    file.write_text("# Notes\n\nOtters.\n")
    with pytest.raises(ValueError, match="reserved"):
        index.upload_file(file, metadata={"ragflow_kind": "notes"})
    assert _stored(index) == []


def _versions(count: int) -> list[Document]:
    return [Document(id_="x", text=f"Version {n} of the note about otters.") for n in range(count)]


async def test_concurrent_writes_of_one_id_leave_one_copy(index: RAGFlowIndex) -> None:
    versions = _versions(8)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(index.insert, versions)) == [None] * 8  # nobody got an error
    assert len(_stored(index)) == 1

    outcomes = await asyncio.gather(*(index.ainsert(d) for d in versions), return_exceptions=True)
    assert outcomes == [None] * 8
    assert len(_stored(index)) == 1

    # sync writers in threads and async writers on the loop at the same time
    threads = [threading.Thread(target=index.insert, args=(d,)) for d in versions[:4]]
    for thread in threads:
        thread.start()
    await asyncio.gather(*(index.ainsert(d) for d in versions[4:]))
    for thread in threads:
        thread.join()
    await asyncio.gather(
        *(index.aupdate_ref_doc(d) for d in versions[:4]),
        *(index.adelete_ref_doc("x") for _ in range(2)),
        *(index.aupdate_ref_doc(d) for d in versions[4:]),
    )
    (stored,) = _stored(index)
    assert stored.name == "x.txt"
    hits = index.as_retriever(**LOOSE).retrieve("note about otters")
    assert [h.node.ref_doc_id for h in hits] == ["x"]


def _other_process_copy(index: RAGFlowIndex, text: str, stamp: str) -> None:
    """A copy of ``dup`` as another process's writer would leave it (no shared lock)."""
    meta = {"ragflow_ref_doc_id": "dup", "ragflow_written_at": stamp, "topic": "otters"}
    ingest_documents(
        index.dataset, [IngestItem("dup.txt", text.encode(), meta)], poll_interval=0.02
    )


async def test_copies_left_by_other_processes_are_read_once_then_healed(
    index: RAGFlowIndex, client: RAGFlow
) -> None:
    _other_process_copy(index, "Otters: middle copy of the note.", "20260101T000002.0Z")
    _other_process_copy(index, "Otters: newest copy of the note.", "20260101T000003.0Z")
    _other_process_copy(index, "Otters: oldest copy of the note.", "20260101T000001.0Z")
    assert len(_stored(index)) == 3

    retriever = RAGFlowRetriever([index.dataset_id], client=client, **LOOSE)
    for hits in (retriever.retrieve("copy of the note"), await retriever.aretrieve("note")):
        assert [(h.node.ref_doc_id, h.node.get_content()) for h in hits] == [
            ("dup", "Otters: newest copy of the note.")
        ]
    assert len(index.ref_doc_info["dup"].metadata["ragflow_document_ids"]) == 3

    index.insert(Document(id_="dup", text="Otters: the healed note."))
    (left,) = _stored(index)
    assert left.name == "dup.txt"
    assert [h.node.get_content() for h in retriever.retrieve("note")] == [
        "Otters: the healed note."
    ]


def test_documents_of_earlier_versions_are_read_and_replaced(index: RAGFlowIndex) -> None:
    legacy = {"ref_doc_id": "old", "ref_doc_hash": "h", "topic": "otters"}  # before 'ragflow_'
    ingest_documents(index.dataset, [IngestItem("old.txt", TEXT.encode(), legacy)])
    (hit,) = index.as_retriever(**LOOSE).retrieve("otters sleep")
    assert hit.node.ref_doc_id == "old"
    assert _user_keys(hit.node.metadata) == {"topic": "otters"}
    assert list(index.ref_doc_info) == ["old"]

    index.insert(Document(id_="old", text="Otters eat sea urchins."))
    (left,) = _stored(index)
    assert left.meta_fields["ragflow_ref_doc_id"] == "old" and "ref_doc_id" not in left.meta_fields
    index.delete_ref_doc("old")
    assert _stored(index) == []


def _lookups(log: list[str]) -> list[str]:
    """Document listings that look for copies (not the parse polls, which list by ``ids``)."""
    return [url for url in log if "ids" not in parse_qs(urlsplit(url).query)]


def test_an_insert_costs_the_same_requests_in_a_bigger_dataset(
    server: LocalRAGFlowServer,
) -> None:
    log: list[str] = []
    session = requests.Session()
    session.hooks["response"].append(
        lambda r, *a, **k: log.append(r.request.url) if r.request.method == "GET" else None
    )
    counts = {}
    with RAGFlow(api_key=server.api_key, base_url=server.base_url, session=session) as client:
        for size in (20, 400):
            dataset = client.create_dataset(name=f"li-lookups-{size}")
            dataset.upload_documents(
                [
                    {
                        "display_name": f"filler-{n}.txt",
                        "blob": b"filler",
                        "meta_fields": {"ragflow_ref_doc_id": f"other-{n}"},
                    }
                    for n in range(size)
                ]
            )
            index = RAGFlowIndex(dataset.id, client=client, poll_interval=0.02)
            log.clear()
            index.insert(Document(id_="new", text="A note about herons."))
            index.insert(Document(id_="new", text="A changed note about herons."))
            index.delete_ref_doc("new")
            counts[size] = len(_lookups([u for u in log if u.split("?")[0].endswith("/documents")]))
            assert [d.meta_fields["ragflow_ref_doc_id"] for d in dataset.list_documents()][:1] == [
                f"other-{size - 1}"
            ]
    if server.emulate == "0.27":  # a server that filters listings by metadata: one lookup each
        assert counts == {20: 3, 400: 3}
    else:  # may ignore the filter: the client walks the listing and filters it (still correct)
        assert counts[20] >= 3
