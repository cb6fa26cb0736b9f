"""Every client operation as a sans-I/O generator, shared by the sync and the async client.

An operation yields instructions and receives their results:

* :class:`Call` -> the decoded envelope (dict), raw bytes or JSON of one request;
* :class:`Sleep` -> ``None`` after sleeping;
* :data:`FEATURES` -> the :class:`ServerFeatures` (probed once by the driver);
* :class:`Emit` -> ``None`` (only in iterator operations: the driver yields the item).

Its return value is the method's result, or a :class:`StreamPlan` the driver then streams.
Objects are built through ``ctx.wrap(kind, data)`` so the same logic serves sync and async models.
Errors raised by a request are thrown into the generator, so operations may handle them.
"""

from __future__ import annotations

import binascii
import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import (
    APIError,
    DocumentParseError,
    NotFoundError,
    ParseFailure,
    ParseTimeoutError,
    RAGFlowError,
    ResponseDecodeError,
    RouteNotFoundError,
    UploadError,
)
from .features import ServerFeatures
from .metadata_filter import metadata_matches
from .paging import PageWalker, as_int
from .request import FileTuple, RequestSpec, check_json, check_text, make_params, path_segment
from .sse import StreamEvent, StreamMode, reference_chunks, split_think


@dataclass(frozen=True)
class Call:
    spec: RequestSpec


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    item: Any


class _Features:
    """Instruction asking the driver for the server's :class:`ServerFeatures`."""


FEATURES = _Features()

Instruction = Call | Sleep | Emit | _Features
Op = Generator[Instruction, Any, Any]


class Context(Protocol):
    """What operations need from a client: object construction bound to that client."""

    def wrap(self, kind: str, data: Mapping[str, Any]) -> Any: ...


@dataclass
class StreamPlan:
    """A streaming request plus how to turn its events into results, and what to run after."""

    spec: RequestSpec
    kind: str  # "chat" | "agent" | "openai"
    mode: StreamMode = "auto"
    mapper: Callable[[StreamEvent], Any] | None = None
    cleanup: Callable[[], Op] | None = None
    first_payloads: list[dict[str, Any]] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------

logger = logging.getLogger("ragflow_integrations")
DEFAULT_SEED_EMBEDDING = "BAAI/bge-zh-v1.5"
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
UPDATE_MAX_IDS = 100


def call(method: str, path: str, **kwargs: Any) -> Call:
    return Call(RequestSpec(method, path, **kwargs))


def data_of(body: Any) -> Any:
    return body.get("data") if isinstance(body, Mapping) else body


def updated_state(response: Any, reread: Callable[[], Op], *needed: str) -> Op:
    """What the server holds after an update: the answer's object when it has one (with every
    key of ``needed``), else the object read again (RAGFlow v0.22 answers some updates with a
    bare ``{"code": 0}``; v0.27 leaves ``meta_fields`` out of an updated document)."""
    data = data_of(response)
    if isinstance(data, Mapping) and data and all(key in data for key in needed):
        return dict(data)
    fresh = yield from reread()
    return dict(fresh) if isinstance(fresh, Mapping) else {}


def object_of(body: Any, what: str) -> dict[str, Any]:
    """The answer's ``data`` as a dict, or a ResponseDecodeError saying what was expected."""
    data = data_of(body)
    if isinstance(data, Mapping):
        return dict(data)
    raise ResponseDecodeError(
        f"Expected {what} (a JSON object) in the answer's data, got "
        f"{type(data).__name__}: {str(data)[:100]!r}. Is base_url a RAGFlow server?"
    )


def list_of(body: Any, what: str) -> list[dict[str, Any]]:
    """The answer's ``data`` as a list of objects (odd items skipped), or a ResponseDecodeError."""
    data = data_of(body)
    if isinstance(data, list):
        return [dict(d) for d in data if isinstance(d, Mapping)]
    raise ResponseDecodeError(
        f"Expected a list of {what} in the answer's data, got {type(data).__name__}: "
        f"{str(data)[:100]!r}. Is base_url a RAGFlow server?"
    )


def seg(value: Any, name: str = "id") -> str:
    """An id as one escaped URL path segment (TypeError/ValueError naming it when unusable)."""
    return path_segment(value, name)


def as_id_list(ids: Any, name: str, what: str = "id") -> list[str]:
    """A list of str ids (or other str items, named by ``what``), or a TypeError naming the
    argument."""
    if isinstance(ids, str):
        raise TypeError(f"{name} must be a list of {what}s, not a string; pass [{ids!r:.40}]")
    if not isinstance(ids, (list, tuple, set, frozenset)):
        raise TypeError(
            f"{name} must be a list of str {what}s (got {type(ids).__name__} {ids!r:.40}); "
            f"pass {name}=['<{what}>', ...]"
        )
    out: list[str] = []
    for item in ids:
        if not isinstance(item, str):
            raise TypeError(
                f"{name} must contain str {what}s (got {type(item).__name__} {item!r:.40})"
            )
        out.append(check_text(item, name))
    return out


def doc_ids_param(value: Any) -> str | None:
    """Completion ``doc_ids``: the server wants one comma-separated string (a JSON list breaks it).

    A list of ids is joined; a str is sent as is; None or an empty list means "not given".
    """
    if value is None:
        return None
    if isinstance(value, str):
        return check_text(value, "doc_ids") or None
    ids = as_id_list(value, "doc_ids")
    for item in ids:
        if "," in item:
            raise ValueError(f"doc_ids items must not contain ',' (got {item!r:.40})")
    return ",".join(ids) or None


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


def active_condition(condition: Mapping[str, Any] | None) -> bool:
    """Whether a ``metadata_condition`` filters anything.

    RAGFlow answers a condition with an empty ``conditions`` list with no results at all; an empty
    filter means "no filter" here, so it is not sent.
    """
    if not condition:
        return False
    return not (isinstance(condition, Mapping) and condition.get("conditions") == [])


