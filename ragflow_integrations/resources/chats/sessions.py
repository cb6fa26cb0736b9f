"""Sessions of a chat assistant and the conversation in them (RAGFlow's session management).

Operations create, list, rename and delete sessions (``/chats/{id}/sessions``) and converse
(the native completion: stateless without a session, streamed or not; related questions);
:class:`Session` (also an agent's session: ``ask`` goes to the agent then) and :class:`Message`;
:class:`ChatSessions` are ``Chat``'s session methods; :class:`ChatCompletions` the client's
``chat_completion`` / ``related_questions``. Methods call the operation of the same name defined
in this module (a module-level function).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal, overload

from pydantic import Field, model_validator

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.answers import chat_message_from_data, event_mapper
from ..._core.features import ServerFeatures
from ..._core.ops import (
    FEATURES,
    Call,
    Context,
    Op,
    RawContext,
    StreamPlan,
    as_id_list,
    call,
    collect_ids,
    data_of,
    delete_by,
    logger,
    merge_update,
    object_of,
    seg,
    walk,
)
from ..._core.paging import page_window
from ..._core.request import RequestSpec, check_json, check_text
from ..._core.sse import StreamEvent, StreamMode
from ..._models import AsyncObject, SyncObject, _Model
from ...errors import RAGFlowError
from ..agents.sessions import agent_completion
from .messages import AsyncMessage
from .messages import Message as Message
from .openai import as_messages, completion_with_history

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


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
    msgs = as_messages(messages, "question" if as_message else "messages")
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
            yield from completion_with_history(ctx, features, chat_id, msgs, stream, as_message)
        )
    temp_session: str | None = None
    body: dict[str, Any] = {"stream": stream, **extra}
    if features.stateless_needs_session:
        if session_id is None:
            created = yield from create_session(RawContext(), chat_id, "temporary")
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
        mapper = event_mapper(ctx, as_message)
        return StreamPlan(
            spec,
            "chat",
            mode,
            (lambda event: _of_chat(mapper(event), chat_id, temp_session))
            if as_message
            else mapper,
            cleanup if temp_session else None,
            subject=f"Chat {chat_id}",
        )
    try:
        response = yield Call(spec)
    except RAGFlowError as exc:
        raise exc.about(f"Chat {chat_id}") from None
    finally:
        if temp_session:
            yield from cleanup()
    return _of_chat(
        chat_message_from_data(ctx, object_of(response, "an answer")), chat_id, temp_session
    )


def _of_chat(message: Any, chat_id: str, temp_session: str | None) -> Any:
    """An answer of ``chat_id``: ``chat_id`` set, the session forgotten when it was temporary
    (deleted after the answer: a stateless answer is stored nowhere)."""
    if isinstance(message, Message):
        message.chat_id = chat_id
        if temp_session:
            message.session_id = None
    return message


_WARNED: set[str] = set()


def _warn_once(key: str, message: str, *args: Any) -> None:
    """Log a warning once per process for ``key``."""
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning(message, *args)


def related_questions(question: str) -> Op:
    features: ServerFeatures = yield FEATURES
    response = yield call("POST", features.related_questions_path, json={"question": question})
    data = data_of(response)
    return [str(q) for q in data] if isinstance(data, list) else []


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class _SessionFields(_Model):
    id: str = ""
    name: str = ""
    chat_id: str | None = None
    agent_id: str | None = None
    messages: list[Any] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if "message" in data and not data.get("messages"):
                data["messages"] = data.pop("message")
            if data.get("messages") is None:
                data.pop("messages", None)
        return data

    @property
    def message(self) -> list[Any]:
        """The seed's name for :attr:`messages` (agent sessions use it on the wire)."""
        return self.messages


class Session(_SessionFields, SyncObject):
    """A chat or agent session."""

    def update(self, update_message: Mapping[str, Any]) -> Session:
        """Rename the session (a ``name`` key); refreshes self."""
        if not self.chat_id:
            raise NotImplementedError("Agent sessions cannot be renamed through the API")
        self._merge(self._c._run(update_session(self.chat_id, self.id, update_message)))
        return self

    @overload
    def ask(self, question: str = "", stream: Literal[False] = False, **kwargs: Any) -> Message: ...

    @overload
    def ask(self, question: str, stream: Literal[True], **kwargs: Any) -> Iterator[Message]: ...

    @overload
    def ask(
        self, question: str = "", *, stream: Literal[True], **kwargs: Any
    ) -> Iterator[Message]: ...

    @overload
    def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any: ...

    def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        if self.agent_id:
            plan_or_msg = self._c._run(
                agent_completion(
                    self._c,
                    self.agent_id,
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    inputs=kwargs.pop("inputs", None),
                    extra=kwargs,
                )
            )
        else:
            plan_or_msg = self._c._run(
                chat_completion(
                    self._c,
                    str(self.chat_id),
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    extra=kwargs,
                )
            )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


