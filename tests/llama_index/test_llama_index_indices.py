"""RAGFlowIndex (the managed-index ingestion sink) against recorded traffic of the local server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document
from llama_index.core.chat_engine import ContextChatEngine
from llama_index.core.chat_engine.types import ChatMode
from llama_index.core.llms import MockLLM
from llama_index.core.schema import TextNode

from ragflow_integrations import AsyncRAGFlow, ParseTimeoutError, RAGFlow, UploadError, ingest
from ragflow_integrations.llama_index import RAGFlowChatEngine, RAGFlowIndex, RAGFlowReader
from ragflow_integrations.llama_index import indices as indices_module
from ragflow_integrations.testing import LocalRAGFlowServer

DOCS = [
    Document(
        id_="doc-falcon",
        text="The Falcon-3 drone carries a payload of 780 grams and flies for 41 minutes.",
        metadata={"file_name": "falcon.txt", "team": "aero", "year": 2030},
    ),
    Document(
        id_="doc-basil",
        text="Grandmother Okafor's basil pesto uses toasted cashews instead of pine nuts.",
        metadata={"file_name": "pesto.txt", "team": "kitchen", "year": 2029},
    ),
]


def _index(client: RAGFlow, aclient: AsyncRAGFlow | None, name: str, poll: float) -> RAGFlowIndex:
    return RAGFlowIndex.from_documents(
        DOCS,
        dataset_name=name,
        create_if_missing=True,
        client=client,
        async_client=aclient,
        poll_interval=poll,
        parse_timeout=60.0,
    )


def _count_uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every item the index hands to the shared ingestion helper."""
    uploaded: list[str] = []
    real_sync, real_async = ingest.ingest_documents, ingest.aingest_documents

    def sync_spy(dataset: Any, items: Any, **kwargs: Any) -> Any:
        uploaded.extend(item.name for item in items)
        return real_sync(dataset, items, **kwargs)

    async def async_spy(dataset: Any, items: Any, **kwargs: Any) -> Any:
        uploaded.extend(item.name for item in items)
        return await real_async(dataset, items, **kwargs)

    monkeypatch.setattr(indices_module, "ingest_documents", sync_spy)
    monkeypatch.setattr(indices_module, "aingest_documents", async_spy)
    return uploaded


@pytest.mark.vcr
def test_from_documents_then_query_then_delete(client: RAGFlow, poll_interval: float) -> None:
    index = _index(client, None, "li-index-query", poll_interval)

    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=2)
    response = engine.query("How long does the Falcon-3 drone fly?")
    assert response.source_nodes
    top = response.source_nodes[0].node
    assert "41 minutes" in top.get_content()
    assert top.metadata["ragflow_ref_doc_id"] == "doc-falcon"  # round-tripped through meta_fields
    assert top.metadata["team"] == "aero"
    assert top.metadata["year"] == 2030
    assert top.source_node is not None
    assert top.ref_doc_id == "doc-falcon"  # the id inserted, as with a VectorStoreIndex
    ragflow_doc_id = top.source_node.metadata["ragflow_document_id"]
    assert top.metadata["ragflow_document_id"] == ragflow_doc_id

    info = index.ref_doc_info
    assert set(info) == {"doc-falcon", "doc-basil"}
    assert all(n.node.ref_doc_id in info for n in response.source_nodes)
    assert info["doc-falcon"].metadata["ragflow_document_id"] == ragflow_doc_id
    assert top.node_id in info["doc-falcon"].node_ids

    index.delete_ref_doc("doc-falcon")

    after = index.as_retriever(similarity_threshold=0.0).retrieve("Falcon-3 drone payload")
    assert all("Falcon-3" not in n.node.get_content() for n in after)
    assert set(index.ref_doc_info) == {"doc-basil"}


