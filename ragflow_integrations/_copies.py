"""Finding, naming and guarding the stored copies of one caller id (shared by both adapters).

An adapter stores the id its caller gave a document in the document's ``meta_fields`` (under
``ragflow_langchain_id`` or ``ragflow_ref_doc_id``). Its copies are found with one filtered
document listing per batch of ids (``metadata_condition``, so the number of requests does not grow
with the dataset on servers that filter; older servers list everything and the client filters),
always checked again on the client: RAGFlow compares text case-insensitively.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from ragflow_integrations import APIError, AsyncDataSet, AsyncDocument, DataSet, Document
from ragflow_integrations.ingest import IngestItem
from ragflow_integrations.mapping import LEGACY_KEYS, WRITTEN_AT_KEY, caller_id, written_at

logger = logging.getLogger("ragflow_integrations")

__all__ = [
    "ID_LOOKUP_BATCH",
    "afind_copies",
    "arename_quietly",
    "find_copies",
    "lock_keys",
    "rename_quietly",
    "stamped",
]

ID_LOOKUP_BATCH = 40
"""Caller ids per filtered listing at most (the filter travels in the query string)."""
ID_LOOKUP_CHARS = 1200
"""Characters of caller ids per filtered listing at most (long ids: fewer per request), so the
URL stays a few KB long (its condition names each id twice: new and legacy key)."""

Copies = dict[str, list[Any]]
"""Caller id -> the RAGFlow documents stored under it."""


def lock_keys(key: str, dataset_id: str, ids: Iterable[str]) -> list[Hashable]:
    """The :data:`~ragflow_integrations._id_locks.WRITE_LOCKS` keys of ``ids`` in one dataset."""
    return [(key, dataset_id, str(i)) for i in ids]


def stamped(items: Sequence[IngestItem]) -> list[IngestItem]:
    """``items`` with the write stamp (``ragflow_written_at``) of now: taken under the ids' locks,
    right before the upload, so that the newest copy is the one uploaded last."""
    stamp = written_at()
    return [
        dataclasses.replace(item, meta_fields={**item.meta_fields, WRITTEN_AT_KEY: stamp})
        for item in items
    ]


def _stored_names(key: str) -> list[str]:
    """``key`` and the name documents of earlier versions used for it."""
    legacy = [old for old, new in LEGACY_KEYS.items() if new == key]
    return [key, *legacy]


def lookup_condition(key: str, ids: Sequence[str]) -> dict[str, Any]:
    """The ``metadata_condition`` selecting documents stored under one of ``ids``."""
    return {
        "logic": "or",
        "conditions": [
            {"name": name, "comparison_operator": "in", "value": list(ids)}
            for name in _stored_names(key)
        ],
    }


def _batches(ids: Iterable[str]) -> list[list[str]]:
    """Distinct ``ids`` in order, cut into batches of at most ``ID_LOOKUP_BATCH`` ids and
    ``ID_LOOKUP_CHARS`` characters (a longer id gets a batch of its own)."""
    batches: list[list[str]] = []
    current: list[str] = []
    length = 0
    for wanted_id in dict.fromkeys(str(i) for i in ids):
        if current and (
            len(current) == ID_LOOKUP_BATCH or length + len(wanted_id) > ID_LOOKUP_CHARS
        ):
            batches.append(current)
            current, length = [], 0
        current.append(wanted_id)
        length += len(wanted_id)
    if current:
        batches.append(current)
    return batches


def _collect(found: Copies, documents: Iterable[Any], key: str, wanted: set[str]) -> None:
    for document in documents:
        stored = caller_id(document.meta_fields, key)
        if stored is not None and stored in wanted:
            found.setdefault(stored, []).append(document)


def find_copies(dataset: DataSet, key: str, ids: Iterable[str]) -> dict[str, list[Document]]:
    """The documents of ``dataset`` stored under each of ``ids`` (ids without copies left out)."""
    found: Copies = {}
    for batch in _batches(ids):
        listed = dataset.iter_documents(metadata_condition=lookup_condition(key, batch))
        _collect(found, listed, key, set(batch))
    return found


async def afind_copies(
    dataset: AsyncDataSet, key: str, ids: Iterable[str]
) -> dict[str, list[AsyncDocument]]:
    """Async twin of :func:`find_copies`."""
    found: Copies = {}
    for batch in _batches(ids):
        condition = lookup_condition(key, batch)
        listed = [d async for d in dataset.iter_documents(metadata_condition=condition)]
        _collect(found, listed, key, set(batch))
    return found


def rename_quietly(document: Document, name: str) -> None:
    """Give a replacing copy its intended name back (the server named it ``name(1).txt`` while
    the old copy existed). Cosmetic: a refusal (another copy took the name) is only logged."""
    try:
        document.update({"name": name})
    except APIError as exc:
        logger.warning("RAGFlow kept the name %r: %s", document.name, exc.message)


async def arename_quietly(document: AsyncDocument, name: str) -> None:
    """Async twin of :func:`rename_quietly`."""
    try:
        await document.update({"name": name})
    except APIError as exc:
        logger.warning("RAGFlow kept the name %r: %s", document.name, exc.message)
