"""Documents: the files of a dataset (``/datasets/{id}/documents``).

Operations upload (with ``meta_fields``), list, update, read back, download and delete documents;
:class:`Document` / :class:`AsyncDocument` are the objects (their chunk methods come from
``chunks.py``); :class:`DataSetDocuments` are ``DataSet``'s document methods. Methods call the
operation of the same name defined in this module. Parsing lives in ``parsing.py``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from pydantic import Field, model_validator

from ..._core.features import ServerFeatures
from ..._core.metadata_filter import metadata_matches
from ..._core.ops import (
    FEATURES,
    Context,
    Op,
    active_condition,
    call,
    collect_ids,
    data_of,
    delete_by,
    items_of,
    list_of,
    merge_update,
    seg,
    updated_state,
    walk,
)
from ..._core.request import FileTuple, check_text, make_params
from ..._models import AsyncObject, SyncObject, _Model
from ...errors import APIError, NotFoundError, UploadError
from ..chunks import AsyncDocumentChunks, DocumentChunks
from .metadata import (
    AsyncDocumentMetadataConfig,
    DocumentMetadataConfig,
    set_uploaded_metadata,
)
from .parsing import ParserConfig, translate_parser_config

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def _guess_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


_DUPLICATE_SUFFIX = re.compile(r"\(\d+\)(?=(\.[^./]*)?$)")


def match_uploads(sent: Sequence[str], stored: Sequence[str]) -> dict[int, int]:
    """Map each sent file (index) to the stored document (index) that holds it.

    The server renames duplicates (``notes.txt`` -> ``notes(1).txt``), so a stored name matches a
    sent one exactly or once its ``(n)`` suffix is removed; each stored name is used once. Sent
    files missing from the result were not stored.
    """
    free = dict(enumerate(stored))
    matched: dict[int, int] = {}
    for exact in (True, False):
        for index, name in enumerate(sent):
            if index in matched:
                continue
            for j, stored_name in free.items():
                if stored_name == name or (
                    not exact and _DUPLICATE_SUFFIX.sub("", stored_name) == name
                ):
                    matched[index] = j
                    del free[j]
                    break
    return matched


def unmatched_uploads(sent: Sequence[str], stored: Sequence[str]) -> list[str]:
    """Names in ``sent`` that no stored document accounts for (see :func:`match_uploads`)."""
    matched = match_uploads(sent, stored)
    return [name for index, name in enumerate(sent) if index not in matched]


def _set_metadata(
    dataset_id: str,
    docs: list[dict[str, Any]],
    names: Sequence[str],
    metas: Sequence[Mapping[str, Any] | None],
    reread: bool,
) -> Op:
    """Set ``meta_fields`` on uploaded documents (the upload itself cannot carry them)."""
    matched = match_uploads(names, [str(d.get("name", "")) for d in docs])
    chosen = [(docs[j], metas[i]) for i, j in matched.items() if metas[i]]
    yield from set_uploaded_metadata(
        dataset_id, [d for d, _ in chosen], [m or {} for _, m in chosen], reread=reread
    )


def upload_documents(
    ctx: Context,
    dataset_id: str,
    document_list: Sequence[Mapping[str, Any]],
    *,
    reread: bool = True,
) -> Op:
    """Upload files; their ``meta_fields`` are set after (see :func:`set_uploaded_metadata`;
    ``reread=False`` skips reading the documents back when the caller reads them anyway)."""
    files: list[tuple[str, FileTuple]] = []
    metas: list[Mapping[str, Any] | None] = []
    if not isinstance(document_list, (list, tuple)):
        raise TypeError(
            "document_list must be a list of dicts like [{'display_name': 'a.txt', 'blob': b'...'}]"
            f" (got {type(document_list).__name__})"
        )
    for index, item in enumerate(document_list):
        if not isinstance(item, Mapping):
            raise TypeError(
                f"document_list[{index}] must be a dict like "
                "{'display_name': 'a.txt', 'blob': b'...'}"
            )
        name = item.get("display_name") or item.get("name")
        blob = item.get("blob")
        if not name:
            raise ValueError(f"document_list[{index}] needs a 'display_name' (or 'name')")
        if not isinstance(name, str):
            raise TypeError(
                f"document_list[{index}]['display_name'] must be a str file name "
                f"(got {type(name).__name__})"
            )
        check_text(name, "display_name")
        if isinstance(blob, str):
            blob = check_text(blob, "blob").encode("utf-8")
        if not isinstance(blob, (bytes, bytearray)):
            raise TypeError(f"document_list[{index}]['blob'] must be bytes (the file content)")
        meta = item.get("meta_fields")
        if meta is not None and not isinstance(meta, Mapping):
            raise TypeError(
                f"document_list[{index}]['meta_fields'] must be a dict of str -> value "
                f"(got {type(meta).__name__})"
            )
        filename = str(name).replace("\\", "/").rsplit("/", 1)[-1]
        files.append(("file", (filename, bytes(blob), _guess_type(filename))))
        metas.append(meta)
    if not files:
        return []
    path = f"/datasets/{seg(dataset_id)}/documents"
    names = [f[1][0] for f in files]
    try:
        response = yield call("POST", path, files=tuple(files))
        docs = list_of(response, "uploaded documents")
    except APIError as exc:
        if not (isinstance(exc.data, list) and exc.data):
            if exc.code == 500 and (exc.status_code or 200) < 500:
                # Every file was rejected: code 500 with the joined messages and no data (§3.2).
                raise UploadError(
                    f"Uploaded 0 of {len(files)} file(s); failed: {names}. "
                    f"Server said: {exc.message}",
                    uploaded=[],
                    failed=names,
                    **exc.context(),
                ) from exc
            raise
        kept = [dict(d) for d in exc.data if isinstance(d, Mapping)]
        yield from _set_metadata(dataset_id, kept, names, metas, reread)
        failed = unmatched_uploads(names, [str(d.get("name", "")) for d in kept])
        raise UploadError(
            f"Uploaded {len(kept)} of {len(files)} file(s); failed: {failed}. "
            f"Server said: {exc.message}",
            uploaded=[ctx.wrap("document", d) for d in kept],
            failed=failed,
            **exc.context(),
        ) from exc
    yield from _set_metadata(dataset_id, docs, names, metas, reread)
    return [ctx.wrap("document", d) for d in docs]


def walk_documents(
    ctx: Context,
    dataset_id: str,
    id: str | None = None,
    keywords: str | None = None,
    offset: int = 1,
    limit: int | None = None,
    orderby: str = "create_time",
    desc: bool = True,
    name: str | None = None,
    run: str | Sequence[str] | None = None,
    metadata_condition: Mapping[str, Any] | None = None,
    ids: Sequence[str] | None = None,
) -> Op:
    import json

    condition = (
        dict(metadata_condition)
        if metadata_condition is not None and active_condition(metadata_condition)
        else None
    )
    client_filter = False
    if condition is not None:
        features: ServerFeatures = yield FEATURES
        client_filter = not features.document_metadata_filter
    params: dict[str, Any] = {
        "id": id,
        "ids": list(ids) if ids else None,
        "keywords": keywords,
        "orderby": orderby,
        "desc": desc,
        "name": name,
        "run": run,
        "metadata_condition": json.dumps(condition) if condition is not None else None,
    }

    def matches(item: Mapping[str, Any]) -> bool:
        return metadata_matches(item.get("meta_fields"), condition)

    return (
        yield from walk(
            ctx,
            "document",
            f"/datasets/{seg(dataset_id)}/documents",
            params,
            offset=offset,
            limit=limit,
            keys=("docs",),
            defaults={"dataset_id": dataset_id},
            keep=matches if client_filter else None,
            window_after_keep=client_filter,
        )
    )


def delete_documents(
    ctx: Context, dataset_id: str, ids: Sequence[str] | None, delete_all: bool
) -> Op:
    return (
        yield from delete_by(
            f"/datasets/{seg(dataset_id)}/documents",
            ids,
            delete_all,
            "documents",
            list_all=lambda: collect_ids(walk_documents(ctx, dataset_id)),
        )
    )


def update_document(dataset_id: str, document_id: str, update_message: Any) -> Op:
    body = merge_update(update_message)
    if "display_name" in body:
        body.setdefault("name", body.pop("display_name"))
    if "parser_config" in body:
        body["parser_config"] = translate_parser_config(body["parser_config"])
    if "meta_fields" in body and not isinstance(body["meta_fields"], Mapping):
        raise TypeError("meta_fields must be a dict of str -> str/int/float (or lists of those)")
    if "enabled" in body and isinstance(body["enabled"], bool):
        body["enabled"] = int(body["enabled"])
    features: ServerFeatures = yield FEATURES
    response = yield call(
        features.update_method,
        f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}",
        json=body,
    )
    needed = ("meta_fields",) if "meta_fields" in body else ()
    return (
        yield from updated_state(response, lambda: get_document(dataset_id, document_id), *needed)
    )


def get_document(dataset_id: str, document_id: str) -> Op:
    response = yield call(
        "GET",
        f"/datasets/{seg(dataset_id)}/documents",
        params=make_params(id=document_id, page=1, page_size=1),
    )
    items, _ = items_of(data_of(response), "docs")
    if not items:
        raise NotFoundError(f"Document {document_id} not found in dataset {dataset_id}")
    return dict(items[0])


def download_document(dataset_id: str, document_id: str) -> Op:
    body = yield call("GET", f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}", raw=True)
    return bytes(body)


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class _DocumentFields(_Model):
    id: str = ""
    name: str = ""
    dataset_id: str | None = None
    chunk_method: str | None = "naive"
    parser_config: ParserConfig = Field(default_factory=ParserConfig)
    size: int = 0
    token_count: int = 0
    chunk_count: int = 0
    progress: float = 0.0
    progress_msg: str | None = ""
    run: str | None = "UNSTART"
    status: str | None = "1"
    meta_fields: dict[str, Any] = Field(default_factory=dict)
    thumbnail: str | None = None
    source_type: str | None = "local"
    type: str | None = ""
    created_by: str | None = ""
    process_begin_at: Any = None
    process_duration: float | None = 0.0
    create_time: Any = None
    update_time: Any = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if "process_duation" in data and "process_duration" not in data:
                data["process_duration"] = data.pop("process_duation")
            for old, new in (
                ("chunk_num", "chunk_count"),
                ("token_num", "token_count"),
                ("kb_id", "dataset_id"),
                ("parser_id", "chunk_method"),
            ):
                if old in data and new not in data:
                    data[new] = data[old]
            for key in (
                "size",
                "token_count",
                "chunk_count",
                "progress",
                "meta_fields",
                "parser_config",
            ):
                if data.get(key) is None:
                    data.pop(key, None)
        return data

    @property
    def process_duation(self) -> float | None:
        """The seed's spelling of :attr:`process_duration`."""
        return self.process_duration


