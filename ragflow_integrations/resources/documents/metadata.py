"""Document metadata in bulk: a dataset's metadata summary, batch updates and deletes, the
auto-metadata configuration, and the metadata of freshly uploaded documents.

Operations (``GET /datasets/{id}/metadata/summary``, ``POST /datasets/{id}/metadata/update``,
``GET/PUT /datasets/{id}/metadata/config``, ``PUT …/documents/{id}/metadata/config``); the
plain objects :class:`MetadataFieldSummary`, :class:`MetadataUpdateResult`,
:class:`AutoMetadataConfig`; :class:`DataSetMetadata` (``DataSet``'s metadata methods) and
:class:`DocumentMetadataConfig` (``Document.update_auto_metadata``). Methods call the operation of
the same name defined in this module.

RAGFlow's batch update applies one set of values to every selected document, so uploads set
their ``meta_fields`` with one request per distinct value set (:func:`set_uploaded_metadata`);
servers without the route (before v0.23) get one document update each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from ..._core.features import ServerFeatures
from ..._core.ops import (
    FEATURES,
    Op,
    RawContext,
    active_condition,
    as_id_list,
    call,
    call_feature,
    collect,
    data_of,
    logger,
    object_of,
    require,
    seg,
)
from ..._core.request import check_json, make_params
from ..._models import AsyncObject, SyncObject, _Model
from .parsing import poll_documents

METADATA_UPDATE_MAX_IDS = 500
"""Documents named in one batch update (a JSON body; the route itself sets no limit)."""

# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class MetadataFieldSummary(_Model):
    """One metadata key across a dataset: its value ``type`` (``string``, ``number``, ``list``,
    ``time``) and ``values`` as ``(value, documents)`` pairs, most frequent first."""

    type: str = "string"
    values: list[tuple[str, int]] = Field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """``values`` as a dict: value -> number of documents holding it."""
        return dict(self.values)


class MetadataUpdateResult(_Model):
    """What a batch update did: documents ``matched`` by the selector, and ``updated``."""

    updated: int = 0
    matched: int = 0

    @model_validator(mode="before")
    @classmethod
    def _wire_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "matched_docs" in data and "matched" not in data:
            data = {**data, "matched": data["matched_docs"]}
        return data


class AutoMetadataConfig(_Model):
    """The metadata the server extracts while parsing: ``metadata`` (your fields) and
    ``built_in_metadata``, each a list of ``{"key", "type", "description"?, "enum"?}`` with
    ``type`` one of ``string``, ``list``, ``time``, ``number``."""

    metadata: list[dict[str, Any]] = Field(default_factory=list)
    built_in_metadata: list[dict[str, Any]] = Field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def _document_id_list(ids: Sequence[str] | None) -> list[str] | None:
    if ids is None:
        return None
    out = as_id_list(ids, "document_ids")
    for item in out:
        if "," in item:
            raise ValueError(f"document_ids items must not contain ',' (got {item!r:.40})")
    return out


def metadata_summary(dataset_id: str, document_ids: Sequence[str] | None = None) -> Op:
    ids = _document_id_list(document_ids)
    path = f"/datasets/{seg(dataset_id)}/metadata/summary"
    features: ServerFeatures = yield from require("metadata_batch", "the metadata summary")
    if ids == []:
        return {}
    if ids and not features.metadata_summary_filter:
        raise features.unsupported(
            "metadata_summary_filter", "a metadata summary of some documents (document_ids=)"
        )
    params = make_params(doc_ids=",".join(ids) if ids else None)
    response = yield from call_feature(
        "metadata_batch", "the metadata summary", "GET", path, params=params
    )
    summary = object_of(response, "the metadata summary").get("summary")
    if not isinstance(summary, Mapping):
        return {}
    return {
        str(key): MetadataFieldSummary.model_validate(value)
        for key, value in summary.items()
        if isinstance(value, Mapping)
    }


def _check_value(key: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None or isinstance(item, (Mapping, list, tuple, set)):
            raise TypeError(
                f"metadata value of {key!r} must be a str, int, float or a list of those "
                f"(got {type(item).__name__})"
            )
    check_json(value, key)


def _update_entries(updates: Any) -> list[dict[str, Any]]:
    """``{"key": value}`` or ``[{"key", "value", "match"?}]`` as the route's ``updates``."""
    if updates is None:
        return []
    if isinstance(updates, Mapping):
        entries: list[Any] = [{"key": k, "value": v} for k, v in updates.items()]
    elif isinstance(updates, (list, tuple)):
        entries = list(updates)
    else:
        raise TypeError(
            "updates must be a dict of key -> value, or a list of "
            f"{{'key', 'value', 'match'?}} dicts (got {type(updates).__name__})"
        )
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
            raise TypeError(f"each update needs a str 'key' and a 'value' (got {entry!r:.60})")
        if not entry["key"] or "value" not in entry:
            raise ValueError(f"each update needs a non-empty 'key' and a 'value' ({entry!r:.60})")
        _check_value(entry["key"], entry["value"])
        if entry.get("match") is not None:
            _check_value(entry["key"], entry["match"])
        out.append({k: entry[k] for k in ("key", "value", "match") if k in entry})
    return out


