"""Offline checks of the LlamaIndex adapters' conversions (no server, no cassette)."""

from __future__ import annotations

from typing import Any

from llama_index.core import Document
from llama_index.core.schema import MetadataMode, NodeRelationship

from ragflow_integrations import Chunk, StreamEvent
from ragflow_integrations.llama_index._nodes import chunk_to_node
from ragflow_integrations.llama_index.indices import (
    REF_DOC_HASH_KEY,
    REF_DOC_ID_KEY,
    _file_name,
    _plan_refresh,
    _to_ingest_item,
)
from ragflow_integrations.llama_index.llms import _StreamState

CHUNK = Chunk.model_validate(
    {
        "id": "chunk-1",
        "content": "The Zephyr-9 rotor turns at 4200 rpm.",
        "document_id": "doc-1",
        "document_keyword": "zephyr.txt",
        "dataset_id": "ds-1",
        "image_id": "ds-1-chunk-1",
        "positions": [[1, 2, 3, 4, 5]],
        "similarity": 0.81,
        "vector_similarity": 0.7,
        "term_similarity": 0.9,
        "document_metadata": {"team": "aero"},
    }
)


def test_chunk_becomes_a_scored_node_linked_to_its_document() -> None:
    scored = chunk_to_node(CHUNK)
    node = scored.node

    assert node.node_id == "chunk-1"
    assert scored.score == 0.81
    assert node.get_content() == "The Zephyr-9 rotor turns at 4200 rpm."
    assert node.relationships[NodeRelationship.SOURCE] == node.source_node
    source = node.source_node
    assert source is not None
    assert source.node_id == "doc-1"  # not inserted through RAGFlowIndex: the RAGFlow document
    assert source.metadata["ragflow_document_name"] == "zephyr.txt"
    assert node.metadata["ragflow_document_name"] == "zephyr.txt"
    assert node.metadata["ragflow_vector_similarity"] == 0.7
    assert node.metadata["ragflow_positions"] == [[1, 2, 3, 4, 5]]
    assert node.metadata["team"] == "aero"
    prompt = node.get_content(metadata_mode=MetadataMode.LLM)
    embed = node.get_content(metadata_mode=MetadataMode.EMBED)
    for key in node.metadata:
        if key.startswith("ragflow_") and key != "ragflow_document_name":
            assert f"{key}:" not in prompt
            assert f"{key}:" not in embed
    assert "ragflow_document_name: zephyr.txt" in prompt and "team: aero" in prompt


def test_inserted_chunks_point_at_the_inserted_id_and_keep_user_keys() -> None:
    chunk = CHUNK.model_copy(
        update={
            "document_metadata": {
                "ragflow_ref_doc_id": "my-doc",
                "ragflow_ref_doc_hash": "h",
                "ref_doc_id": "the user's",
                "document_name": "the user's too",
            }
        }
    )
    node = chunk_to_node(chunk).node
    assert node.ref_doc_id == "my-doc"
    assert node.source_node is not None
    assert node.source_node.metadata["ragflow_document_id"] == "doc-1"
    assert node.metadata["ref_doc_id"] == "the user's"
    assert node.metadata["document_name"] == "the user's too"
    assert node.metadata["ragflow_ref_doc_id"] == "my-doc"

    legacy = CHUNK.model_copy(update={"document_metadata": {"ref_doc_id": "old-doc", "t": 1}})
    old = chunk_to_node(legacy).node  # stored by a version before the ragflow_ prefix
    assert old.ref_doc_id == "old-doc"
    assert "ref_doc_id" not in old.metadata and old.metadata["t"] == 1


def test_document_upload_carries_id_hash_and_metadata() -> None:
    document = Document(
        id_="ref-1",
        text="hello",
        metadata={"file_name": "notes/a b?.md", "n": 3, "flag": True, "tags": ["x"], "d": {"k": 1}},
    )
    item = _to_ingest_item(document)

    assert item.name == "notes_a b_.md"
    assert item.blob == b"hello"
    assert item.meta_fields[REF_DOC_ID_KEY] == "ref-1"
    assert item.meta_fields[REF_DOC_HASH_KEY] == document.hash
    assert item.meta_fields["n"] == 3
    assert item.meta_fields["flag"] == "true"
    assert item.meta_fields["tags"] == ["x"]
    assert item.meta_fields["d"] == '{"k": 1}'
    assert "ragflow_written_at" not in item.meta_fields  # stamped under the lock, at upload
    assert REF_DOC_ID_KEY == "ragflow_ref_doc_id" and REF_DOC_HASH_KEY == "ragflow_ref_doc_hash"
    assert _file_name(Document(id_="abc", text="x")) == "abc.txt"


def test_refresh_plan_uploads_new_and_changed_only() -> None:
    same = Document(id_="same", text="unchanged")
    changed = Document(id_="changed", text="new text")
    new = Document(id_="new", text="brand new")
    stored: dict[str, list[tuple[str, str | None]]] = {
        "same": [("rf-1", same.hash), ("rf-0", same.hash)],  # newest first, one extra copy
        "changed": [("rf-2", "old-hash"), ("rf-3", changed.hash)],
        "gone": [("rf-4", "whatever")],
    }

    flags, stale, fresh, extra = _plan_refresh([same, changed, new], stored)

    assert flags == [False, True, True]
    assert stale == ["rf-2", "rf-3"]  # every copy of a changed document is replaced
    assert [d.id_ for d in fresh] == ["changed", "new"]
    assert extra == ["rf-1"]  # an unchanged document keeps its oldest copy only


def _event(**fields: Any) -> StreamEvent:
    return StreamEvent(session_id="s-1", message_id="m-1", **fields)


def test_stream_state_yields_deltas_then_references() -> None:
    state = _StreamState()
    events = [
        _event(delta="", reasoning_delta="thinking"),
        _event(delta="The rotor ", content="The rotor "),
        _event(delta="turns.", content="The rotor turns."),
        _event(final=True, reference=[CHUNK], content="The rotor turns."),
        _event(delta="ignored after final"),
    ]
    responses = [r for r in (state.push(e) for e in events) if r is not None]

    assert [r.delta for r in responses] == ["The rotor ", "turns.", ""]
    assert responses[-1].message.content == "The rotor turns."
    references = responses[-1].additional_kwargs["references"]
    assert [r["id"] for r in references] == ["chunk-1"]
    raw = responses[-1].raw
    assert raw is not None and raw["reference"] == references
    assert responses[-1].additional_kwargs["reasoning"] == "thinking"
    assert "references" not in responses[0].additional_kwargs


def test_stream_without_final_event_is_closed() -> None:
    state = _StreamState()
    first = state.push(_event(delta="Hi", content="Hi"))
    closing = state.close()

    assert first is not None and first.delta == "Hi"
    assert closing.delta == "" and closing.message.content == "Hi"
    assert closing.additional_kwargs["references"] == []
    assert state.finished