class Document(_DocumentFields, DocumentChunks, DocumentMetadataConfig, SyncObject):
    """A document of a dataset."""

    def update(self, update_message: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Document:
        """Update name (seed display_name), chunk_method, parser_config, meta_fields, enabled."""
        self._merge(self._c._run(update_document(str(self.dataset_id), self.id, update_message)))
        return self

    def refresh(self) -> Document:
        """Re-read this document (progress, run, counts) from the server."""
        self._merge(self._c._run(get_document(str(self.dataset_id), self.id)))
        return self

    def download(self) -> bytes:
        """The original file's bytes."""
        data: bytes = self._c._run(download_document(str(self.dataset_id), self.id))
        return data


class AsyncDocument(_DocumentFields, AsyncDocumentChunks, AsyncDocumentMetadataConfig, AsyncObject):
    """Async twin of :class:`Document`."""

    async def update(
        self, update_message: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> AsyncDocument:
        """Update name (seed display_name), chunk_method, parser_config, meta_fields, enabled."""
        self._merge(
            await self._c._run(update_document(str(self.dataset_id), self.id, update_message))
        )
        return self

    async def refresh(self) -> AsyncDocument:
        """Re-read this document (progress, run, counts) from the server."""
        self._merge(await self._c._run(get_document(str(self.dataset_id), self.id)))
        return self

    async def download(self) -> bytes:
        """The original file's bytes."""
        data: bytes = await self._c._run(download_document(str(self.dataset_id), self.id))
        return data


# ----------------------------------------------------------------------------------------------
# DataSet's document methods
# ----------------------------------------------------------------------------------------------


class DataSetDocuments(SyncObject):
    """``DataSet``'s document methods: upload, list, iterate and delete its documents."""

    def upload_documents(self, document_list: Sequence[Mapping[str, Any]]) -> list[Document]:
        """Upload ``[{"display_name": "a.txt", "blob": b"...", "meta_fields"?: {...}}, ...]``."""
        result: list[Document] = self._c._run(upload_documents(self._c, self.id, document_list))
        return result

    def list_documents(
        self,
        id: str | None = None,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        order_by: str | None = None,
    ) -> list[Document]:
        """Documents ``offset`` (1-based) .. ``offset + limit - 1``."""
        return self._c._collect(
            walk_documents(
                self._c,
                self.id,
                id,
                keywords,
                offset,
                limit,
                order_by or orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    def iter_documents(
        self,
        keywords: str | None = None,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
    ) -> Iterator[Document]:
        """Every matching document, fetched lazily page by page."""
        return self._c._iterate(
            walk_documents(
                self._c,
                self.id,
                None,
                keywords,
                1,
                None,
                orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    def delete_documents(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` does nothing."""
        self._c._run(delete_documents(self._c, self.id, ids, delete_all))


class AsyncDataSetDocuments(AsyncObject):
    """Async twin of :class:`DataSetDocuments`."""

    async def upload_documents(
        self, document_list: Sequence[Mapping[str, Any]]
    ) -> list[AsyncDocument]:
        """Upload ``[{"display_name": "a.txt", "blob": b"...", "meta_fields"?: {...}}, ...]``."""
        result: list[AsyncDocument] = await self._c._run(
            upload_documents(self._c, self.id, document_list)
        )
        return result

    async def list_documents(
        self,
        id: str | None = None,
        keywords: str | None = None,
        offset: int = 1,
        limit: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
        order_by: str | None = None,
    ) -> list[AsyncDocument]:
        """Documents ``offset`` (1-based) .. ``offset + limit - 1``."""
        return await self._c._collect(
            walk_documents(
                self._c,
                self.id,
                id,
                keywords,
                offset,
                limit,
                order_by or orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    def iter_documents(
        self,
        keywords: str | None = None,
        orderby: str = "create_time",
        desc: bool = True,
        *,
        name: str | None = None,
        run: str | Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[AsyncDocument]:
        """Every matching document, fetched lazily page by page."""
        return self._c._iterate(
            walk_documents(
                self._c,
                self.id,
                None,
                keywords,
                1,
                None,
                orderby,
                desc,
                name,
                run,
                metadata_condition,
            )
        )

    async def delete_documents(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` does nothing."""
        await self._c._run(delete_documents(self._c, self.id, ids, delete_all))
