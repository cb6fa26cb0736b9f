"""Conversions between RAGFlow objects and LangChain documents (private)."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document

from ragflow_integrations.mapping import chunk_to_record


def chunk_to_document(chunk: Any, *, highlight: bool = False) -> Document:
    """A retrieved chunk as a ``Document`` whose id is the chunk id.

    ``highlight`` keeps the ``highlight`` metadata key (dropped when not asked for).
    """
    record = chunk_to_record(chunk)
    metadata = dict(record.metadata)
    if not highlight or metadata.get("highlight") in (None, ""):
        metadata.pop("highlight", None)
    return Document(id=record.id, page_content=record.text, metadata=metadata)


def effective_condition(condition: dict[str, Any] | None) -> dict[str, Any] | None:
    """``condition`` or None when it has no conditions.

    RAGFlow answers a ``metadata_condition`` with an empty ``conditions`` list with *no* results,
    while callers building filters mean "no filter"; such a condition is not sent.
    """
    if not condition or not condition.get("conditions"):
        return None
    return condition