def _delete_entries(deletes: Any) -> list[dict[str, Any]]:
    """``["key", ...]`` or ``[{"key", "value"?}]`` as the route's ``deletes``."""
    if deletes is None:
        return []
    if isinstance(deletes, (str, Mapping)) or not isinstance(deletes, (list, tuple)):
        raise TypeError(
            "deletes must be a list of keys, or of {'key', 'value'?} dicts "
            f"(got {type(deletes).__name__})"
        )
    out = []
    for entry in deletes:
        item = {"key": entry} if isinstance(entry, str) else entry
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str) or not item["key"]:
            raise TypeError(f"each delete needs a non-empty str 'key' (got {entry!r:.60})")
        if item.get("value") is not None:
            _check_value(item["key"], item["value"])
        out.append({k: item[k] for k in ("key", "value") if k in item})
    return out


def update_metadata(
    dataset_id: str,
    updates: Any = None,
    deletes: Any = None,
    *,
    document_ids: Sequence[str] | None = None,
    metadata_condition: Mapping[str, Any] | None = None,
) -> Op:
    """Batch update. The selector is the intersection of ``document_ids`` and the documents
    matching ``metadata_condition`` when both are given; a condition alone selects every
    matching document (listed first: RAGFlow's route selects nothing without ids)."""
    update_list, delete_list = _update_entries(updates), _delete_entries(deletes)
    if not update_list and not delete_list:
        raise ValueError("nothing to change: pass updates={'key': value} and/or deletes=['key']")
    ids = _document_id_list(document_ids)
    if metadata_condition is not None and not isinstance(metadata_condition, Mapping):
        raise TypeError("metadata_condition must be a dict like {'conditions': [...]}")
    condition = (
        dict(metadata_condition)
        if metadata_condition is not None and active_condition(metadata_condition)
        else None
    )
    if ids is None and condition is None:
        raise ValueError(
            "select the documents: pass document_ids=[...] and/or metadata_condition={...} "
            "(both: the listed documents that match the condition)"
        )
    yield from require("metadata_batch", "updating metadata in bulk")
    if ids is None:
        from .documents import walk_documents

        rows = yield from collect(
            walk_documents(RawContext(), dataset_id, metadata_condition=condition)
        )
        ids = [str(row["id"]) for row in rows if row.get("id")]
    selector: dict[str, Any] = {}
    if condition is not None:
        selector["metadata_condition"] = condition
    updated = matched = 0
    for start in range(0, len(ids), METADATA_UPDATE_MAX_IDS):
        batch = ids[start : start + METADATA_UPDATE_MAX_IDS]
        response = yield from call_feature(
            "metadata_batch",
            "updating metadata in bulk",
            "POST",
            f"/datasets/{seg(dataset_id)}/metadata/update",
            json={
                "selector": {**selector, "document_ids": batch},
                "updates": update_list,
                "deletes": delete_list,
            },
        )
        result = MetadataUpdateResult.model_validate(data_of(response) or {})
        updated, matched = updated + result.updated, matched + result.matched
    return MetadataUpdateResult(updated=updated, matched=matched)


def get_auto_metadata(dataset_id: str) -> Op:
    response = yield from call_feature(
        "auto_metadata_config",
        "reading the auto-metadata configuration",
        "GET",
        f"/datasets/{seg(dataset_id)}/metadata/config",
    )
    return AutoMetadataConfig.model_validate(object_of(response, "the metadata configuration"))


def _fields(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(f, Mapping) for f in value):
        raise TypeError(
            f"{name} must be a list of {{'key', 'type', 'description'?, 'enum'?}} dicts "
            f"(got {type(value).__name__})"
        )
    for field in value:
        check_json(field, name)
    return [dict(f) for f in value]