def as_dict(value: Any, name: str = "value") -> dict[str, Any]:
    """A dict from a dict, a pydantic model, or an object with attributes (seed ParserConfig)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        result = dump(exclude_none=True)
        return dict(result) if isinstance(result, Mapping) else {}
    to_dict = getattr(value, "to_dict", None) or getattr(value, "to_json", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return dict(result)
    attributes = getattr(value, "__dict__", None)
    if not isinstance(attributes, dict) or isinstance(value, (str, bytes, int, float, list)):
        raise TypeError(
            f"{name} must be a dict (or an object with attributes), not {type(value).__name__}; "
            f"pass {name}={{...}}"
        )
    return {k: v for k, v in attributes.items() if not k.startswith("_")}


def merge_update(update_message: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accept a dict, or a list of dicts (as in a seed example), merged left to right."""
    if isinstance(update_message, Mapping):
        return dict(update_message)
    if isinstance(update_message, (list, tuple)):
        merged: dict[str, Any] = {}
        for part in update_message:
            if not isinstance(part, Mapping):
                raise TypeError(f"update_message list items must be dicts (got {part!r})")
            merged.update(part)
        return merged
    raise TypeError(f"update_message must be a dict (got {type(update_message).__name__})")


def translate_parser_config(config: Any) -> dict[str, Any] | None:
    """Seed parser_config keys to current ones (chunk_token_count, bool layout_recognize)."""
    if config is None:
        return None
    cfg = as_dict(config, "parser_config")
    if "chunk_token_count" in cfg:
        cfg.setdefault("chunk_token_num", cfg["chunk_token_count"])
        del cfg["chunk_token_count"]
    layout = cfg.get("layout_recognize")
    if isinstance(layout, bool):
        cfg["layout_recognize"] = "DeepDOC" if layout else "Plain Text"
    raptor = cfg.get("raptor")
    if isinstance(raptor, Mapping) and "user_raptor" in raptor:
        raptor = dict(raptor)
        raptor.setdefault("use_raptor", raptor.pop("user_raptor"))
        cfg["raptor"] = raptor
    return cfg


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


def require_ids(ids: Sequence[str] | None, delete_all: bool, what: str) -> list[str] | None:
    """Validate delete arguments: None needs delete_all=True; returns the id list or None."""
    if ids is None:
        if not delete_all:
            raise ValueError(
                f"delete_{what}(ids=None) would delete every {what[:-1]} on old servers and "
                f"nothing on new ones, so it is refused: pass ids=[...] to delete some {what}, "
                f"or delete_all=True to delete all of them."
            )
        return None
    id_list = as_id_list(ids, "ids")
    if delete_all:
        raise ValueError("pass either ids=[...] or delete_all=True, not both")
    return id_list