class AsyncSession(_SessionFields, AsyncObject):
    """Async twin of :class:`Session`; ``ask(stream=True)`` returns an async iterator."""

    async def update(self, update_message: Mapping[str, Any]) -> AsyncSession:
        """Rename the session (a ``name`` key); refreshes self."""
        if not self.chat_id:
            raise NotImplementedError("Agent sessions cannot be renamed through the API")
        self._merge(await self._c._run(update_session(self.chat_id, self.id, update_message)))
        return self

    @overload
    async def ask(
        self, question: str = "", stream: Literal[False] = False, **kwargs: Any
    ) -> AsyncMessage: ...

    @overload
    async def ask(
        self, question: str, stream: Literal[True], **kwargs: Any
    ) -> AsyncIterator[AsyncMessage]: ...

    @overload
    async def ask(
        self, question: str = "", *, stream: Literal[True], **kwargs: Any
    ) -> AsyncIterator[AsyncMessage]: ...

    @overload
    async def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any: ...

    async def ask(self, question: str = "", stream: bool = False, **kwargs: Any) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        if self.agent_id:
            plan_or_msg = await self._c._run(
                agent_completion(
                    self._c,
                    self.agent_id,
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    inputs=kwargs.pop("inputs", None),
                    extra=kwargs,
                )
            )
        else:
            plan_or_msg = await self._c._run(
                chat_completion(
                    self._c,
                    str(self.chat_id),
                    question,
                    session_id=self.id,
                    stream=stream,
                    as_message=True,
                    extra=kwargs,
                )
            )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


# ----------------------------------------------------------------------------------------------
# Chat's session methods
# ----------------------------------------------------------------------------------------------


class ChatSessions(SyncObject):
    """``Chat``'s session methods: create, list, iterate and delete its sessions."""

    def create_session(self, name: str = "New session", **extra: Any) -> Session:
        """Create a session."""
        session: Session = self._c._run(create_session(self._c, self.id, name, extra))
        return session

    def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[Session]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return self._c._collect(
            walk_sessions(self._c, self.id, offset, limit, orderby, desc, id, name)
        )

    def iter_sessions(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[Session]:
        """Every session, lazily."""
        return self._c._iterate(walk_sessions(self._c, self.id, 1, None, orderby, desc, None, name))

    def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._c._run(delete_sessions(self._c, self.id, ids, delete_all))


class AsyncChatSessions(AsyncObject):
    """Async twin of :class:`ChatSessions`."""

    async def create_session(self, name: str = "New session", **extra: Any) -> AsyncSession:
        """Create a session."""
        session: AsyncSession = await self._c._run(create_session(self._c, self.id, name, extra))
        return session

    async def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncSession]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return await self._c._collect(
            walk_sessions(self._c, self.id, offset, limit, orderby, desc, id, name)
        )

    def iter_sessions(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncSession]:
        """Every session, lazily."""
        return self._c._iterate(walk_sessions(self._c, self.id, 1, None, orderby, desc, None, name))

    async def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._c._run(delete_sessions(self._c, self.id, ids, delete_all))


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class ChatCompletions(SyncAPIClient):
    """``RAGFlow.chat_completion`` / ``related_questions``."""

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        **extra: Any,
    ) -> Message: ...

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        **extra: Any,
    ) -> Iterator[StreamEvent]: ...

    @overload
    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any: ...

    def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any:
        """Native completion: a :class:`Message`, or an iterator of StreamEvents when streaming.

        Without ``session_id`` it is stateless: the whole history is sent and nothing is stored.
        """
        result = self._run(
            chat_completion(
                self, chat_id, messages, session_id=session_id, stream=stream, extra=extra
            )
        )
        return self._stream(result) if stream else result

    def related_questions(self, question: str) -> list[str]:
        """Search terms related to ``question`` (from the tenant's chat model)."""
        result: list[str] = self._run(related_questions(question))
        return result


class AsyncChatCompletions(AsyncAPIClient):
    """Async twin of :class:`ChatCompletions`."""

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        **extra: Any,
    ) -> AsyncMessage: ...

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any: ...

    async def chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        session_id: str | None = None,
        stream: bool = False,
        **extra: Any,
    ) -> Any:
        """A :class:`Message`, or an async iterator of StreamEvents when streaming."""
        result = await self._run(
            chat_completion(
                self, chat_id, messages, session_id=session_id, stream=stream, extra=extra
            )
        )
        return self._stream(result) if stream else result

    async def related_questions(self, question: str) -> list[str]:
        """Search terms related to ``question`` (from the tenant's chat model)."""
        result: list[str] = await self._run(related_questions(question))
        return result