def update_auto_metadata(
    dataset_id: str,
    metadata: Sequence[Mapping[str, Any]] | None = None,
    built_in_metadata: Sequence[Mapping[str, Any]] | None = None,
) -> Op:
    """Set the configuration; the list not given is kept (the route replaces both)."""
    if metadata is None and built_in_metadata is None:
        raise ValueError("pass metadata=[...] and/or built_in_metadata=[...]")
    body: dict[str, Any] = {}
    if metadata is not None:
        body["metadata"] = _fields(metadata, "metadata")
    if built_in_metadata is not None:
        body["built_in_metadata"] = _fields(built_in_metadata, "built_in_metadata")
    if len(body) < 2:
        current: AutoMetadataConfig = yield from get_auto_metadata(dataset_id)
        body = {**current.model_dump(include={"metadata", "built_in_metadata"}), **body}
    response = yield from call_feature(
        "auto_metadata_config",
        "setting the auto-metadata configuration",
        "PUT",
        f"/datasets/{seg(dataset_id)}/metadata/config",
        json=body,
    )
    data = data_of(response)
    return AutoMetadataConfig.model_validate(data if isinstance(data, Mapping) else body)


def update_document_auto_metadata(dataset_id: str, document_id: str, metadata: Any) -> Op:
    """A document's own auto-metadata configuration; returns its ``parser_config``."""
    if not isinstance(metadata, (Mapping, list, tuple)):
        raise TypeError(
            "metadata must be the document's metadata configuration: a list of "
            f"{{'key', 'type', ...}} dicts or a dict (got {type(metadata).__name__})"
        )
    check_json(metadata, "metadata")
    response = yield from call_feature(
        "auto_metadata_config",
        "setting a document's auto-metadata configuration",
        "PUT",
        f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/metadata/config",
        json={"metadata": metadata},
    )
    config = object_of(response, "the updated document").get("parser_config")
    return dict(config) if isinstance(config, Mapping) else {"metadata": metadata}


def _value_set_key(meta: Mapping[str, Any]) -> str:
    return json.dumps(meta, sort_keys=True, default=str)


def _one_by_one(
    dataset_id: str,
    pairs: Sequence[tuple[dict[str, Any], Mapping[str, Any]]],
    features: ServerFeatures,
) -> Op:
    """One document update per document (it replaces the document's whole metadata)."""
    path = f"/datasets/{seg(dataset_id)}/documents"
    for doc, meta in pairs:
        updated = yield call(
            features.update_method, f"{path}/{seg(doc['id'])}", json={"meta_fields": dict(meta)}
        )
        row = data_of(updated)
        row = dict(row) if isinstance(row, Mapping) else {}
        row.setdefault("meta_fields", dict(meta))  # the value the server accepted
        doc.update(row)


def set_uploaded_metadata(
    dataset_id: str,
    docs: Sequence[dict[str, Any]],
    metas: Sequence[Mapping[str, Any]],
    *,
    reread: bool = True,
) -> Op:
    """Give fresh documents (rows, changed in place) their ``meta_fields``.

    With the batch route: one request per distinct value set (documents sharing their metadata
    share the request), then, when ``reread``, the documents read back (≤ 100 per request) so
    they show what the server stored (v0.27 answers neither route with the metadata, and may
    normalise values, e.g. split ``"a,b"`` in a list). Without it: one document update each.
    """
    pairs = [(doc, meta) for doc, meta in zip(docs, metas, strict=True) if meta]
    if not pairs:
        return None
    features: ServerFeatures = yield FEATURES
    if not features.metadata_batch:
        yield from _one_by_one(dataset_id, pairs, features)
        return None
    groups: dict[str, tuple[Mapping[str, Any], list[dict[str, Any]]]] = {}
    for doc, meta in pairs:
        groups.setdefault(_value_set_key(meta), (meta, []))[1].append(doc)
    for meta, group in groups.values():
        # Fresh documents hold no metadata, so sending the same values again changes nothing:
        # the request may be retried like an idempotent one.
        response = yield call(
            "POST",
            f"/datasets/{seg(dataset_id)}/metadata/update",
            json={
                "selector": {"document_ids": [str(d["id"]) for d in group]},
                "updates": [{"key": k, "value": v} for k, v in meta.items()],
                "deletes": [],
            },
            idempotent=True,
        )
        result = MetadataUpdateResult.model_validate(data_of(response) or {})
        if result.updated < len(group):
            # RAGFlow answers success with fewer documents updated when its metadata store
            # failed (it logs the error and counts 0): set them one by one instead.
            logger.warning(
                "The batch metadata update set %d of %d documents; updating them one by one",
                result.updated,
                len(group),
            )
            yield from _one_by_one(dataset_id, [(d, meta) for d in group], features)
            continue
        for doc in group:
            doc["meta_fields"] = dict(meta)
    if reread:
        fresh = yield from poll_documents(dataset_id, [str(d["id"]) for d, _ in pairs], features)
        for doc, _ in pairs:
            doc.update(fresh.get(str(doc["id"]), {}))
    return None


# ----------------------------------------------------------------------------------------------
# DataSet's and Document's metadata methods
# ----------------------------------------------------------------------------------------------


