"""Bulk ingestion shared by the adapters: upload in batches, start parsing, wait, report failures.

``ingest_documents(dataset, items)`` (sync :class:`DataSet`) and ``await aingest_documents(...)``
(:class:`AsyncDataSet`) run the same operation: each batch (≤ 256 files, ≤ 16 MiB) is one
multipart upload, one batch metadata update per distinct ``meta_fields`` value set (RAGFlow
v0.23+; before, one document update per file), and one parse request; then the wait polls the
unfinished documents (ids filter, oldest first) until every document is DONE, raising
:class:`UploadError`, :class:`DocumentParseError` or :class:`ParseTimeoutError`. A failed batch
(an error answer, a lost connection, a garbled answer) does not stop later ones: every file ends
up either in ``UploadError.uploaded`` (stored; also in ``unparsed`` when its parse could not be
started) or in ``UploadError.failed``.

``wait_for_parsing(dataset, ids)`` (``await await_parsing(...)``) is the same wait on its own, for
documents whose parsing was started elsewhere (an earlier run, ``async_parse_documents``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from enum import Enum
from typing import Any

from ._core.ops import Context, Op
from .errors import APIConnectionError, APIError, RAGFlowError, ResponseDecodeError, UploadError
from .models import AsyncDataSet, AsyncDocument, DataSet, Document
from .resources.documents import (
    ProgressCallback,
    parse_documents_start,
    upload_documents,
)
from .resources.documents import wait_for_parsing as parsing_done

__all__ = [
    "IngestItem",
    "aingest_documents",
    "await_parsing",
    "ingest_documents",
    "to_meta_fields",
    "wait_for_parsing",
]


@dataclass(frozen=True)
class IngestItem:
    """One file to ingest: its name (with extension), bytes, and optional metadata."""

    name: str
    blob: bytes
    meta_fields: Mapping[str, Any] = field(default_factory=dict)


def _meta_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


_NO_SCALAR = object()


def _as_scalar(value: Any) -> Any:
    """``value`` as a str/int/float RAGFlow stores and compares, or ``_NO_SCALAR``."""
    if isinstance(value, Enum):
        value = value.value
    if _meta_scalar(value):
        return value
    if isinstance(value, date | time):  # datetime is a date: ISO text, compared as a date
        return value.isoformat()
    return _NO_SCALAR


def to_meta_fields(metadata: Mapping[Any, Any]) -> dict[str, Any]:
    """Framework metadata as RAGFlow ``meta_fields`` (str, int, float, or lists of those).

    * str, int and float values are stored as they are (so ``metadata_condition`` compares them);
    * ``None`` values are dropped;
    * booleans become ``"true"`` / ``"false"``;
    * dates, datetimes and times become ISO text (``"2024-01-02"``, ``"2024-01-02T10:30:00"``),
      which RAGFlow compares as dates; an ``Enum`` is stored as its value;
    * lists, tuples and sets of those scalars become lists;
    * dicts, lists holding anything else (booleans, dicts, ``None``) become sorted JSON text;
    * any other object (UUID, Decimal, Path, ...) becomes ``str(value)``.
    """
    fields: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        scalar = _as_scalar(value)
        if isinstance(value, bool):
            fields[str(key)] = "true" if value else "false"
        elif scalar is not _NO_SCALAR:
            fields[str(key)] = scalar
        elif isinstance(value, list | tuple | set | frozenset):
            items = [_as_scalar(v) for v in value]
            if any(v is _NO_SCALAR or isinstance(v, bool) for v in items):
                fields[str(key)] = json.dumps(_jsonable(value), default=str, sort_keys=True)
            else:
                fields[str(key)] = (
                    sorted(items, key=str) if isinstance(value, set | frozenset) else items
                )
        elif isinstance(value, Mapping):
            fields[str(key)] = json.dumps(_jsonable(value), default=str, sort_keys=True)
        else:
            fields[str(key)] = str(value)
    return fields


def _jsonable(value: Any) -> Any:
    """Dates as ISO text inside JSON (``default=str`` would give ``2024-01-02 10:30:00``)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def _as_upload(item: IngestItem) -> dict[str, Any]:
    upload: dict[str, Any] = {"display_name": item.name, "blob": item.blob}
    if item.meta_fields:
        upload["meta_fields"] = dict(item.meta_fields)
    return upload


BATCH_SIZE = 256
"""Files per upload request, at most (RAGFlow sets no limit; fewer requests per ingestion)."""
BATCH_BYTES = 16 * 1024 * 1024
"""File content per upload request, at most (a bigger file goes alone): bounds how long the
server takes to store one batch, well inside the default 60 s read timeout."""