def _batches(items: Sequence[str], size: int = UPDATE_MAX_IDS) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def message_dict(
    answer: str,
    reference: Any,
    *,
    session_id: Any = None,
    message_id: Any = None,
    reasoning: str = "",
    role: str = "assistant",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    chunks, aggs = reference_chunks(reference)
    out: dict[str, Any] = {
        "role": role,
        "content": answer,
        "delta": answer,
        "reasoning": reasoning,
        "reference": chunks or [],
        "doc_aggs": aggs or [],
        "final": True,
        "session_id": session_id or None,
        "id": message_id or None,
    }
    if extra:
        for key in ("prompt", "usage", "created_at", "audio_binary"):
            if key in extra:
                out[key] = extra[key]
    return out


# ----------------------------------------------------------------------------------------------
# features and lists
# ----------------------------------------------------------------------------------------------


def probe_features(server_version: str | None = None) -> Op:
    """``GET /system/version``; a missing route means a server older than v0.25 (HTTP 404 there
    or, as RAGFlow v0.22-v0.24 answer unknown routes, HTTP 200 with code 100 ``<NotFound …>``)."""
    if server_version:
        return ServerFeatures.from_version(server_version)
    try:
        body = yield call("GET", "/system/version", auth=False, idempotent=True)
    except RouteNotFoundError:
        return ServerFeatures.from_version(None)
    version = data_of(body)
    return ServerFeatures.from_version(str(version) if version else None)


def items_of(data: Any, *keys: str) -> tuple[list[Any], int | None]:
    """Items and total from any list shape (a list, or a dict keyed by one of ``keys``)."""
    if isinstance(data, list):
        return data, None
    if isinstance(data, Mapping):
        for key in keys:
            value = data.get(key)
            if isinstance(value, list):
                total = data.get("total")
                return value, total if isinstance(total, int) else None
    return [], None


def walk(
    ctx: Context,
    kind: str,
    path: str,
    params: Mapping[str, Any],
    *,
    offset: int = 1,
    limit: int | None = None,
    keys: tuple[str, ...] = (),
    total_key: str | None = None,
    method: str = "GET",
    json_body: Mapping[str, Any] | None = None,
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
    defaults: Mapping[str, Any] | None = None,
    window_after_keep: bool = False,
    filtered: bool = False,
    enrich: Callable[[list[dict[str, Any]]], Op] | None = None,
) -> Op:
    """Emit the objects of the window ``[offset, offset+limit)`` page by page (≤ 100 per page).

    ``window_after_keep``: the window counts only the items ``keep`` accepts (a filter the
    server cannot apply), so every server page is walked, lazily, until the window is full.
    ``filtered``: the query filters by id/name, and a "not found" answer (how some servers say
    that nothing matched: RAGFlow v0.22 for datasets, chats and agents) means an empty list.
    ``enrich``: a step run on each page's items (dicts, changed in place) before they are built.
    """
    walker = PageWalker(offset, limit)
    skip, left = 0, None
    if window_after_keep:
        skip, left = walker.offset - 1, walker.limit
        if left == 0:
            return None
        walker = PageWalker(1, None)
    while (request := walker.next_request()) is not None:
        page, page_size = request
        if json_body is not None:
            body = dict(json_body, page=page, page_size=page_size)
            response = yield call(method, path, json=body, idempotent=True)
        else:
            query = make_params(**params, page=page, page_size=page_size)
            try:
                response = yield call(method, path, params=query)
            except NotFoundError as exc:
                if filtered and not isinstance(exc, RouteNotFoundError):
                    return None
                raise
        items, total = items_of(data_of(response), *keys)
        if total is None and total_key and isinstance(response, Mapping):
            raw_total = response.get(total_key)
            total = raw_total if isinstance(raw_total, int) else None
        page_items = [
            dict(item)
            for item in walker.accept(items, total)
            if isinstance(item, Mapping) and (keep is None or keep(item))
        ]
        if enrich is not None and page_items:
            yield from enrich(page_items)
        for data in page_items:
            if skip:
                skip -= 1
                continue
            for key, value in (defaults or {}).items():
                data.setdefault(key, value)
            yield Emit(ctx.wrap(kind, data))
            if left is not None:
                left -= 1
                if left == 0:
                    return None
    return None


def delete_by(
    path: str,
    ids: Sequence[str] | None,
    delete_all: bool,
    what: str,
    *,
    id_key: str = "ids",
    list_all: Callable[[], Op] | None = None,
) -> Op:
    """Delete by ids, or everything: ``{"delete_all": true}`` on new servers, listed ids on old."""
    id_list = require_ids(ids, delete_all, what)
    if id_list is not None:
        for batch in _batches(id_list):
            if batch:
                yield call("DELETE", path, json={id_key: batch})
        return None
    features: ServerFeatures = yield FEATURES
    if features.delete_all or list_all is None:
        yield call("DELETE", path, json={"delete_all": True})
        return None
    all_ids: list[str] = yield from list_all()
    for batch in _batches(all_ids):
        if batch:
            yield call("DELETE", path, json={id_key: batch})
    return None


def collect(op: Op) -> Op:
    """Run an iterator operation and return its emitted items as a list (errors reach ``op``)."""
    items: list[Any] = []
    try:
        instruction = next(op)
        while True:
            if isinstance(instruction, Emit):
                items.append(instruction.item)
                instruction = op.send(None)
                continue
            try:
                result = yield instruction
            except Exception as exc:
                instruction = op.throw(exc)
                continue
            instruction = op.send(result)
    except StopIteration:
        pass
    return items


def collect_ids(op: Op) -> Op:
    """Run an iterator operation and return the ``id`` of every emitted object."""
    items = yield from collect(op)
    return [str(item.id) for item in items if getattr(item, "id", "")]


# ----------------------------------------------------------------------------------------------
# datasets
# ----------------------------------------------------------------------------------------------


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
    return (yield from updated_state(response, lambda: get_dataset(_RawContext(), id=dataset_id)))


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


# ----------------------------------------------------------------------------------------------
# documents
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


def _apply_meta_fields(
    path: str,
    docs: list[dict[str, Any]],
    names: Sequence[str],
    metas: Sequence[Mapping[str, Any] | None],
) -> Op:
    """Set ``meta_fields`` on uploaded documents (upload itself cannot carry them)."""
    matched = match_uploads(names, [str(d.get("name", "")) for d in docs])
    for sent_index, doc_index in matched.items():
        meta = metas[sent_index]
        if not meta:
            continue
        doc = docs[doc_index]
        features: ServerFeatures = yield FEATURES
        updated = yield call(
            features.update_method, f"{path}/{seg(doc['id'])}", json={"meta_fields": dict(meta)}
        )
        row = data_of(updated)
        row = dict(row) if isinstance(row, Mapping) else {}
        # v0.27 answers the document row without ``meta_fields`` (metadata lives apart): the
        # value the server accepted is the one sent.
        row.setdefault("meta_fields", dict(meta))
        doc.update(row)


def upload_documents(
    ctx: Context, dataset_id: str, document_list: Sequence[Mapping[str, Any]]
) -> Op:
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
        yield from _apply_meta_fields(path, kept, names, metas)
        failed = unmatched_uploads(names, [str(d.get("name", "")) for d in kept])
        raise UploadError(
            f"Uploaded {len(kept)} of {len(files)} file(s); failed: {failed}. "
            f"Server said: {exc.message}",
            uploaded=[ctx.wrap("document", d) for d in kept],
            failed=failed,
            **exc.context(),
        ) from exc
    yield from _apply_meta_fields(path, docs, names, metas)
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


def parse_documents_start(dataset_id: str, document_ids: Sequence[str]) -> Op:
    ids = _id_list(document_ids, "document_ids")
    if ids:
        yield call("POST", f"/datasets/{seg(dataset_id)}/chunks", json={"document_ids": ids})


def parse_documents_cancel(dataset_id: str, document_ids: Sequence[str]) -> Op:
    ids = _id_list(document_ids, "document_ids")
    if ids:
        yield call("DELETE", f"/datasets/{seg(dataset_id)}/chunks", json={"document_ids": ids})


def _id_list(ids: Sequence[str], what: str) -> list[str]:
    return as_id_list(ids, what)


FINISHED_RUNS = {"DONE", "FAIL", "CANCEL", "3", "4", "2"}


def _is_finished(doc: Mapping[str, Any]) -> bool:
    run = str(doc.get("run", "")).upper()
    progress = doc.get("progress")
    return (
        run in FINISHED_RUNS
        or progress == -1
        or (isinstance(progress, (int, float)) and progress >= 1 and run not in {"RUNNING", "1"})
    )


def _is_failed(doc: Mapping[str, Any]) -> bool:
    run = str(doc.get("run", "")).upper()
    return run in {"FAIL", "CANCEL", "4", "2"} or doc.get("progress") == -1


ProgressCallback = Callable[[Sequence[Any]], None]


def wait_for_parsing(
    ctx: Context,
    dataset_id: str,
    document_ids: Sequence[str],
    *,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    on_progress: ProgressCallback | None = None,
    show_progress: bool = False,
    cancel_on_timeout: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Op:
    """Poll with one list request per poll (``ids`` filter) until every document finished.

    Returns the documents; raises :class:`DocumentParseError` naming each failure and its
    ``progress_msg``, or :class:`ParseTimeoutError` (after cancelling when asked).
    """
    ids = _id_list(document_ids, "document_ids")
    if not ids:
        return []
    deadline = clock() + timeout
    features: ServerFeatures = yield FEATURES
    bar = _progress_bar(len(ids)) if show_progress else None
    latest: dict[str, dict[str, Any]] = {}
    try:
        while True:
            latest = yield from _poll_documents(dataset_id, ids, features)
            docs = [ctx.wrap("document", latest[i]) for i in ids if i in latest]
            missing = [i for i in ids if i not in latest]
            finished = [i for i in ids if i in latest and _is_finished(latest[i])]
            if bar is not None:
                bar.n = len(finished) + len(missing)
                bar.refresh()
            if on_progress is not None:
                on_progress(docs)
            if len(finished) + len(missing) == len(ids):
                break
            if clock() >= deadline:
                pending = [
                    ctx.wrap("document", latest[i])
                    for i in ids
                    if i in latest and not _is_finished(latest[i])
                ]
                cancelled = False
                cancel_error: RAGFlowError | None = None
                if cancel_on_timeout:
                    try:
                        yield from parse_documents_cancel(dataset_id, [d.id for d in pending])
                        cancelled = True
                    except RAGFlowError as exc:  # refused, dropped, garbled: report the timeout
                        logger.warning("Could not cancel parsing after the timeout: %s", exc)
                        cancel_error = exc
                raise ParseTimeoutError(
                    pending, timeout=timeout, cancelled=cancelled, cancel_error=cancel_error
                ) from cancel_error
            yield Sleep(max(0.0, min(poll_interval, deadline - clock())))
    finally:
        if bar is not None:
            bar.close()
    failures = [
        ParseFailure(
            i,
            str(latest[i].get("name", "")),
            str(latest[i].get("progress_msg") or latest[i].get("run", "")),
        )
        for i in ids
        if i in latest and _is_failed(latest[i])
    ]
    failures += [ParseFailure(i, "", "the document no longer exists") for i in missing]
    if failures:
        raise DocumentParseError(failures, documents=docs)
    return docs


def _poll_documents(dataset_id: str, ids: Sequence[str], features: ServerFeatures) -> Op:
    found: dict[str, dict[str, Any]] = {}
    path = f"/datasets/{seg(dataset_id)}/documents"
    if features.delete_all:  # v0.25+: the ids filter exists
        for batch in _batches(list(ids)):
            response = yield call(
                "GET", path, params=make_params(ids=batch, page=1, page_size=len(batch))
            )
            items, _ = items_of(data_of(response), "docs")
            found.update({str(d["id"]): dict(d) for d in items if isinstance(d, Mapping)})
        return found
    wanted = set(ids)
    walker = PageWalker(1, None)
    while (request := walker.next_request()) is not None:
        response = yield call(
            "GET", path, params=make_params(page=request[0], page_size=request[1])
        )
        items, total = items_of(data_of(response), "docs")
        for d in walker.accept(items, total):
            if isinstance(d, Mapping) and d.get("id") in wanted:
                found[str(d["id"])] = dict(d)
        if len(found) == len(wanted):
            break
    return found


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="Parsing", unit="doc")


# ----------------------------------------------------------------------------------------------
# chunks and retrieval
# ----------------------------------------------------------------------------------------------


def walk_chunks(
    ctx: Context,
    dataset_id: str,
    document_id: str,
    keywords: str | None = None,
    offset: int = 1,
    limit: int | None = None,
    id: str | None = None,
) -> Op:
    params = {"keywords": keywords or None, "id": id or None}
    return (
        yield from walk(
            ctx,
            "chunk",
            f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks",
            params,
            offset=offset,
            limit=limit,
            keys=("chunks",),
            defaults={"dataset_id": dataset_id, "document_id": document_id},
        )
    )


def add_chunk(
    ctx: Context,
    dataset_id: str,
    document_id: str,
    content: str,
    important_keywords: Sequence[str] | None = (),
    questions: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    keywords = chunk_list(important_keywords, "important_keywords") or []
    body: dict[str, Any] = {"content": content, "important_keywords": keywords}
    question_list = chunk_list(questions, "questions")
    if question_list:
        body["questions"] = question_list
    body.update(extra or {})
    response = yield call(
        "POST", f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks", json=body
    )
    data = object_of(response, "the added chunk")
    chunk = data.get("chunk", data)
    chunk = dict(chunk) if isinstance(chunk, Mapping) else data
    chunk.setdefault("dataset_id", dataset_id)
    chunk.setdefault("document_id", document_id)
    return ctx.wrap("chunk", chunk)


def delete_chunks(
    ctx: Context,
    dataset_id: str,
    document_id: str,
    chunk_ids: Sequence[str] | None,
    delete_all: bool,
) -> Op:
    return (
        yield from delete_by(
            f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks",
            chunk_ids,
            delete_all,
            "chunks",
            id_key="chunk_ids",
            list_all=lambda: collect_ids(walk_chunks(ctx, dataset_id, document_id)),
        )
    )


def chunk_list(value: Any, name: str) -> list[str] | None:
    """A chunk's ``important_keywords`` / ``questions``: a list of str, or None (not given)."""
    if value is None:
        return None
    return as_id_list(value, name, "keyword" if name == "important_keywords" else "question")


def update_chunk(dataset_id: str, document_id: str, chunk_id: str, update_message: Any) -> Op:
    body = merge_update(update_message)
    for key in ("important_keywords", "questions"):
        if key in body:
            value = chunk_list(body.pop(key), key)
            if value is not None:
                body[key] = value
    features: ServerFeatures = yield FEATURES
    yield call(
        features.update_method,
        f"/datasets/{seg(dataset_id)}/documents/{seg(document_id)}/chunks/{seg(chunk_id)}",
        json=body,
    )
    return body


def retrieval_body(
    question: str,
    dataset_ids: Sequence[str] | None,
    document_ids: Sequence[str] | None,
    similarity_threshold: float,
    vector_similarity_weight: float,
    top_k: int,
    rerank_id: str | None,
    keyword: bool,
    highlight: bool,
    cross_languages: Sequence[str] | None,
    metadata_condition: Mapping[str, Any] | None,
    use_kg: bool,
    toc_enhance: bool,
    reference_metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if not dataset_ids:
        raise ValueError(
            "retrieve needs dataset_ids=[...] (the server requires it even when document_ids "
            "are given)"
        )
    dataset_ids = as_id_list(dataset_ids, "dataset_ids")
    document_ids = as_id_list(document_ids, "document_ids") if document_ids else None
    body: dict[str, Any] = {
        "question": question,
        "dataset_ids": list(dataset_ids),
        "similarity_threshold": similarity_threshold,
        "vector_similarity_weight": vector_similarity_weight,
        "top_k": top_k,
        "keyword": keyword,
        "highlight": highlight,
    }
    if document_ids:
        body["document_ids"] = list(document_ids)
    if rerank_id:
        body["rerank_id"] = rerank_id
    if cross_languages:
        body["cross_languages"] = list(cross_languages)
    if metadata_condition is not None and active_condition(metadata_condition):
        body["metadata_condition"] = dict(metadata_condition)
    if use_kg:
        body["use_kg"] = True
    if toc_enhance:
        body["toc_enhance"] = True
    if reference_metadata:
        body["reference_metadata"] = dict(reference_metadata)
    return body


def _metadata_wanted(body: Mapping[str, Any]) -> tuple[bool, set[str] | None]:
    """Whether ``reference_metadata`` asks for document metadata, and for which fields."""
    preference = body.get("reference_metadata")
    if not isinstance(preference, Mapping) or not preference.get("include"):
        return False, None
    fields = preference.get("fields")
    if fields is None:
        return True, None
    return True, {f for f in fields if isinstance(f, str)} if isinstance(fields, list) else set()


def document_metadata_filler(
    body: Mapping[str, Any],
) -> Callable[[list[dict[str, Any]]], Op] | None:
    """For servers before v0.26, which ignore ``reference_metadata``: a step that gives
    retrieved chunks their document's ``meta_fields`` as ``document_metadata``, as newer servers
    do (one documents request per distinct document of a retrieval, never one per chunk)."""
    wanted, fields = _metadata_wanted(body)
    if not wanted or fields == set():
        return None
    known: dict[str, dict[str, Any]] = {}

    def fill(chunks: list[dict[str, Any]]) -> Op:
        features: ServerFeatures = yield FEATURES
        if features.retrieval_document_metadata:
            return None
        for chunk in chunks:
            doc_id, dataset_id = chunk.get("document_id"), chunk.get("dataset_id")
            if chunk.get("document_metadata") or not doc_id or not dataset_id:
                continue
            if doc_id not in known:
                known[doc_id] = yield from _document_meta_fields(str(dataset_id), str(doc_id))
            meta = known[doc_id]
            if fields is not None:
                meta = {k: v for k, v in meta.items() if k in fields}
            if meta:
                chunk["document_metadata"] = dict(meta)
        return None

    return fill


def _document_meta_fields(dataset_id: str, document_id: str) -> Op:
    try:
        response = yield call(
            "GET",
            f"/datasets/{seg(dataset_id)}/documents",
            params=make_params(id=document_id, page=1, page_size=1),
        )
    except NotFoundError:  # deleted since it was retrieved
        return {}
    items, _ = items_of(data_of(response), "docs")
    meta = items[0].get("meta_fields") if items and isinstance(items[0], Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}


def walk_retrieval(
    ctx: Context, body: Mapping[str, Any], offset: int = 1, limit: int | None = None
) -> Op:
    return (
        yield from walk(
            ctx,
            "chunk",
            "/retrieval",
            {},
            offset=offset,
            limit=limit,
            keys=("chunks",),
            method="POST",
            json_body=body,
            enrich=document_metadata_filler(body),
        )
    )


def retrieve_page(ctx: Context, body: Mapping[str, Any], page: int, page_size: int) -> Op:
    page = as_int(page, "page")
    if as_int(page_size, "page_size") > 100 or page_size < 1:
        raise ValueError(f"page_size must be between 1 and 100 (got {page_size})")
    response = yield call(
        "POST", "/retrieval", json=dict(body, page=page, page_size=page_size), idempotent=True
    )
    data = object_of(response, "a retrieval result")
    items, total = items_of(data, "chunks")
    chunks = [dict(c) for c in items if isinstance(c, Mapping)]
    fill = document_metadata_filler(body)
    if fill is not None and chunks:
        yield from fill(chunks)
    aggs = data.get("doc_aggs") if isinstance(data, Mapping) else None
    return {
        "chunks": [ctx.wrap("chunk", c) for c in chunks],
        "total": total if total is not None else len(chunks),
        "doc_aggs": list(aggs) if isinstance(aggs, list) else [],
    }


# ----------------------------------------------------------------------------------------------
# chats and sessions
# ----------------------------------------------------------------------------------------------

_LLM_SETTING_KEYS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")


def translate_chat_body(body: Mapping[str, Any], features: ServerFeatures) -> dict[str, Any]:
    """Seed nested ``avatar``/``llm``/``prompt`` -> current flat fields (new servers only)."""
    out = dict(body)
    llm = out.pop("llm", None)
    prompt = out.pop("prompt", None)
    avatar = out.pop("avatar", None)
    llm_d = as_dict(llm, "llm") if llm is not None else {}
    prompt_d = as_dict(prompt, "prompt") if prompt is not None else {}
    if "max_token" in llm_d:
        llm_d.setdefault("max_tokens", llm_d.pop("max_token"))
    if features.nested_chat_body:
        if avatar is not None:
            out["avatar"] = avatar
        if llm is not None:
            out["llm"] = llm_d
        if prompt is not None:
            out["prompt"] = prompt_d
        return out
    if avatar:
        out.setdefault("icon", avatar)
    if llm_d:
        if llm_d.get("model_name"):
            out.setdefault("llm_id", llm_d["model_name"])
        setting = {k: llm_d[k] for k in _LLM_SETTING_KEYS if llm_d.get(k) is not None}
        if setting:
            out["llm_setting"] = {**setting, **dict(out.get("llm_setting") or {})}
    if prompt_d:
        config = dict(out.get("prompt_config") or {})
        mapping = {
            "opener": "prologue",
            "show_quote": "quote",
            "prompt": "system",
            "empty_response": "empty_response",
            "variables": "parameters",
        }
        for seed_key, native in mapping.items():
            if prompt_d.get(seed_key) is not None:
                config.setdefault(native, prompt_d[seed_key])
        if config:
            out["prompt_config"] = config
        for key in ("similarity_threshold", "top_n", "top_k"):
            if prompt_d.get(key) is not None:
                out.setdefault(key, prompt_d[key])
        if prompt_d.get("rerank_model") is not None:
            out.setdefault("rerank_id", prompt_d["rerank_model"])
        if prompt_d.get("keywords_similarity_weight") is not None:
            out.setdefault(
                "vector_similarity_weight",
                round(1.0 - float(prompt_d["keywords_similarity_weight"]), 10),
            )
    return out


def create_chat(
    ctx: Context,
    name: str,
    avatar: str = "",
    dataset_ids: Sequence[str] | None = None,
    llm: Any = None,
    prompt: Any = None,
    native: Mapping[str, Any] | None = None,
) -> Op:
    ids = as_id_list(dataset_ids, "dataset_ids") if dataset_ids is not None else []
    as_dict(llm, "llm"), as_dict(prompt, "prompt")  # validate before any request
    features: ServerFeatures = yield FEATURES
    body: dict[str, Any] = {"name": name, "dataset_ids": [d for d in ids if d]}
    if avatar:
        body["avatar"] = avatar
    if llm is not None:
        body["llm"] = llm
    if prompt is not None:
        body["prompt"] = prompt
    body.update(native or {})
    response = yield call("POST", "/chats", json=translate_chat_body(body, features))
    return ctx.wrap("chat", object_of(response, "the created chat"))


def update_chat(chat_id: str, update_message: Any) -> Op:
    message = merge_update(update_message)
    features: ServerFeatures = yield FEATURES
    body = translate_chat_body(message, features)
    response = yield call(features.update_method, f"/chats/{seg(chat_id)}", json=body)
    return (yield from updated_state(response, lambda: get_chat(_RawContext(), chat_id)))


def get_chat(ctx: Context, chat_id: str) -> Op:
    seg(chat_id, "chat_id")
    features: ServerFeatures = yield FEATURES
    try:
        if features.get_routes:
            response = yield call("GET", f"/chats/{seg(chat_id)}")
            return ctx.wrap("chat", object_of(response, "a chat"))
        response = yield call("GET", "/chats", params=make_params(id=chat_id))
    except NotFoundError as exc:
        if isinstance(exc, RouteNotFoundError):
            raise
        raise NotFoundError(
            f"Chat {chat_id} not found (or not accessible with this key): {exc.message}",
            **exc.context(),
        ) from exc
    items, _ = items_of(data_of(response), "chats")
    if not items:
        raise NotFoundError(f"Chat {chat_id} not found", method="GET", path="/chats")
    return ctx.wrap("chat", dict(items[0]))


def walk_chats(
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
            "chat",
            "/chats",
            params,
            offset=offset,
            limit=limit,
            keys=("chats",),
            filtered=bool(id or name),
        )
    )


def delete_chats(ctx: Context, ids: Sequence[str] | None, delete_all: bool) -> Op:
    return (
        yield from delete_by(
            "/chats", ids, delete_all, "chats", list_all=lambda: collect_ids(walk_chats(ctx))
        )
    )


def create_session(
    ctx: Context, chat_id: str, name: str = "New session", extra: Mapping[str, Any] | None = None
) -> Op:
    body = {"name": name, **dict(extra or {})}
    response = yield call("POST", f"/chats/{seg(chat_id)}/sessions", json=body)
    data = object_of(response, "the created session")
    data.setdefault("chat_id", chat_id)
    return ctx.wrap("session", data)


def walk_sessions(
    ctx: Context,
    chat_id: str,
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
            "session",
            f"/chats/{seg(chat_id)}/sessions",
            params,
            offset=offset,
            limit=limit,
            keys=("sessions",),
            defaults={"chat_id": chat_id},
        )
    )


def delete_sessions(ctx: Context, chat_id: str, ids: Sequence[str] | None, delete_all: bool) -> Op:
    return (
        yield from delete_by(
            f"/chats/{seg(chat_id)}/sessions",
            ids,
            delete_all,
            "sessions",
            list_all=lambda: collect_ids(walk_sessions(ctx, chat_id)),
        )
    )


def update_session(chat_id: str, session_id: str, update_message: Any) -> Op:
    body = merge_update(update_message)
    features: ServerFeatures = yield FEATURES
    response = yield call(
        features.update_method, f"/chats/{seg(chat_id)}/sessions/{seg(session_id)}", json=body
    )
    data = data_of(response)  # v0.22 answers a bare {"code": 0}: the renamed fields are sent
    return dict(data) if isinstance(data, Mapping) and data else body


def _messages(messages: Any, name: str = "messages") -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, (list, tuple)):
        raise TypeError(
            f"{name} must be a str or a list of {{'role': ..., 'content': ...}} dicts "
            f"(got {type(messages).__name__})"
        )
    out = []
    for message in messages:
        if isinstance(message, Mapping):
            out.append(dict(message))
        elif hasattr(message, "content"):
            role = getattr(message, "role", None) or "user"
            out.append({"role": str(role), "content": str(getattr(message, "content", ""))})
        else:
            raise TypeError(
                f"{name} items must be {{'role': ..., 'content': ...}} dicts "
                f"(got {type(message).__name__})"
            )
    if not out or out[-1].get("role") != "user":
        raise ValueError(
            f"{name} must end with a user message: pass a non-empty str question or a list "
            "ending with {'role': 'user', 'content': ...}"
        )
    return out