class DataSetMetadata(SyncObject):
    """``DataSet``'s metadata methods: summary, batch update, auto-metadata configuration."""

    def metadata_summary(
        self, document_ids: Sequence[str] | None = None
    ) -> dict[str, MetadataFieldSummary]:
        """Each metadata key of the dataset (or of ``document_ids``) with its type and value
        counts (RAGFlow v0.23+; ``document_ids`` v0.25+)."""
        result: dict[str, MetadataFieldSummary] = self._c._run(
            metadata_summary(self.id, document_ids)
        )
        return result

    def update_metadata(
        self,
        updates: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        deletes: Sequence[str | Mapping[str, Any]] | None = None,
        *,
        document_ids: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
    ) -> MetadataUpdateResult:
        """Set ``updates`` and remove ``deletes`` on the selected documents (see docs/client.md,
        "Document metadata": both selectors given = their intersection)."""
        result: MetadataUpdateResult = self._c._run(
            update_metadata(
                self.id,
                updates,
                deletes,
                document_ids=document_ids,
                metadata_condition=metadata_condition,
            )
        )
        return result

    def get_auto_metadata(self) -> AutoMetadataConfig:
        """The metadata fields the server extracts while parsing (RAGFlow v0.25.1+)."""
        result: AutoMetadataConfig = self._c._run(get_auto_metadata(self.id))
        return result

    def update_auto_metadata(
        self,
        metadata: Sequence[Mapping[str, Any]] | None = None,
        built_in_metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> AutoMetadataConfig:
        """Set the fields extracted while parsing; a list not given is kept (v0.25.1+)."""
        result: AutoMetadataConfig = self._c._run(
            update_auto_metadata(self.id, metadata, built_in_metadata)
        )
        return result


class AsyncDataSetMetadata(AsyncObject):
    """Async twin of :class:`DataSetMetadata`."""

    async def metadata_summary(
        self, document_ids: Sequence[str] | None = None
    ) -> dict[str, MetadataFieldSummary]:
        """Each metadata key of the dataset (or of ``document_ids``) with its type and value
        counts (RAGFlow v0.23+; ``document_ids`` v0.25+)."""
        result: dict[str, MetadataFieldSummary] = await self._c._run(
            metadata_summary(self.id, document_ids)
        )
        return result

    async def update_metadata(
        self,
        updates: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        deletes: Sequence[str | Mapping[str, Any]] | None = None,
        *,
        document_ids: Sequence[str] | None = None,
        metadata_condition: Mapping[str, Any] | None = None,
    ) -> MetadataUpdateResult:
        """Set ``updates`` and remove ``deletes`` on the selected documents (see docs/client.md,
        "Document metadata": both selectors given = their intersection)."""
        result: MetadataUpdateResult = await self._c._run(
            update_metadata(
                self.id,
                updates,
                deletes,
                document_ids=document_ids,
                metadata_condition=metadata_condition,
            )
        )
        return result

    async def get_auto_metadata(self) -> AutoMetadataConfig:
        """The metadata fields the server extracts while parsing (RAGFlow v0.25.1+)."""
        result: AutoMetadataConfig = await self._c._run(get_auto_metadata(self.id))
        return result

    async def update_auto_metadata(
        self,
        metadata: Sequence[Mapping[str, Any]] | None = None,
        built_in_metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> AutoMetadataConfig:
        """Set the fields extracted while parsing; a list not given is kept (v0.25.1+)."""
        result: AutoMetadataConfig = await self._c._run(
            update_auto_metadata(self.id, metadata, built_in_metadata)
        )
        return result


class DocumentMetadataConfig(SyncObject):
    """``Document.update_auto_metadata``: the document's own auto-metadata configuration."""

    if TYPE_CHECKING:
        dataset_id: str | None

    def update_auto_metadata(self, metadata: Any) -> Any:
        """Set the metadata fields extracted from this document while parsing (stored in its
        ``parser_config["metadata"]``; RAGFlow v0.25.1+); refreshes and returns self."""
        config = self._c._run(
            update_document_auto_metadata(str(self.dataset_id), self.id, metadata)
        )
        self._merge({"parser_config": config})
        return self


class AsyncDocumentMetadataConfig(AsyncObject):
    """Async twin of :class:`DocumentMetadataConfig`."""

    if TYPE_CHECKING:
        dataset_id: str | None

    async def update_auto_metadata(self, metadata: Any) -> Any:
        """Set the metadata fields extracted from this document while parsing (stored in its
        ``parser_config["metadata"]``; RAGFlow v0.25.1+); refreshes and returns self."""
        config = await self._c._run(
            update_document_auto_metadata(str(self.dataset_id), self.id, metadata)
        )
        self._merge({"parser_config": config})
        return self