def upload_batches(
    items: Sequence[IngestItem], batch_size: int = BATCH_SIZE, max_bytes: int = BATCH_BYTES
) -> list[Sequence[IngestItem]]:
    """``items`` cut in order into batches of ≤ ``batch_size`` files and ≤ ``max_bytes``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1 (got {batch_size!r})")
    out: list[Sequence[IngestItem]] = []
    start, size = 0, 0
    for index, item in enumerate(items):
        count = index - start
        if count and (count == batch_size or size + len(item.blob) > max_bytes):
            out.append(items[start:index])
            start, size = index, 0
        size += len(item.blob)
    if start < len(items):
        out.append(items[start:])
    return out


BATCH_FAILURES = (APIError, APIConnectionError, ResponseDecodeError)
"""What makes one batch fail without stopping the others (an answer, or its absence)."""


def _outcome_unknown(exc: RAGFlowError) -> bool:
    """The request was sent but no readable answer came back: it may have been applied."""
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, ResponseDecodeError)


def _incomplete(
    items: Sequence[IngestItem],
    uploaded: list[Any],
    failed: list[str],
    unparsed: list[Any],
    maybe_stored: list[str],
    first_error: RAGFlowError,
) -> UploadError:
    """The :class:`UploadError` accounting for every file of an incomplete ingestion."""
    problems = []
    if failed:
        problems.append(f"{len(failed)} of {len(items)} file(s) were not uploaded: {failed}")
    if maybe_stored:
        problems.append(
            f"no readable answer came back after {maybe_stored} were sent (connection lost or "
            "garbled answer), so the server may have stored them: check "
            "dataset.list_documents(name=...) before uploading them again"
        )
    if unparsed:
        names = [getattr(d, "name", "") for d in unparsed]
        problems.append(
            f"parsing could not be started for {len(unparsed)} uploaded document(s): {names} "
            "(retry with dataset.parse_documents(ids))"
        )
    error = UploadError(
        f"Ingestion incomplete: {'; '.join(problems)}. First error: {first_error.message}. "
        f"{len(uploaded)} document(s) are known to be on the server.",
        uploaded=uploaded,
        failed=failed,
        unparsed=unparsed,
        **first_error.context(),
    )
    error.__cause__ = first_error
    return error


def ingest_op(
    ctx: Context,
    dataset_id: str,
    items: Sequence[IngestItem],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    show_progress: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    wait: bool = True,
    parse: bool = True,
) -> Op:
    """The ingestion operation (sans-I/O; see :mod:`ragflow_integrations._core.ops`).

    ``parse=False`` only uploads (no parse request, no wait); ``wait=False`` starts parsing
    without waiting for it."""
    uploaded: list[Any] = []
    unparsed: list[Any] = []
    failed: list[str] = []
    maybe_stored: list[str] = []
    first_error: RAGFlowError | None = None
    for batch in upload_batches(items, batch_size):
        try:
            docs = yield from upload_documents(
                ctx, dataset_id, [_as_upload(i) for i in batch], reread=not (wait and parse)
            )
        except UploadError as exc:  # partial batch: keep what was stored, go on
            docs, first_error = list(exc.uploaded), first_error or exc
            failed += exc.failed
        except BATCH_FAILURES as exc:  # whole batch rejected or lost: go on with the next one
            docs, first_error = [], first_error or exc
            failed += [i.name for i in batch]
            if _outcome_unknown(exc):
                maybe_stored += [i.name for i in batch]
        uploaded.extend(docs)
        if not docs or not parse:
            continue
        try:
            yield from parse_documents_start(dataset_id, [d.id for d in docs])
        except BATCH_FAILURES as exc:  # stored but (maybe) not parsing: report them, go on
            unparsed.extend(docs)
            first_error = first_error or exc
    if first_error is not None:
        raise _incomplete(items, uploaded, failed, unparsed, maybe_stored, first_error)
    if not (wait and parse):
        return uploaded
    return (
        yield from parsing_done(
            ctx,
            dataset_id,
            [d.id for d in uploaded],
            timeout=timeout,
            poll_interval=poll_interval,
            show_progress=show_progress,
            on_progress=on_progress,
        )
    )


def ingest_documents(
    dataset: DataSet,
    items: Sequence[IngestItem],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    show_progress: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    wait: bool = True,
    parse: bool = True,
) -> list[Document]:
    """Upload ``items`` to ``dataset``, parse them, and wait until every one is DONE.

    ``wait=False`` returns once parsing is started; ``parse=False`` only uploads."""
    client = dataset._require_client()
    result: list[Document] = client._run(
        ingest_op(
            client,
            dataset.id,
            items,
            timeout=timeout,
            poll_interval=poll_interval,
            show_progress=show_progress,
            batch_size=batch_size,
            on_progress=on_progress,
            wait=wait,
            parse=parse,
        )
    )
    return result


async def aingest_documents(
    dataset: AsyncDataSet,
    items: Sequence[IngestItem],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    show_progress: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    wait: bool = True,
    parse: bool = True,
) -> list[AsyncDocument]:
    """Async twin of :func:`ingest_documents`."""
    client = dataset._require_client()
    result: list[AsyncDocument] = await client._run(
        ingest_op(
            client,
            dataset.id,
            items,
            timeout=timeout,
            poll_interval=poll_interval,
            show_progress=show_progress,
            batch_size=batch_size,
            on_progress=on_progress,
            wait=wait,
            parse=parse,
        )
    )
    return result


def wait_for_parsing(
    dataset: DataSet,
    document_ids: Sequence[str],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    show_progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> list[Document]:
    """Wait (one list request per poll) until parsing of ``document_ids``, already started,
    finished; raises :class:`DocumentParseError` or :class:`ParseTimeoutError` like
    :meth:`DataSet.parse_documents`, which starts the parse as well."""
    client = dataset._require_client()
    result: list[Document] = client._run(
        parsing_done(
            client,
            dataset.id,
            document_ids,
            timeout=timeout,
            poll_interval=poll_interval,
            show_progress=show_progress,
            on_progress=on_progress,
        )
    )
    return result


async def await_parsing(
    dataset: AsyncDataSet,
    document_ids: Sequence[str],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    show_progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> list[AsyncDocument]:
    """Async twin of :func:`wait_for_parsing`."""
    client = dataset._require_client()
    result: list[AsyncDocument] = await client._run(
        parsing_done(
            client,
            dataset.id,
            document_ids,
            timeout=timeout,
            poll_interval=poll_interval,
            show_progress=show_progress,
            on_progress=on_progress,
        )
    )
    return result
