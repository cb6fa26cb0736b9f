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

import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import (
    APIError,
    NotFoundError,
    RAGFlowError,
    ResponseDecodeError,
)
from .features import ServerFeatures
from .paging import PageWalker
from .request import RequestSpec, check_json, check_text, make_params, path_segment
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
UPDATE_MAX_IDS = 100


def call(method: str, path: str, **kwargs: Any) -> Call:
    return Call(RequestSpec(method, path, **kwargs))


def data_of(body: Any) -> Any:
    return body.get("data") if isinstance(body, Mapping) else body


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
    """``GET /system/version``; a 404 means a server older than v0.25."""
    if server_version:
        return ServerFeatures.from_version(server_version)
    try:
        body = yield call("GET", "/system/version", auth=False, idempotent=True)
    except NotFoundError:
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
) -> Op:
    """Emit the objects of the window ``[offset, offset+limit)`` page by page (≤ 100 per page).

    ``window_after_keep``: the window counts only the items ``keep`` accepts (a filter the
    server cannot apply), so every server page is walked, lazily, until the window is full.
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
            response = yield call(method, path, params=query)
        items, total = items_of(data_of(response), *keys)
        if total is None and total_key and isinstance(response, Mapping):
            raw_total = response.get(total_key)
            total = raw_total if isinstance(raw_total, int) else None
        for item in walker.accept(items, total):
            if not isinstance(item, Mapping) or (keep is not None and not keep(item)):
                continue
            if skip:
                skip -= 1
                continue
            data = dict(item)
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
    data = data_of(response)
    return dict(data) if isinstance(data, Mapping) else {}


def get_chat(ctx: Context, chat_id: str) -> Op:
    seg(chat_id, "chat_id")
    features: ServerFeatures = yield FEATURES
    try:
        if features.get_routes:
            response = yield call("GET", f"/chats/{seg(chat_id)}")
            return ctx.wrap("chat", object_of(response, "a chat"))
        response = yield call("GET", "/chats", params=make_params(id=chat_id))
    except APIError as exc:
        if exc.code in (102, 109) or exc.status_code == 404:
            raise NotFoundError(
                f"Chat {chat_id} not found (or not accessible with this key): {exc.message}",
                **exc.context(),
            ) from exc
        raise
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
        yield from walk(ctx, "chat", "/chats", params, offset=offset, limit=limit, keys=("chats",))
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
    yield call(
        features.update_method, f"/chats/{seg(chat_id)}/sessions/{seg(session_id)}", json=body
    )
    return body


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
    body = {
        "model": model,
        "messages": msgs,
        "stream": stream,
        "extra_body": extra_body,
        **extra,
    }
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
