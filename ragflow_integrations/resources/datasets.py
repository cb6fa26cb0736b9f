"""Datasets: create, read, list, update and delete datasets, and their knowledge graph.

(Their index builds, knowledge graph / RAPTOR / mind map, are in ``dataset_indexes.py``.)

Operations (``/datasets``, ``/datasets/{id}``, the knowledge graph route); :class:`DataSet` /
:class:`AsyncDataSet` (their document and parse methods come from ``documents/``); the client
methods :class:`Datasets` / :class:`AsyncDatasets`. Methods call the operation of the same name
defined in this module (a module-level function).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field, model_validator

from .._base_client import AsyncAPIClient, SyncAPIClient
from .._core.features import ServerFeatures
from .._core.ops import (
    FEATURES,
    Context,
    Op,
    RawContext,
    call,
    collect_ids,
    data_of,
    delete_by,
    items_of,
    logger,
    merge_update,
    object_of,
    seg,
    updated_state,
    walk,
)
from .._core.paging import page_window
from .._core.request import make_params
from .._models import AsyncObject, SyncObject, _Model
from ..errors import NotFoundError, RouteNotFoundError
from .chunks import AsyncChunk, Chunk
from .dataset_indexes import AsyncDataSetIndexes, DataSetIndexes
from .documents import (
    AsyncDataSetDocuments,
    AsyncDataSetMetadata,
    AsyncDataSetParsing,
    DataSetDocuments,
    DataSetMetadata,
    DataSetParsing,
    Document,
    ParserConfig,
    translate_parser_config,
)

DEFAULT_SEED_EMBEDDING = "BAAI/bge-zh-v1.5"
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def avatar_data_uri(value: Any) -> Any:
    """A dataset avatar as the ``data:image/png|jpeg;base64,...`` URI current servers require.

    The seed documents the avatar as "Base64 encoding of the avatar": raw base64 gets the prefix
    of the image type its first bytes show (PNG or JPEG). A value already starting with ``data:``,
    an empty one, or one whose type cannot be told is sent unchanged (the server judges it).
    """
    if not isinstance(value, str) or not value or value.startswith("data:"):
        return value
    head = "".join(value[:24].split())[:16]
    try:
        start = binascii.a2b_base64(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return value
    for magic, mime in _IMAGE_MAGIC:
        if start.startswith(magic):
            return f"data:{mime};base64,{value}"
    return value


def sendable_embedding_model(name: str | None) -> str | None:
    """The seed default / a name without ``@provider`` is not sent (the server default applies)."""
    if name is not None and not isinstance(name, str):
        raise TypeError(
            f"embedding_model must be a str like 'BAAI/bge-small-en-v1.5@Builtin' "
            f"(got {type(name).__name__} {name!r:.40})"
        )
    if not name or name == DEFAULT_SEED_EMBEDDING:
        return None
    if "@" in name or _HEX32.match(name):
        return name
    return None


def embedding_model_or_warn(
    name: str | None, outcome: str, *, warn_default: bool = False
) -> str | None:
    """:func:`sendable_embedding_model`, logging a warning when a model the caller chose cannot
    be sent (the seed default too when ``warn_default``); ``outcome`` says what happens instead."""
    model = sendable_embedding_model(name)
    if model is None and name and (warn_default or name != DEFAULT_SEED_EMBEDDING):
        logger.warning(
            "embedding_model=%r not sent: current servers need 'model_name@provider' "
            "(e.g. 'BAAI/bge-small-en-v1.5@Builtin'); %s",
            name,
            outcome,
        )
    return model


def create_dataset(
    ctx: Context,
    name: str,
    avatar: str = "",
    description: str = "",
    embedding_model: str | None = DEFAULT_SEED_EMBEDDING,
    language: str = "English",
    permission: str = "me",
    chunk_method: str = "naive",
    parser_config: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    body: dict[str, Any] = {"name": name, "permission": permission, "chunk_method": chunk_method}
    if avatar:
        body["avatar"] = avatar_data_uri(avatar)
    if description:
        body["description"] = description
    model = embedding_model_or_warn(embedding_model, "the server's default model is used")
    if model:
        body["embedding_model"] = model
    config = translate_parser_config(parser_config)
    if config:
        body["parser_config"] = config
    body.update(extra or {})
    response = yield call("POST", "/datasets", json=body)
    data = object_of(response, "the created dataset")
    features: ServerFeatures = yield FEATURES
    if language and language != "English" and data.get("id") and not features.dataset_language:
        logger.warning("language=%r ignored: servers before v0.25 cannot set it", language)
    elif language and language != "English" and data.get("id"):
        updated = yield call("PUT", f"/datasets/{seg(data['id'])}", json={"language": language})
        data.update(data_of(updated) or {"language": language})
    return ctx.wrap("dataset", data)


def update_dataset(dataset_id: str, update_message: Mapping[str, Any]) -> Op:
    body = merge_update(update_message)
    if "parser_config" in body:
        body["parser_config"] = translate_parser_config(body["parser_config"])
    if "avatar" in body:
        body["avatar"] = avatar_data_uri(body["avatar"])
    if "embedding_model" in body:
        model = embedding_model_or_warn(
            body.pop("embedding_model"), "the dataset keeps its model", warn_default=True
        )
        if model is not None:
            body["embedding_model"] = model
    if not body:
        return {}
    response = yield call("PUT", f"/datasets/{seg(dataset_id)}", json=body)
    return (yield from updated_state(response, lambda: get_dataset(RawContext(), id=dataset_id)))


def get_dataset(ctx: Context, id: str | None = None, name: str | None = None) -> Op:
    if not id and not name:
        raise ValueError("get_dataset needs an id: pass id='<dataset id>' or name='<name>'")
    if id is not None:
        seg(id, "id")
    make_params(name=name)  # validates name before any request
    features: ServerFeatures = yield FEATURES
    what = f"id {id!r}" if id else f"name {name!r}"
    try:
        if id and features.get_routes:
            response = yield call("GET", f"/datasets/{seg(id)}")
            return ctx.wrap("dataset", object_of(response, "a dataset"))
        response = yield call("GET", "/datasets", params=make_params(id=id, name=name))
    except NotFoundError as exc:
        if isinstance(exc, RouteNotFoundError):
            raise
        raise NotFoundError(
            f"Dataset with {what} not found (or not accessible with this key): {exc.message}",
            **exc.context(),
        ) from exc
    items, _ = items_of(data_of(response))
    if not items:
        raise NotFoundError(f"Dataset with {what} not found", method="GET", path="/datasets")
    return ctx.wrap("dataset", dict(items[0]))


def walk_datasets(
    ctx: Context,
    offset: int = 1,
    limit: int | None = None,
    orderby: str = "create_time",
    desc: bool = True,
    id: str | None = None,
    name: str | None = None,
) -> Op:
    params = {"orderby": orderby, "desc": desc, "id": id, "name": name}
    return (
        yield from walk(
            ctx,
            "dataset",
            "/datasets",
            params,
            offset=offset,
            limit=limit,
            total_key="total_datasets",
            filtered=bool(id or name),
        )
    )


def delete_datasets(ctx: Context, ids: Sequence[str] | None, delete_all: bool) -> Op:
    return (
        yield from delete_by(
            "/datasets",
            ids,
            delete_all,
            "datasets",
            list_all=lambda: collect_ids(walk_datasets(ctx)),
        )
    )


def get_knowledge_graph(dataset_id: str) -> Op:
    features: ServerFeatures = yield FEATURES
    response = yield call("GET", features.graph_path.format(dataset_id=seg(dataset_id)))
    data = data_of(response)
    return dict(data) if isinstance(data, Mapping) else {}


def delete_knowledge_graph(dataset_id: str) -> Op:
    features: ServerFeatures = yield FEATURES
    yield call("DELETE", features.graph_path.format(dataset_id=seg(dataset_id)))


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class _DataSetFields(_Model):
    id: str = ""
    name: str = ""
    avatar: str | None = ""
    description: str | None = ""
    embedding_model: str | None = ""
    language: str | None = "English"
    permission: str | None = "me"
    chunk_method: str | None = "naive"
    parser_config: ParserConfig = Field(default_factory=ParserConfig)
    document_count: int = 0
    chunk_count: int = 0
    token_num: int = 0
    tenant_id: str | None = None
    created_by: str | None = None
    create_time: Any = None
    update_time: Any = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for old, new in (
                ("doc_num", "document_count"),
                ("chunk_num", "chunk_count"),
                ("parser_id", "chunk_method"),
                ("embd_id", "embedding_model"),
            ):
                if old in data and new not in data:
                    data[new] = data[old]
            for key in ("document_count", "chunk_count", "token_num", "parser_config"):
                if data.get(key) is None:
                    data.pop(key, None)
        return data


class DataSet(
    _DataSetFields,
    DataSetDocuments,
    DataSetParsing,
    DataSetMetadata,
    DataSetIndexes,
    SyncObject,
):
    """A dataset (knowledge base)."""

    ParserConfig: ClassVar[type[ParserConfig]] = ParserConfig

    def update(self, update_message: Mapping[str, Any]) -> DataSet:
        """Update fields (seed parser_config keys are translated); refreshes and returns self."""
        self._merge(self._c._run(update_dataset(self.id, update_message)))
        return self

    def retrieve(self, question: str, **kwargs: Any) -> list[Chunk]:
        """:meth:`RAGFlow.retrieve` restricted to this dataset."""
        return self._c.retrieve(question, dataset_ids=[self.id], **kwargs)


class AsyncDataSet(
    _DataSetFields,
    AsyncDataSetDocuments,
    AsyncDataSetParsing,
    AsyncDataSetMetadata,
    AsyncDataSetIndexes,
    AsyncObject,
):
    """Async twin of :class:`DataSet`."""

    ParserConfig: ClassVar[type[ParserConfig]] = ParserConfig

    async def update(self, update_message: Mapping[str, Any]) -> AsyncDataSet:
        """Update fields (seed parser_config keys are translated); refreshes and returns self."""
        self._merge(await self._c._run(update_dataset(self.id, update_message)))
        return self

    async def retrieve(self, question: str, **kwargs: Any) -> list[AsyncChunk]:
        """:meth:`RAGFlow.retrieve` restricted to this dataset."""
        return await self._c.retrieve(question, dataset_ids=[self.id], **kwargs)


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class Datasets(SyncAPIClient):
    """``RAGFlow``'s dataset methods."""

    def create_dataset(
        self,
        name: str,
        avatar: str = "",
        description: str = "",
        embedding_model: str | None = DEFAULT_SEED_EMBEDDING,
        language: str = "English",
        permission: str = "me",
        chunk_method: str = "naive",
        parser_config: Any = None,
        **extra: Any,
    ) -> DataSet:
        """Create a dataset (``embedding_model`` is sent only in ``name@provider`` form)."""
        dataset: DataSet = self._run(
            create_dataset(
                self,
                name,
                avatar,
                description,
                embedding_model,
                language,
                permission,
                chunk_method,
                parser_config,
                extra,
            )
        )
        return dataset

    def get_dataset(self, id: str | None = None, *, name: str | None = None) -> DataSet:
        """One dataset by id or exact name; NotFoundError when missing."""
        dataset: DataSet = self._run(get_dataset(self, id, name))
        return dataset

    def list_datasets(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[DataSet]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of ≤ 100)."""
        offset, limit = page_window(page, page_size)
        return self._collect(walk_datasets(self, offset, limit, orderby, desc, id, name))

    def iter_datasets(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[DataSet]:
        """Every dataset, lazily."""
        return self._iterate(walk_datasets(self, 1, None, orderby, desc, None, name))

    def delete_datasets(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._run(delete_datasets(self, ids, delete_all))

    def create_document(self, dataset: DataSet, name: str, blob: bytes) -> Document:
        """Upload one document (the seed's retrieval example uses this helper)."""
        docs = dataset.upload_documents([{"display_name": name, "blob": blob}])
        return docs[0]

    def get_knowledge_graph(self, dataset_id: str) -> dict[str, Any]:
        """A dataset's knowledge graph: ``graph`` (nodes, edges) and ``mind_map``."""
        result: dict[str, Any] = self._run(get_knowledge_graph(dataset_id))
        return result

    def delete_knowledge_graph(self, dataset_id: str) -> None:
        """Delete a dataset's knowledge graph."""
        self._run(delete_knowledge_graph(dataset_id))


class AsyncDatasets(AsyncAPIClient):
    """``AsyncRAGFlow``'s dataset methods."""

    async def create_dataset(
        self,
        name: str,
        avatar: str = "",
        description: str = "",
        embedding_model: str | None = DEFAULT_SEED_EMBEDDING,
        language: str = "English",
        permission: str = "me",
        chunk_method: str = "naive",
        parser_config: Any = None,
        **extra: Any,
    ) -> AsyncDataSet:
        """Create a dataset (``embedding_model`` is sent only in ``name@provider`` form)."""
        dataset: AsyncDataSet = await self._run(
            create_dataset(
                self,
                name,
                avatar,
                description,
                embedding_model,
                language,
                permission,
                chunk_method,
                parser_config,
                extra,
            )
        )
        return dataset

    async def get_dataset(self, id: str | None = None, *, name: str | None = None) -> AsyncDataSet:
        """One dataset by id or exact name; NotFoundError when missing."""
        dataset: AsyncDataSet = await self._run(get_dataset(self, id, name))
        return dataset

    async def list_datasets(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncDataSet]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of ≤ 100)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(walk_datasets(self, offset, limit, orderby, desc, id, name))

    def iter_datasets(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncDataSet]:
        """Every dataset, lazily."""
        return self._iterate(walk_datasets(self, 1, None, orderby, desc, None, name))

    async def delete_datasets(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._run(delete_datasets(self, ids, delete_all))

    async def create_document(self, dataset: AsyncDataSet, name: str, blob: bytes) -> Any:
        """Upload one document (the seed's retrieval example uses this helper)."""
        docs = await dataset.upload_documents([{"display_name": name, "blob": blob}])
        return docs[0]

    async def get_knowledge_graph(self, dataset_id: str) -> dict[str, Any]:
        """A dataset's knowledge graph: ``graph`` (nodes, edges) and ``mind_map``."""
        result: dict[str, Any] = await self._run(get_knowledge_graph(dataset_id))
        return result

    async def delete_knowledge_graph(self, dataset_id: str) -> None:
        """Delete a dataset's knowledge graph."""
        await self._run(delete_knowledge_graph(dataset_id))