def chat_message_from_data(ctx: Context, data: Mapping[str, Any]) -> Any:
    answer = data.get("answer")
    reasoning, text = split_think(answer if isinstance(answer, str) else "")
    message = message_dict(
        text,
        data.get("reference"),
        session_id=data.get("session_id"),
        message_id=data.get("id"),
        reasoning=reasoning,
        extra=data,
    )
    return ctx.wrap("message", message)


def event_mapper(ctx: Context, as_message: bool) -> Callable[[StreamEvent], Any]:
    """Turn a normalised event into a StreamEvent with Chunk references, or into a Message."""

    def to_chunks(refs: list[Any] | None) -> list[Any] | None:
        if refs is None:
            return None
        return [ctx.wrap("chunk", dict(r)) for r in refs]

    def mapper(event: StreamEvent) -> Any:
        chunks = to_chunks(event.reference)
        if not as_message:
            event.reference = chunks
            return event
        return ctx.wrap(
            "message",
            {
                "role": "assistant",
                "content": event.content,
                "delta": event.delta,
                "reasoning": event.reasoning,
                "reasoning_delta": event.reasoning_delta,
                "reference": chunks or [],
                "doc_aggs": event.doc_aggs or [],
                "final": event.final,
                "session_id": event.session_id,
                "id": event.message_id,
                "final_content": event.final_content,
            },
        )

    return mapper