@pytest.mark.vcr
def test_refresh_ref_docs_reuploads_only_changed(
    client: RAGFlow, poll_interval: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _index(client, None, "li-index-refresh", poll_interval)
    before = {d.name: d.id for d in index.dataset.iter_documents()}
    uploads = _count_uploads(monkeypatch)

    changed = Document(
        id_="doc-basil",
        text="Grandmother Okafor's basil pesto now uses toasted walnuts.",
        metadata={"file_name": "pesto.txt", "team": "kitchen", "year": 2029},
    )
    new = Document(id_="doc-new", text="The lighthouse at Kerrow Point is painted teal.")
    flags = index.refresh_ref_docs([DOCS[0], changed, new])

    assert flags == [False, True, True]
    assert uploads == ["pesto.txt", "doc-new.txt"]
    after = {d.name: d.id for d in index.dataset.iter_documents()}
    assert after["falcon.txt"] == before["falcon.txt"]  # untouched
    assert after["pesto.txt"] != before["pesto.txt"]  # replaced, stale copy deleted
    assert sorted(after) == ["doc-new.txt", "falcon.txt", "pesto.txt"]
    nodes = index.as_retriever(similarity_top_k=1).retrieve("What nuts are in the basil pesto?")
    assert "walnuts" in nodes[0].node.get_content()

    assert index.refresh_ref_docs([DOCS[0], changed, new]) == [False, False, False]
    assert len(uploads) == 2


@pytest.mark.vcr
async def test_async_insert_update_delete(
    client: RAGFlow, aclient: AsyncRAGFlow, poll_interval: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = RAGFlowIndex(
        dataset_name="li-index-async",
        create_if_missing=True,
        client=client,
        async_client=aclient,
        poll_interval=poll_interval,
        parse_timeout=60.0,
    )
    uploads = _count_uploads(monkeypatch)

    await index.ainsert(DOCS[0])
    flags = await index.arefresh_ref_docs(DOCS)
    assert flags == [False, True]
    assert uploads == ["falcon.txt", "pesto.txt"]

    updated = Document(id_="doc-falcon", text="The Falcon-3 drone now flies for 55 minutes.")
    await index.aupdate_ref_doc(updated)
    nodes = await index.as_retriever(similarity_top_k=1).aretrieve("Falcon-3 flight time")
    assert "55 minutes" in nodes[0].node.get_content()

    await index.adelete_ref_doc("doc-falcon")
    remaining = [d async for d in (await aclient.get_dataset(id=index.dataset_id)).iter_documents()]
    assert [d.meta_fields["ragflow_ref_doc_id"] for d in remaining] == ["doc-basil"]


@pytest.mark.vcr
async def test_reader_reads_back_what_the_index_wrote(
    client: RAGFlow, aclient: AsyncRAGFlow, poll_interval: float
) -> None:
    index = _index(client, aclient, "li-index-reader", poll_interval)

    reader = RAGFlowReader(index.dataset_id, client=client, async_client=aclient)
    documents = sorted(reader.load_data(), key=lambda d: d.metadata["ragflow_ref_doc_id"])
    async_documents = sorted(
        await reader.aload_data(), key=lambda d: d.metadata["ragflow_ref_doc_id"]
    )

    assert [d.metadata["ragflow_ref_doc_id"] for d in documents] == ["doc-basil", "doc-falcon"]
    by_ref = {d.metadata["ragflow_ref_doc_id"]: d for d in documents}
    for original in DOCS:
        read = by_ref[original.id_]
        assert read.text.strip() == original.text
        assert read.metadata["team"] == original.metadata["team"]
        assert read.metadata["year"] == original.metadata["year"]
        assert read.metadata["ragflow_ref_doc_hash"] == original.hash
    assert [(d.id_, d.text, d.metadata) for d in documents] == [
        (d.id_, d.text, d.metadata) for d in async_documents
    ]

    assert [d.ref_doc_id for d in documents] == ["doc-basil", "doc-falcon"]
    chunk_reader = RAGFlowReader(index.dataset_id, mode="chunks", client=client)
    chunks = list(chunk_reader.lazy_load_data())
    assert {c.metadata["ragflow_ref_doc_id"] for c in chunks} == {"doc-basil", "doc-falcon"}
    assert {c.ref_doc_id for c in chunks} == {"doc-basil", "doc-falcon"}
    assert all(c.id_ not in {d.id_ for d in documents} for c in chunks)


def test_node_level_operations_explain_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    index = RAGFlowIndex.__new__(RAGFlowIndex)  # no server needed: these fail before any I/O
    with pytest.raises(NotImplementedError, match=r"whole documents.*insert\(\)"):
        index.insert_nodes([TextNode(text="x")])
    with pytest.raises(NotImplementedError, match="delete_ref_doc"):
        index.delete_nodes(["node-1"])
    with pytest.raises(NotImplementedError, match="from_documents"):
        index._build_index_from_nodes([])
    with pytest.raises(NotImplementedError, match="chunk_method"):
        RAGFlowIndex.from_documents(DOCS, transformations=[object()], dataset_id="x")  # type: ignore[list-item]


def test_needs_one_dataset_identity() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        RAGFlowIndex(api_key="k", base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="exactly one"):
        RAGFlowIndex("a", dataset_name="b", api_key="k", base_url="http://127.0.0.1:1")


@pytest.mark.vcr
def test_chat_engines_from_the_index(client: RAGFlow, poll_interval: float) -> None:
    index = _index(client, None, "li-index-chat", poll_interval)
    question = "How long does the Falcon-3 drone fly?"

    chat = client.create_chat(name="li-index-chat-bot", dataset_ids=[index.dataset_id])
    server_engine = index.as_chat_engine(chat_id=chat.id)
    reply = server_engine.chat(question)
    local_engine = index.as_chat_engine(
        chat_mode=ChatMode.CONTEXT, llm=MockLLM(), similarity_top_k=1
    )
    local_reply = local_engine.chat(question)

    assert isinstance(server_engine, RAGFlowChatEngine)
    assert "41 minutes" in reply.response
    assert reply.source_nodes[0].node.metadata["ragflow_document_name"] == "falcon.txt"
    assert isinstance(local_engine, ContextChatEngine)
    assert "41 minutes" in str(local_reply)  # MockLLM echoes the retrieved context
    assert local_reply.source_nodes[0].node.metadata["ragflow_ref_doc_id"] == "doc-falcon"


@pytest.mark.live
async def test_parse_deadline_raises_with_pending_documents() -> None:
    with LocalRAGFlowServer(parse_delay=2.0) as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url)
        aclient = AsyncRAGFlow(api_key=server.api_key, base_url=server.base_url)
        index = RAGFlowIndex(
            dataset_name="li-deadline",
            create_if_missing=True,
            client=client,
            async_client=aclient,
            parse_timeout=0.3,
            poll_interval=0.05,
        )
        with pytest.raises(ParseTimeoutError) as caught:
            index.insert(DOCS[0])
        with pytest.raises(ParseTimeoutError) as acaught:
            await index.ainsert(DOCS[1])
        await aclient.aclose()
        client.close()

    assert [d.name for d in caught.value.pending] == ["falcon.txt"]
    assert [d.name for d in acaught.value.pending] == ["pesto.txt"]
    assert caught.value.timeout == 0.3


@pytest.mark.vcr
async def test_upload_file_then_delete_by_ref_doc_id(
    client: RAGFlow, aclient: AsyncRAGFlow, poll_interval: float, tmp_path: Path
) -> None:
    index = RAGFlowIndex(
        dataset_name="li-index-files",
        create_if_missing=True,
        client=client,
        async_client=aclient,
        poll_interval=poll_interval,
        parse_timeout=60.0,
    )
    markdown = tmp_path / "kerrow.md"
    markdown.write_text("# Kerrow Point\n\nThe Kerrow Point lighthouse is painted teal.\n")
    html = tmp_path / "tides.html"
    html.write_text("<html><body><p>Spring tides at Kerrow reach 6.2 metres.</p></body></html>")

    markdown_id = index.upload_file(markdown, metadata={"kind": "guide"})
    html_id = await index.aupload_file(html, ref_doc_id="tides")

    info = index.ref_doc_info
    assert info["kerrow.md"].metadata["ragflow_document_id"] == markdown_id
    assert info["kerrow.md"].metadata["kind"] == "guide"
    assert info["tides"].metadata["ragflow_document_id"] == html_id
    retriever = index.as_retriever(similarity_top_k=1)
    assert "teal" in retriever.retrieve("lighthouse colour")[0].node.get_content()
    assert "6.2 metres" in (await retriever.aretrieve("spring tides"))[0].node.get_content()

    index.delete_ref_doc("kerrow.md")
    assert sorted(index.ref_doc_info) == ["tides"]


@pytest.mark.live
def test_failed_update_keeps_the_old_copy() -> None:
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        index = RAGFlowIndex.from_documents(
            DOCS[:1],
            dataset_name="li-failed-update",
            create_if_missing=True,
            client=client,
            poll_interval=0.05,
        )
        before = index.ref_doc_info["doc-falcon"]
        server.inject_fault("/datasets/*/documents", method="POST", status=500, times=1)

        changed = Document(id_="doc-falcon", text="The Falcon-3 drone now flies for 55 minutes.")
        with pytest.raises(UploadError):
            index.update_ref_doc(changed)

        after = index.ref_doc_info["doc-falcon"]
        hits = index.as_retriever(similarity_top_k=1).retrieve("Falcon-3 flight time")
        client.close()

    assert after.metadata["ragflow_document_id"] == before.metadata["ragflow_document_id"]
    assert after.metadata["ragflow_ref_doc_hash"] == DOCS[0].hash
    assert "41 minutes" in hits[0].node.get_content()


@pytest.mark.live
async def test_insert_of_an_existing_id_replaces_it_and_duplicates_are_listed_and_cleaned(
    tmp_path: Path,
) -> None:
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        aclient = AsyncRAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        index = _index(client, aclient, "li-upsert", 0.05)
        dataset = client.get_dataset(id=index.dataset_id)

        def copies() -> list[tuple[str, str]]:
            return sorted(
                (d.name, d.meta_fields["ragflow_ref_doc_id"]) for d in dataset.list_documents()
            )

        index.insert(DOCS[0])  # same id, same text: still one copy
        after_insert = copies()
        await index.ainsert(
            Document(
                id_="doc-falcon",
                text="The Falcon-3 flies 55 minutes.",
                metadata={"file_name": "falcon.txt"},
            )
        )
        after_ainsert = copies()
        hit = index.as_retriever(similarity_top_k=1).retrieve("Falcon-3 flight")[0]
        file = tmp_path / "notes.md"
        file.write_text("# Notes\n\nThe hangar door is green.\n")
        index.upload_file(file)
        index.upload_file(file)  # the same file again: replaces, no notes(1).md
        after_files = copies()

        # A duplicate left behind by an older version (uploaded around the index).
        ingest.ingest_documents(
            dataset,
            [indices_module._to_ingest_item(DOCS[1])],
            poll_interval=0.05,
        )
        info = index.ref_doc_info["doc-basil"]
        flags = index.refresh_ref_docs([DOCS[1]])
        after_refresh = copies()
        info_after = index.ref_doc_info["doc-basil"]
        await aclient.aclose()
        client.close()

    assert after_insert == [("falcon.txt", "doc-falcon"), ("pesto.txt", "doc-basil")]
    assert after_ainsert == after_insert
    assert "55 minutes" in hit.node.get_content()
    assert after_files == sorted([*after_insert, ("notes.md", "notes.md")])
    assert len(info.metadata["ragflow_document_ids"]) == 2
    assert len(info.node_ids) == 2  # one chunk per copy, both listed
    assert flags == [False]  # unchanged: nothing uploaded, the extra copy deleted
    assert after_refresh == after_files
    assert info_after.metadata["ragflow_document_ids"] == [
        info_after.metadata["ragflow_document_id"]
    ]
    assert len(info_after.node_ids) == 1


@pytest.mark.live
def test_documents_own_metadata_exclusions_survive_the_round_trip() -> None:
    from llama_index.core.schema import MetadataMode

    document = Document(
        id_="doc-otters",
        text="Otters hold hands while sleeping.",
        metadata={"file_path": "/data/otters.txt", "topic": "otters", "size": 34},
        excluded_llm_metadata_keys=["file_path", "size"],
        excluded_embed_metadata_keys=["size"],
    )
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        index = RAGFlowIndex.from_documents(
            [document],
            dataset_name="li-exclusions",
            create_if_missing=True,
            client=client,
            poll_interval=0.05,
        )
        node = index.as_retriever().retrieve("otters")[0].node
        (read_back,) = RAGFlowReader(index.dataset_id, client=client).load_data()
        client.close()

    for copy in (node, read_back):
        assert copy.metadata["file_path"] == "/data/otters.txt"
        assert "ragflow_excluded_llm_metadata_keys" not in copy.metadata
        llm_view = copy.get_content(metadata_mode=MetadataMode.LLM)
        embed_view = copy.get_content(metadata_mode=MetadataMode.EMBED)
        assert "topic: otters" in llm_view and "topic: otters" in embed_view
        assert "file_path" not in llm_view and "size" not in llm_view
        assert "file_path: /data/otters.txt" in embed_view and "size" not in embed_view
        assert "ragflow_ref_doc_hash" not in llm_view  # the fixed noisy keys stay hidden too
