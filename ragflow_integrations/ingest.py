"""Bulk ingestion shared by the adapters: upload in batches, start parsing, wait, report failures.

``ingest_documents(dataset, items)`` (sync :class:`DataSet`) and ``await aingest_documents(...)``
(:class:`AsyncDataSet`) run the same operation: each batch is one multipart upload followed by one
parse request; then the wait polls with one list request per poll (ids filter) until every
document is DONE, raising :class:`UploadError`, :class:`DocumentParseError` or
:class:`ParseTimeoutError`. A failed batch does not stop later ones: every file ends up either in
``UploadError.uploaded`` (stored, parsing started) or in ``UploadError.failed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._core import ops
from ._core.ops import Context, Op, ProgressCallback
from .errors import APIError, RAGFlowError, UploadError
from .models import AsyncDataSet, AsyncDocument, DataSet, Document

__all__ = ["IngestItem", "aingest_documents", "ingest_documents", "to_meta_fields"]


@dataclass(frozen=True)
class IngestItem:
    """One file to ingest: its name (with extension), bytes, and optional metadata."""

    name: str
    blob: bytes
    meta_fields: Mapping[str, Any] = field(default_factory=dict)


def _meta_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def to_meta_fields(metadata: Mapping[Any, Any]) -> dict[str, Any]:
    """Framework metadata as RAGFlow ``meta_fields``.

    RAGFlow stores str, int, float or lists of those: ``None`` values are dropped, booleans become
    ``"true"``/``"false"``, tuples become lists, anything else becomes sorted JSON text.
    """
    fields: dict[str, Any] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, bool):
            fields[str(key)] = "true" if value else "false"
        elif _meta_scalar(value):
            fields[str(key)] = value
        elif isinstance(value, list | tuple) and all(_meta_scalar(v) for v in value):
            fields[str(key)] = list(value)
        else:
            fields[str(key)] = json.dumps(value, default=str, sort_keys=True)
    return fields


def _as_upload(item: IngestItem) -> dict[str, Any]:
    upload: dict[str, Any] = {"display_name": item.name, "blob": item.blob}
    if item.meta_fields:
        upload["meta_fields"] = dict(item.meta_fields)
    return upload


def ingest_op(
    ctx: Context,
    dataset_id: str,
    items: Sequence[IngestItem],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    show_progress: bool = False,
    batch_size: int = 32,
    on_progress: ProgressCallback | None = None,
    wait: bool = True,
) -> Op:
    """The ingestion operation (sans-I/O; see :mod:`ragflow_integrations._core.ops`)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
    uploaded: list[Any] = []
    unparsed: list[Any] = []
    failed: list[str] = []
    first_error: RAGFlowError | None = None
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        try:
            docs = yield from ops.upload_documents(ctx, dataset_id, [_as_upload(i) for i in batch])
        except UploadError as exc:  # partial batch: keep what was stored, go on
            docs, first_error = list(exc.uploaded), first_error or exc
            failed += exc.failed
        except APIError as exc:  # whole batch rejected: go on with the next one
            docs, first_error = [], first_error or exc
            failed += [i.name for i in batch]
        uploaded.extend(docs)
        if not docs:
            continue
        try:
            yield from ops.parse_documents_start(dataset_id, [d.id for d in docs])
        except APIError as exc:  # stored but not parsing: report them, go on
            unparsed.extend(docs)
            first_error = first_error or exc
    if first_error is not None:
        problems = []
        if failed:
            problems.append(f"{len(failed)} of {len(items)} file(s) were not uploaded: {failed}")
        if unparsed:
            names = [getattr(d, "name", "") for d in unparsed]
            problems.append(
                f"parsing could not be started for {len(unparsed)} uploaded document(s): {names} "
                "(retry with dataset.parse_documents(ids))"
            )
        raise UploadError(
            f"Ingestion incomplete: {'; '.join(problems)}. First error: {first_error.message}. "
            f"{len(uploaded)} document(s) are on the server.",
            uploaded=uploaded,
            failed=failed,
            unparsed=unparsed,
            status_code=first_error.status_code,
            code=first_error.code,
            method=first_error.method,
            path=first_error.path,
            attempts=first_error.attempts,
        ) from first_error
    if not wait:
        return uploaded
    return (
        yield from ops.wait_for_parsing(
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
    batch_size: int = 32,
    on_progress: ProgressCallback | None = None,
    wait: bool = True,
) -> list[Document]:
    """Upload ``items`` to ``dataset``, parse them, and wait until every one is DONE."""
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
    batch_size: int = 32,
    on_progress: ProgressCallback | None = None,
    wait: bool = True,
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
        )
    )
    return result
