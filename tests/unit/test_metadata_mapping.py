"""The shared metadata names (ragflow_integrations.mapping): user keys kept as stored, the
reserved prefix refused on write, earlier versions' keys read, copies of one id collapsed."""

from __future__ import annotations

import pytest

from ragflow_integrations import Chunk
from ragflow_integrations.mapping import (
    chunk_to_record,
    collapse_copies,
    split_stored,
    stored_meta_fields,
    written_at,
)


def test_user_keys_named_like_package_keys_are_kept() -> None:
    user = {"document_id": "mine", "similarity": "high", "chunk_id": "c", "ref_doc_id": "r"}
    chunk = Chunk.model_validate(
        {
            "id": "c1",
            "content": "t",
            "document_id": "d1",
            "similarity": 0.5,
            "document_metadata": {**user, "ragflow_ref_doc_id": "inserted"},
        }
    )
    metadata = chunk_to_record(chunk).metadata
    assert {k: metadata[k] for k in user} == user
    assert metadata["ragflow_document_id"] == "d1"
    assert metadata["ragflow_similarity"] == 0.5
    assert metadata["ragflow_ref_doc_id"] == "inserted"


def test_reserved_prefix_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"\['ragflow_x'\] start with 'ragflow_'.*reserved"):
        stored_meta_fields({"ragflow_x": 1, "ok": 2}, {"ragflow_langchain_id": "a"})
    fields = stored_meta_fields({"ok": 2, "when": None}, {"ragflow_langchain_id": "a"})
    assert fields == {"ok": 2, "ragflow_langchain_id": "a"}


def test_keys_of_earlier_versions_are_read_under_the_new_names() -> None:
    assert split_stored({"langchain_id": "a", "topic": "t"}) == (
        {"topic": "t"},
        {"ragflow_langchain_id": "a"},
    )
    legacy = {"ref_doc_id": "r", "ref_doc_hash": "h", "excluded_llm_metadata_keys": ["t"]}
    assert split_stored(legacy)[1] == {
        "ragflow_ref_doc_id": "r",
        "ragflow_ref_doc_hash": "h",
        "ragflow_excluded_llm_metadata_keys": ["t"],
    }
    # a document written now keeps a user key named like an old package key
    current = {"ragflow_ref_doc_id": "r", "ref_doc_id": "the user's"}
    assert split_stored(current) == ({"ref_doc_id": "the user's"}, {"ragflow_ref_doc_id": "r"})


def _chunk(chunk_id: str, document_id: str, stamp: str | None, caller: str | None) -> Chunk:
    meta = {"ragflow_langchain_id": caller} if caller else {}
    if stamp:
        meta["ragflow_written_at"] = stamp
    return Chunk.model_validate(
        {"id": chunk_id, "content": chunk_id, "document_id": document_id, "document_metadata": meta}
    )


def test_copies_of_one_id_collapse_to_the_newest_in_order() -> None:
    old, new = "20260101T000001.000000000Z", "20260101T000002.000000000Z"
    records = [
        chunk_to_record(c)
        for c in (
            _chunk("c1", "doc-old", old, "a"),
            _chunk("c2", "doc-other", None, None),
            _chunk("c3", "doc-new", new, "a"),
            _chunk("c4", "doc-new", new, "a"),
            _chunk("c5", "doc-b", old, "b"),
        )
    ]
    assert [r.id for r in collapse_copies(records)] == ["c2", "c3", "c4", "c5"]
    assert written_at() > new and len(written_at()) == len(new)
