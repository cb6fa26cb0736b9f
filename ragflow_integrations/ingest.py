"""Bulk ingestion shared by the adapters: upload in batches, start parsing, wait, report failures.

``ingest_documents(dataset, items)`` (sync :class:`DataSet`) and ``await aingest_documents(...)``
(:class:`AsyncDataSet`) run the same operation: each batch is one multipart upload followed by one
parse request; then the wait polls with one list request per poll (ids filter) until every
document is DONE, raising :class:`UploadError`, :class:`DocumentParseError` or
:class:`ParseTimeoutError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._core import ops
from ._core.ops import Context, Op, ProgressCallback
from .errors import APIError, UploadError
from .models import AsyncDataSet, AsyncDocument, DataSet, Document

__all__ = ["IngestItem", "aingest_documents", "ingest_documents"]


@dataclass(frozen=True)
class IngestItem:
    """One file to ingest: its name (with extension), bytes, and optional metadata."""

    name: str
    blob: bytes
    meta_fields: Mapping[str, Any] = field(default_factory=dict)


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
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        try:
            docs = yield from ops.upload_documents(ctx, dataset_id, [_as_upload(i) for i in batch])
        except UploadError as exc:
            raise UploadError(
                f"{exc.message} ({len(uploaded)} document(s) from earlier batches were uploaded "
                "and are being parsed)",
                uploaded=uploaded + exc.uploaded,
                failed=exc.failed,
                status_code=exc.status_code,
                code=exc.code,
                method=exc.method,
                path=exc.path,
                attempts=exc.attempts,
            ) from exc
        except APIError as exc:
            raise UploadError(
                f"Uploading a batch of {len(batch)} file(s) failed: {exc.message}",
                uploaded=uploaded,
                failed=[i.name for i in batch],
                status_code=exc.status_code,
                code=exc.code,
                method=exc.method,
                path=exc.path,
                attempts=exc.attempts,
            ) from exc
        uploaded.extend(docs)
        yield from ops.parse_documents_start(dataset_id, [d.id for d in docs])
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
