"""The sans-I/O operation protocol, and the building blocks every group's operations share.

Each client operation is a generator defined with its API group (``resources/<group>``) and run
by both drivers (``_base_client.py``). An operation yields instructions and receives their results:

* :class:`Call` -> the decoded envelope (dict), raw bytes or JSON of one request;
* :class:`Sleep` -> ``None`` after sleeping;
* :data:`FEATURES` -> the :class:`ServerFeatures` (probed once by the driver, see
  :func:`probe_features`);
* :class:`Emit` -> ``None`` (only in iterator operations: the driver yields the item).

Its return value is the method's result, or a :class:`StreamPlan` the driver then streams.
Objects are built through ``ctx.wrap(kind, data)`` so the same logic serves sync and async models.
Errors raised by a request are thrown into the generator, so operations may handle them.

Shared here: answer and argument helpers (``data_of``, ``object_of``, ``seg``, ``as_id_list`` …),
paged listing (:func:`walk`), deletion by ids or all (:func:`delete_by`) and :func:`collect`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import (
    FeatureNotSupportedError,
    NotFoundError,
    ResponseDecodeError,
    RouteNotFoundError,
)
from .features import ServerFeatures
from .paging import PageWalker
from .request import RequestSpec, check_text, make_params, path_segment
from .sse import StreamEvent, StreamMode


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
    subject: str | None = None
    """What the request is about (``"Chat <id>"``), named in an error answered before streaming."""


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------

logger = logging.getLogger("ragflow_integrations")
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


def batches(items: Sequence[str], size: int = UPDATE_MAX_IDS) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


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


def require(feature: str, action: str) -> Op:
    """The server's features, or :class:`FeatureNotSupportedError` (before any request) when
    they lack ``feature`` (a :class:`ServerFeatures` switch); ``action`` names the call."""
    features: ServerFeatures = yield FEATURES
    if not getattr(features, feature):
        raise features.unsupported(feature, action)
    return features


def call_feature(feature: str, action: str, method: str, path: str, **kwargs: Any) -> Op:
    """One request to a route only some RAGFlow releases have (see :func:`require`); a server
    answering that the route does not exist gets the same error, naming the first release."""
    features: ServerFeatures = yield from require(feature, action)
    try:
        return (yield call(method, path, **kwargs))
    except RouteNotFoundError as exc:
        if isinstance(exc, FeatureNotSupportedError):
            raise
        raise features.unsupported(feature, action, cause=exc) from exc


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
        for batch in batches(id_list):
            if batch:
                yield call("DELETE", path, json={id_key: batch})
        return None
    features: ServerFeatures = yield FEATURES
    if features.delete_all or list_all is None:
        yield call("DELETE", path, json={"delete_all": True})
        return None
    all_ids: list[str] = yield from list_all()
    for batch in batches(all_ids):
        if batch:
            yield call("DELETE", path, json={id_key: batch})
    return None


class RawContext:
    """A context that returns plain dicts (for internal helper calls)."""

    def wrap(self, kind: str, data: Mapping[str, Any]) -> Any:
        return dict(data)


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