def chat_completion(
    ctx: Context,
    chat_id: str,
    messages: Any,
    *,
    session_id: str | None = None,
    stream: bool = False,
    as_message: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    """Native completion: stateless when ``session_id`` is None (nothing stored on the server)."""
    msgs = _messages(messages, "question" if as_message else "messages")
    extra = dict(extra or {})
    if "doc_ids" in extra:
        doc_ids = doc_ids_param(extra.pop("doc_ids"))
        if doc_ids is not None:
            extra["doc_ids"] = doc_ids
    for key, value in extra.items():
        check_json(value, key)  # before a temporary session is created
    features: ServerFeatures = yield FEATURES
    if features.stateless_needs_session and session_id is None and len(msgs) > 1:
        # ``reference_metadata`` is a v0.26 option that these servers ignore on every route.
        dropped = sorted(k for k in extra if k != "reference_metadata")
        if dropped:
            _warn_once(
                f"history-route:{dropped}",
                "This RAGFlow server (before v0.25) takes a conversation's history only on its "
                "OpenAI-compatible route, which cannot carry %s: the whole conversation is sent "
                "there and those options are NOT applied. To apply them, send one question in "
                "a session (session_id=...).",
                ", ".join(dropped),
            )
        return (
            yield from _completion_with_history(ctx, features, chat_id, msgs, stream, as_message)
        )
    temp_session: str | None = None
    body: dict[str, Any] = {"stream": stream, **extra}
    if features.stateless_needs_session:
        if session_id is None:
            created = yield from create_session(_RawContext(), chat_id, "temporary")
            temp_session = session_id = str(created["id"])
        body.update(question=msgs[-1]["content"], session_id=session_id)
    elif session_id is None:
        body.update(messages=msgs, pass_all_history_messages=True, store_history_messages=False)
    else:
        body.update(messages=msgs[-1:], session_id=session_id)
    if features.chat_route == "body":
        spec = RequestSpec(
            "POST", "/chat/completions", json={"chat_id": chat_id, **body}, stream=stream
        )
    else:
        spec = RequestSpec("POST", f"/chats/{seg(chat_id)}/completions", json=body, stream=stream)

    def cleanup() -> Op:
        """Delete the temporary session; a failure is logged, never raised over the answer."""
        if not temp_session:
            return
        try:
            yield call("DELETE", f"/chats/{seg(chat_id)}/sessions", json={"ids": [temp_session]})
        except RAGFlowError as exc:
            logger.warning("Could not delete the temporary session %s: %s", temp_session, exc)

    if stream:
        # ``legacy: true`` (v0.26.4+) asks the server for the old cumulative form.
        mode: StreamMode = "cumulative" if body.get("legacy") else features.stream_mode
        return StreamPlan(
            spec,
            "chat",
            mode,
            event_mapper(ctx, as_message),
            cleanup if temp_session else None,
        )
    try:
        response = yield Call(spec)
    finally:
        if temp_session:
            yield from cleanup()
    message = chat_message_from_data(ctx, object_of(response, "an answer"))
    if temp_session and hasattr(message, "session_id"):
        message.session_id = None
    return message


def _openai_body(
    msgs: list[dict[str, Any]], stream: bool, extra_body: dict[str, Any]
) -> dict[str, Any]:
    """An OpenAI-compatible completion body; ``reference`` goes both where v0.24+ read it
    (``extra_body``) and where v0.22-v0.23 read it (the top level)."""
    return {
        "model": "model",
        "messages": msgs,
        "stream": stream,
        "reference": bool(extra_body.get("reference")),
        "extra_body": extra_body,
    }


def _completion_with_history(
    ctx: Context,
    features: ServerFeatures,
    chat_id: str,
    msgs: list[dict[str, Any]],
    stream: bool,
    as_message: bool = False,
) -> Op:
    """A stateless completion with history on a server before v0.25: their native route reads
    one question of a session, their OpenAI-compatible route the whole conversation (with its
    references when asked); the answer comes back as the native forms."""
    spec = RequestSpec(
        "POST",
        features.openai_route.format(chat_id=seg(chat_id)),
        json=_openai_body(msgs, stream, {"reference": True}),
        stream=stream,
        envelope=False,
    )
    if stream:
        return StreamPlan(spec, "chat", "delta", event_mapper(ctx, as_message))
    response = yield Call(spec)
    choices = response.get("choices") if isinstance(response, Mapping) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, Mapping) else None
    if not isinstance(message, Mapping):
        raise ResponseDecodeError(
            f"Expected an OpenAI-style completion with choices[0].message, got "
            f"{str(response)[:100]!r}",
            method=spec.method,
            path=spec.path,
        )
    content = message.get("content")
    reasoning, text = split_think(content if isinstance(content, str) else "")
    reasoning = str(message.get("reasoning_content") or "") or reasoning
    data = message_dict(text, message.get("reference"), reasoning=reasoning)
    usage = response.get("usage")
    if isinstance(usage, Mapping):
        data["usage"] = dict(usage)
    return ctx.wrap("message", data)


