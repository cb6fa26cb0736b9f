"""Agent sessions and running an agent (``/agents/{id}/sessions``, the agent completion).

Operations create, list and delete an agent's sessions and run the agent (streamed or not; its
answer read into a ``Message``); :class:`AgentSessions` are ``Agent``'s session and ``ask``
methods; :class:`AgentCompletions` the client's ``agent_completion``. Methods call the operation
of the same name defined in this module (a module-level function). The ``Session`` object is the
chats' one (``resources/chats/sessions.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.answers import chat_message_from_data, event_mapper, message_dict
from ..._core.features import ServerFeatures
from ..._core.ops import (
    FEATURES,
    Call,
    Context,
    Op,
    StreamPlan,
    call,
    collect,
    collect_ids,
    delete_by,
    object_of,
    seg,
    walk,
)
from ..._core.paging import page_window
from ..._core.request import RequestSpec
from ..._core.sse import StreamEvent, split_think
from ..._models import AsyncObject, SyncObject
from ...errors import NotFoundError, RAGFlowError

if TYPE_CHECKING:
    from ..chats.messages import AsyncMessage, Message
    from ..chats.sessions import AsyncSession, Session

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


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


def get_agent_session(ctx: Context, agent_id: str, session_id: str) -> Op:
    """One session with its messages: ``GET /agents/{id}/sessions/{sid}`` (v0.25.1+), else the
    session list filtered by ``id``."""
    path = f"/agents/{seg(agent_id)}/sessions"
    seg(session_id, "session_id")
    features: ServerFeatures = yield FEATURES
    if features.agent_session_route:
        response = yield call("GET", f"{path}/{seg(session_id)}")
        data = object_of(response, "an agent session")
        data.setdefault("agent_id", data.get("dialog_id") or agent_id)
        return ctx.wrap("session", data)
    found = yield from collect(walk_agent_sessions(ctx, agent_id, id=session_id))
    if not found:
        raise NotFoundError(
            f"Session {session_id} of agent {agent_id} not found", method="GET", path=path
        )
    return found[0]


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
        return StreamPlan(
            spec,
            "agent",
            features.stream_mode,
            event_mapper(ctx, as_message),
            subject=f"Agent {agent_id}",
        )
    try:
        response = yield Call(spec)
    except RAGFlowError as exc:
        raise exc.about(f"Agent {agent_id}") from None
    return agent_message_from_data(ctx, object_of(response, "an agent answer"))


# ----------------------------------------------------------------------------------------------
# Agent's session methods
# ----------------------------------------------------------------------------------------------


class AgentSessions(SyncObject):
    """``Agent``'s methods: create, list, iterate and delete its sessions; ``ask``."""

    def create_session(self, **kwargs: Any) -> Session:
        """Create a session."""
        session: Session = self._c._run(create_agent_session(self._c, self.id, kwargs))
        return session

    def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
    ) -> list[Session]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return self._c._collect(
            walk_agent_sessions(self._c, self.id, offset, limit, orderby, desc, id)
        )

    def iter_sessions(self, orderby: str = "update_time", desc: bool = True) -> Iterator[Session]:
        """Every session, lazily."""
        return self._c._iterate(walk_agent_sessions(self._c, self.id, 1, None, orderby, desc))

    def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._c._run(delete_agent_sessions(self._c, self.id, ids, delete_all))

    def get_session(self, session_id: str) -> Session:
        """One session of this agent, with its messages."""
        session: Session = self._c._run(get_agent_session(self._c, self.id, session_id))
        return session

    @overload
    def ask(
        self,
        question: str,
        stream: Literal[False] = False,
        session_id: str | None = None,
        **kwargs: Any,
    ) -> Message: ...

    @overload
    def ask(
        self, question: str, stream: Literal[True], session_id: str | None = None, **kwargs: Any
    ) -> Iterator[Message]: ...

    @overload
    def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any: ...

    def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        plan_or_msg = self._c._run(
            agent_completion(
                self._c,
                self.id,
                question,
                session_id=session_id,
                stream=stream,
                as_message=True,
                inputs=kwargs.pop("inputs", None),
                extra=kwargs,
            )
        )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


class AsyncAgentSessions(AsyncObject):
    """Async twin of :class:`AgentSessions`."""

    async def create_session(self, **kwargs: Any) -> AsyncSession:
        """Create a session."""
        session: AsyncSession = await self._c._run(create_agent_session(self._c, self.id, kwargs))
        return session

    async def list_sessions(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
    ) -> list[AsyncSession]:
        """Page ``page`` of size ``page_size`` of sessions."""
        offset, limit = page_window(page, page_size)
        return await self._c._collect(
            walk_agent_sessions(self._c, self.id, offset, limit, orderby, desc, id)
        )

    def iter_sessions(
        self, orderby: str = "update_time", desc: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """Every session, lazily."""
        return self._c._iterate(walk_agent_sessions(self._c, self.id, 1, None, orderby, desc))

    async def delete_sessions(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._c._run(delete_agent_sessions(self._c, self.id, ids, delete_all))

    async def get_session(self, session_id: str) -> AsyncSession:
        """One session of this agent, with its messages."""
        session: AsyncSession = await self._c._run(get_agent_session(self._c, self.id, session_id))
        return session

    @overload
    async def ask(
        self,
        question: str,
        stream: Literal[False] = False,
        session_id: str | None = None,
        **kwargs: Any,
    ) -> AsyncMessage: ...

    @overload
    async def ask(
        self, question: str, stream: Literal[True], session_id: str | None = None, **kwargs: Any
    ) -> AsyncIterator[AsyncMessage]: ...

    @overload
    async def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any: ...

    async def ask(
        self, question: str, stream: bool = False, session_id: str | None = None, **kwargs: Any
    ) -> Any:
        """One :class:`Message` (``stream=False``) or an iterator of growing Messages."""
        plan_or_msg = await self._c._run(
            agent_completion(
                self._c,
                self.id,
                question,
                session_id=session_id,
                stream=stream,
                as_message=True,
                inputs=kwargs.pop("inputs", None),
                extra=kwargs,
            )
        )
        return self._c._stream(plan_or_msg) if stream else plan_or_msg


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class AgentCompletions(SyncAPIClient):
    """``RAGFlow.agent_completion``."""

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Message: ...

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[StreamEvent]: ...

    @overload
    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run an agent: a :class:`Message`, or an iterator of StreamEvents when streaming."""
        result = self._run(
            agent_completion(
                self,
                agent_id,
                question,
                session_id=session_id,
                stream=stream,
                inputs=inputs,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result


class AsyncAgentCompletions(AsyncAPIClient):
    """Async twin of :class:`AgentCompletions`."""

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[False] = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncMessage: ...

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: Literal[True],
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    async def agent_completion(
        self,
        agent_id: str,
        question: str,
        *,
        session_id: str | None = None,
        stream: bool = False,
        inputs: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """Run an agent: a :class:`Message`, or an iterator of StreamEvents when streaming."""
        result = await self._run(
            agent_completion(
                self,
                agent_id,
                question,
                session_id=session_id,
                stream=stream,
                inputs=inputs,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result