_WARNED: set[str] = set()


def _warn_once(key: str, message: str, *args: Any) -> None:
    """Log a warning once per process for ``key``."""
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning(message, *args)


class _RawContext:
    """A context that returns plain dicts (for internal helper calls)."""

    def wrap(self, kind: str, data: Mapping[str, Any]) -> Any:
        return dict(data)


def openai_chat_completion(
    chat_id: str,
    messages: Any,
    *,
    stream: bool = False,
    model: str = "model",
    reference: bool = True,
    metadata_condition: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    msgs = _messages(messages)
    extra_body: dict[str, Any] = {"reference": reference}
    if active_condition(metadata_condition):
        extra_body["metadata_condition"] = as_dict(metadata_condition, "metadata_condition")
    extra = dict(extra or {})
    extra_body.update(as_dict(extra.pop("extra_body", None), "extra_body"))
    features: ServerFeatures = yield FEATURES
    body = {**_openai_body(msgs, stream, extra_body), "model": model, **extra}
    spec = RequestSpec(
        "POST",
        features.openai_route.format(chat_id=seg(chat_id)),
        json=body,
        stream=stream,
        envelope=False,
    )
    if stream:
        return StreamPlan(spec, "openai")
    return (yield Call(spec))


# ----------------------------------------------------------------------------------------------
# agents
# ----------------------------------------------------------------------------------------------


def _is_agent(item: Mapping[str, Any]) -> bool:
    return item.get("type") != "compilation_template_group"


def walk_agents(
    ctx: Context,
    offset: int = 1,
    limit: int | None = None,
    orderby: str = "update_time",
    desc: bool = True,
    id: str | None = None,
    title: str | None = None,
) -> Op:
    """Agents; ``id``/``title`` filter exactly.

    Servers before v0.25 filter by ``id``/``title`` themselves. Newer ones read neither (they
    would answer every agent): the client sends ``keywords=title`` (a substring match that
    narrows the listing), keeps the exact matches and applies the page window to those.
    """

    def exact(item: Mapping[str, Any]) -> bool:
        return (
            _is_agent(item)
            and (not id or item.get("id") == id)
            and (not title or item.get("title") == title)
        )

    params: dict[str, Any] = {"orderby": orderby, "desc": desc}
    client_filter = False
    if id or title:
        features: ServerFeatures = yield FEATURES
        if features.agent_list_filters:
            params.update(id=id, title=title)
        else:
            params["keywords"] = title or None
            client_filter = True
    return (
        yield from walk(
            ctx,
            "agent",
            "/agents",
            params,
            offset=offset,
            limit=limit,
            keys=("canvas", "agents"),
            keep=exact if client_filter else _is_agent,
            window_after_keep=client_filter,
            filtered=bool(id or title),
        )
    )


def get_agent(ctx: Context, agent_id: str) -> Op:
    seg(agent_id, "agent_id")
    features: ServerFeatures = yield FEATURES
    if features.get_routes:
        response = yield call("GET", f"/agents/{seg(agent_id)}")
        return ctx.wrap("agent", object_of(response, "an agent"))
    items = yield from collect(walk_agents(ctx, id=agent_id))
    if not items:
        raise NotFoundError(f"Agent {agent_id} not found", method="GET", path="/agents")
    return items[0]


def create_agent(
    ctx: Context,
    title: str,
    dsl: Mapping[str, Any],
    description: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    body: dict[str, Any] = {"title": title, "dsl": dict(dsl), **dict(extra or {})}
    if description is not None:
        body["description"] = description
    response = yield call("POST", "/agents", json=body)
    data = data_of(response)
    if isinstance(data, Mapping) and data.get("id"):
        return ctx.wrap("agent", dict(data))
    items = yield from collect(walk_agents(ctx, title=title))
    if not items:
        raise NotFoundError(f"Agent {title!r} was created but cannot be listed")
    return items[0]


def delete_agent(agent_id: str) -> Op:
    yield call("DELETE", f"/agents/{seg(agent_id)}")


def create_agent_session(ctx: Context, agent_id: str, extra: Mapping[str, Any] | None) -> Op:
    response = yield call("POST", f"/agents/{seg(agent_id)}/sessions", json=dict(extra or {}))
    data = object_of(response, "the created session")
    data.setdefault("agent_id", agent_id)
    return ctx.wrap("session", data)


def walk_agent_sessions(
    ctx: Context,
    agent_id: str,
    offset: int = 1,
    limit: int | None = None,
    orderby: str = "update_time",
    desc: bool = True,
    id: str | None = None,
) -> Op:
    params = {"orderby": orderby, "desc": desc, "id": id, "dsl": False}
    return (
        yield from walk(
            ctx,
            "session",
            f"/agents/{seg(agent_id)}/sessions",
            params,
            offset=offset,
            limit=limit,
            keys=("sessions",),
            total_key="total",
            defaults={"agent_id": agent_id},
        )
    )


def delete_agent_sessions(
    ctx: Context, agent_id: str, ids: Sequence[str] | None, delete_all: bool
) -> Op:
    return (
        yield from delete_by(
            f"/agents/{seg(agent_id)}/sessions",
            ids,
            delete_all,
            "sessions",
            list_all=lambda: collect_ids(walk_agent_sessions(ctx, agent_id)),
        )
    )


def agent_message_from_data(ctx: Context, data: Mapping[str, Any]) -> Any:
    if "event" in data or (isinstance(data.get("data"), Mapping) and "answer" not in data):
        inner = data.get("data") if isinstance(data.get("data"), Mapping) else {}
        assert isinstance(inner, Mapping)
        content = inner.get("content")
        if not isinstance(content, str):
            outputs = inner.get("outputs")
            content = outputs.get("content") if isinstance(outputs, Mapping) else ""
        reasoning, text = split_think(content if isinstance(content, str) else "")
        message = message_dict(
            text,
            inner.get("reference"),
            session_id=data.get("session_id"),
            message_id=data.get("message_id"),
            reasoning=reasoning,
            extra=inner,
        )
        return ctx.wrap("message", message)
    return chat_message_from_data(ctx, data)


def agent_completion(
    ctx: Context,
    agent_id: str,
    question: str,
    *,
    session_id: str | None = None,
    stream: bool = False,
    inputs: Mapping[str, Any] | None = None,
    as_message: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    if not isinstance(question, str):
        raise TypeError(f"question must be a str (got {type(question).__name__})")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise TypeError("inputs must be a dict like {'var': {'type': 'line', 'value': ...}}")
    features: ServerFeatures = yield FEATURES
    body: dict[str, Any] = {"stream": stream, **dict(extra or {})}
    if session_id:
        body["session_id"] = session_id
    if inputs:
        body["inputs"] = dict(inputs)
    if features.agent_route == "body":
        body.update(agent_id=agent_id, query=question)
        spec = RequestSpec("POST", "/agents/chat/completions", json=body, stream=stream)
    else:
        body["question"] = question
        spec = RequestSpec("POST", f"/agents/{seg(agent_id)}/completions", json=body, stream=stream)
    if stream:
        return StreamPlan(spec, "agent", features.stream_mode, event_mapper(ctx, as_message))
    response = yield Call(spec)
    return agent_message_from_data(ctx, object_of(response, "an agent answer"))


# ----------------------------------------------------------------------------------------------
# misc
# ----------------------------------------------------------------------------------------------


def related_questions(question: str) -> Op:
    features: ServerFeatures = yield FEATURES
    response = yield call("POST", features.related_questions_path, json={"question": question})
    data = data_of(response)
    return [str(q) for q in data] if isinstance(data, list) else []


def get_knowledge_graph(dataset_id: str) -> Op:
    features: ServerFeatures = yield FEATURES
    response = yield call("GET", features.graph_path.format(dataset_id=seg(dataset_id)))
    data = data_of(response)
    return dict(data) if isinstance(data, Mapping) else {}


def delete_knowledge_graph(dataset_id: str) -> Op:
    features: ServerFeatures = yield FEATURES
    yield call("DELETE", features.graph_path.format(dataset_id=seg(dataset_id)))


def ping() -> Op:
    """``GET /api/v1/system/ping``, or the web API's ``/v1/system/ping`` on servers before v0.25
    (their API has no ping route)."""
    try:
        body = yield call("GET", "/system/ping", raw=True, auth=False)
    except RouteNotFoundError:
        body = yield call("GET", "/v1/system/ping", raw=True, auth=False, absolute_path=True)
    return bytes(body).strip().strip(b'"').lower() == b"pong"


def health() -> Op:
    import json

    features: ServerFeatures = yield FEATURES
    body = b""
    for path in dict.fromkeys([features.health_path, "/system/healthz"]):
        spec = RequestSpec(
            "GET",
            path,
            raw=True,
            auth=False,
            idempotent=False,
            absolute_path=path.startswith("/v1/"),
        )
        try:
            body = yield Call(spec)
            break
        except RouteNotFoundError:
            continue
        except APIError as exc:
            return {"status": "unhealthy", "status_code": exc.status_code, "message": exc.message}
    else:
        return {"status": "unknown", "message": "this server has no health route"}
    try:
        parsed = json.loads(bytes(body))
    except ValueError:
        return {"status": bytes(body).decode("utf-8", errors="replace")[:200]}
    return dict(parsed) if isinstance(parsed, Mapping) else {"status": parsed}
