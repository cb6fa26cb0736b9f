"""LangChain chat model over a RAGFlow chat assistant or agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from contextlib import aclosing
from contextvars import ContextVar
from typing import Any, Literal, NamedTuple, Self, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.documents import Document
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import (
    BaseChatModel,
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, Field, model_validator

from ragflow_integrations import Chunk
from ragflow_integrations._agent_sessions import adiscard_agent_sessions, discard_agent_sessions
from ragflow_integrations.langchain._client import RAGFlowConnection
from ragflow_integrations.mapping import chunk_to_record

# The reply generators opened by ``_astream`` during one ``astream`` call. LangChain's ``astream``
# drops ``_astream`` without closing it when the caller stops early, leaving the cleanup (ending
# the server stream, deleting a temporary agent session) to a task the event loop may never run
# (``asyncio.run`` ends first); :meth:`ChatRAGFlow.astream` closes them itself.
_OPEN_REPLIES: ContextVar[list[_OnceClose] | None] = ContextVar(
    "ragflow_open_replies", default=None
)


_NO_TOOLS = (
    "ChatRAGFlow cannot bind tools: RAGFlow chat assistants and agents cannot call "
    "caller-defined tools. Give a tool-calling chat model RAGFlowSearchTool / RAGFlowToolkit "
    "(RAGFlowToolkit(chat_id=...) adds a tool that asks this assistant)"
)


class _OnceClose:
    """Closes an async generator once; later callers wait for that first close to finish.

    When LangChain drops ``_astream``, the event loop closes it in a task of its own, which may
    already be closing the replies when :meth:`ChatRAGFlow.astream` wants to.
    """

    def __init__(self, generator: AsyncGenerator[Any, None]) -> None:
        self._generator = generator
        self._closed: asyncio.Future[None] | None = None

    async def close(self) -> None:
        if self._closed is not None:
            await asyncio.shield(self._closed)
            return
        self._closed = asyncio.get_running_loop().create_future()
        try:
            await self._generator.aclose()
        finally:
            self._closed.set_result(None)


ChatAPI = Literal["native", "openai"]


class _Reply:
    """One normalised piece of an answer (a whole answer, or one stream event)."""

    __slots__ = (
        "delta",
        "doc_aggs",
        "final",
        "final_content",
        "message_id",
        "reasoning",
        "references",
        "session_id",
        "usage",
    )

    def __init__(
        self,
        delta: str = "",
        *,
        reasoning: str = "",
        references: list[dict[str, Any]] | None = None,
        doc_aggs: list[Any] | None = None,
        session_id: str | None = None,
        message_id: str | None = None,
        usage: UsageMetadata | None = None,
        final: bool = False,
        final_content: str | None = None,
    ) -> None:
        self.delta = delta
        self.reasoning = reasoning
        self.references = references
        self.doc_aggs = doc_aggs
        self.session_id = session_id
        self.message_id = message_id
        self.usage = usage
        self.final = final
        self.final_content = final_content


class _Call(NamedTuple):
    """One call's effective settings."""

    session_id: str | None
    model: str | None
    extra: dict[str, Any]


_NOT_PER_CALL = {
    "stream": "use .stream() / .astream(), or streaming=True on the model",
    "messages": "pass the messages as the input",
    "question": "pass the question as the input",
    "chat_id": "make another ChatRAGFlow",
    "agent_id": "make another ChatRAGFlow",
    "reference": "references are always returned (response_metadata['references'])",
}


class ChatRAGFlow(RAGFlowConnection, BaseChatModel):
    """Chat model answering with a RAGFlow chat assistant (``chat_id``) or agent (``agent_id``).

    **Stateless by default**, like any LangChain chat model: the whole message list is sent on
    every call and nothing is kept on the server. With ``session_id`` (or
    :meth:`from_session`) the server's session memory is used instead and only the newest user
    message is sent. Agents cannot take a history: stateless agent calls send the newest user
    message in a temporary session that is deleted afterwards.

    ``api="openai"`` (chat assistants, stateless only) uses RAGFlow's OpenAI-compatible endpoint,
    which also reports token usage (``usage_metadata``); the default ``"native"`` endpoint gives
    references with document aggregates but no usage.

    The answer's references are in ``response_metadata["references"]`` (plain dicts: chunk id,
    text, document id and name, dataset id, scores; ``response_metadata["doc_aggs"]`` counts them
    per document on the native endpoint) and as ``Document``s through
    :func:`reference_documents`; reasoning text is in ``additional_kwargs["reasoning_content"]``.

    Example:
        .. code-block:: python

            model = ChatRAGFlow(chat_id="<chat assistant id>")
            reply = model.invoke("What does the handbook say about leave?")
            print(reply.content, reference_documents(reply))
    """

    model_config = ConfigDict(extra="forbid")  # a misspelled option is an error

    chat_id: str | None = None
    """The chat assistant to talk to (exactly one of ``chat_id`` / ``agent_id``)."""
    agent_id: str | None = None
    """The agent to talk to (exactly one of ``chat_id`` / ``agent_id``)."""
    session_id: str | None = None
    """Use this server session's memory instead of sending the history."""
    api: ChatAPI = "native"
    """``"native"`` (references, reasoning, agents, sessions) or ``"openai"`` (adds usage)."""
    model_name: str | None = Field(default=None, alias="model")
    """Model override for the assistant (a model configured on the server); None = its own."""
    temperature: float | None = None
    """Sampling temperature for this request (assistant setting when None)."""
    max_tokens: int | None = None
    """Maximum answer tokens for this request (assistant setting when None)."""
    stop: list[str] | None = None
    """Stop sequences, applied client-side (RAGFlow has no stop parameter)."""
    streaming: bool = False
    """Stream internally in ``invoke``."""

    @model_validator(mode="after")
    def _check_target(self) -> Self:
        if (self.chat_id is None) == (self.agent_id is None):
            raise ValueError("pass exactly one of chat_id (a chat assistant) or agent_id")
        if self.api == "openai" and (self.agent_id is not None or self.session_id is not None):
            raise ValueError(
                'api="openai" works with a chat_id and no session_id; use api="native" for '
                "agents and sessions"
            )
        return self

    # ------------------------------------------------------------ capabilities

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """Not supported: RAGFlow chat assistants and agents cannot call caller-defined tools."""
        raise NotImplementedError(_NO_TOOLS)

    def with_structured_output(self, schema: Any = None, **kwargs: Any) -> Any:
        """Not supported: RAGFlow has no tool calling or JSON mode to force a schema."""
        raise NotImplementedError(
            "ChatRAGFlow cannot return structured output: RAGFlow chat assistants have no tool "
            "calling or JSON mode. Use a tool-calling chat model's with_structured_output, and "
            "give it RAGFlow's passages through RAGFlowRetriever or RAGFlowSearchTool / "
            "RAGFlowToolkit"
        )

    # ------------------------------------------------------------ metadata

    @property
    def _llm_type(self) -> str:
        return "ragflow-agent" if self.agent_id is not None else "ragflow-chat"

    @property
    def _target(self) -> str:
        return f"agent:{self.agent_id}" if self.agent_id is not None else f"chat:{self.chat_id}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "agent_id": self.agent_id,
            "session_id": self.session_id,
            "api": self.api,
            "model_name": self.model_name,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "streaming": self.streaming,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="ragflow",
            ls_model_name=str(kwargs.get("model") or self.model_name or self._target),
            ls_model_type="chat",
        )
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # ------------------------------------------------------------ sessions

    @classmethod
    def from_session(
        cls,
        *,
        chat_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        name: str = "LangChain session",
        **kwargs: Any,
    ) -> ChatRAGFlow:
        """A model bound to a server session (created when ``session_id`` is None)."""
        model = cls(chat_id=chat_id, agent_id=agent_id, session_id=session_id, **kwargs)
        if session_id is None:
            client = model._sync_client
            if chat_id is not None:
                session = client.get_chat(chat_id).create_session(name=name)
            else:
                session = client.get_agent(str(agent_id)).create_session()
            model.session_id = session.id
        return model

    @classmethod
    async def afrom_session(
        cls,
        *,
        chat_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        name: str = "LangChain session",
        **kwargs: Any,
    ) -> ChatRAGFlow:
        """Async twin of :meth:`from_session`."""
        model = cls(chat_id=chat_id, agent_id=agent_id, session_id=session_id, **kwargs)
        if session_id is None:
            client = model._async_client
            if chat_id is not None:
                session = await (await client.get_chat(chat_id)).create_session(name=name)
            else:
                session = await (await client.get_agent(str(agent_id))).create_session()
            model.session_id = session.id
        return model

    # ----------------------------------------------------------- requests

    def _call(self, kwargs: dict[str, Any]) -> _Call:
        """This call's session, model and body fields (per-call ``kwargs`` over the fields).

        ``model`` and ``session_id`` work per call as the fields do; other keyword arguments go
        to the server as body fields (``{placeholder}`` values of the assistant's prompt).
        """
        kwargs = dict(kwargs)
        for name, hint in _NOT_PER_CALL.items():
            if name in kwargs:
                raise TypeError(f"ChatRAGFlow does not take {name}= per call: {hint}")
        session_id = kwargs.pop("session_id", None)
        if session_id is not None and self.api == "openai":
            raise TypeError(
                'session_id= works with api="native" only; the OpenAI-compatible endpoint is '
                "stateless"
            )
        model = kwargs.pop("model", None) or kwargs.pop("model_name", None) or self.model_name
        extra: dict[str, Any] = {}
        if self.chat_id is not None:  # agents take their settings from their own flow
            if self.temperature is not None:
                extra["temperature"] = self.temperature
            if self.max_tokens is not None:
                extra["max_tokens"] = self.max_tokens
        if self.api == "native" and self.chat_id is not None:
            # attach each referenced document's own metadata to the reference chunks
            extra["reference_metadata"] = {"include": True}
            if model is not None:
                extra["llm_id"] = model
        extra.update({k: v for k, v in kwargs.items() if v is not None})
        return _Call(session_id or self.session_id, model if self.chat_id else None, extra)

    def _sync_replies(
        self, messages: list[BaseMessage], *, stream: bool, call: _Call
    ) -> Generator[_Reply, None, None]:
        client = self._sync_client
        extra = call.extra
        if self.agent_id is not None:
            question = _last_user_text(messages)
            result = client.agent_completion(
                self.agent_id, question, session_id=call.session_id, stream=stream, **extra
            )
            temporary: set[str] = set()
            try:
                yield from _native_replies(result, stream, temporary)
            finally:
                if call.session_id is None:
                    discard_agent_sessions(client, self.agent_id, temporary)
        elif self.api == "openai":
            result = client.openai_chat_completion(
                str(self.chat_id),
                _to_wire_messages(messages),
                stream=stream,
                model=call.model or "model",
                reference=True,
                **extra,
            )
            yield from _openai_replies(result, stream)
        else:
            wire = _to_wire_messages(messages)
            if call.session_id is not None:
                wire = wire[-1:]
            result = client.chat_completion(
                str(self.chat_id), wire, session_id=call.session_id, stream=stream, **extra
            )
            yield from _native_replies(result, stream, set())

    async def _async_replies(
        self, messages: list[BaseMessage], *, stream: bool, call: _Call
    ) -> AsyncGenerator[_Reply, None]:
        client = self._async_client
        extra = call.extra
        if self.agent_id is not None:
            question = _last_user_text(messages)
            result = await client.agent_completion(
                self.agent_id, question, session_id=call.session_id, stream=stream, **extra
            )
            temporary: set[str] = set()
            try:
                async with aclosing(_anative_replies(result, stream, temporary)) as replies:
                    async for reply in replies:
                        yield reply
            finally:
                if call.session_id is None:
                    await adiscard_agent_sessions(client, self.agent_id, temporary)
        elif self.api == "openai":
            result = await client.openai_chat_completion(
                str(self.chat_id),
                _to_wire_messages(messages),
                stream=stream,
                model=call.model or "model",
                reference=True,
                **extra,
            )
            async with aclosing(_aopenai_replies(result, stream)) as replies:
                async for reply in replies:
                    yield reply
        else:
            wire = _to_wire_messages(messages)
            if call.session_id is not None:
                wire = wire[-1:]
            result = await client.chat_completion(
                str(self.chat_id), wire, session_id=call.session_id, stream=stream, **extra
            )
            async with aclosing(_anative_replies(result, stream, set())) as replies:
                async for reply in replies:
                    yield reply

    # ---------------------------------------------------------- LangChain

    def _response_metadata(self, last: _Reply, call: _Call) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "model_provider": "ragflow",
            "model_name": call.model or self._target,
            "finish_reason": "stop",
        }
        if self.chat_id is not None:
            metadata["chat_id"] = self.chat_id
        if self.agent_id is not None:
            metadata["agent_id"] = self.agent_id
        if call.session_id is not None:
            metadata["session_id"] = call.session_id
        elif last.session_id and self.api == "native" and self.agent_id is None:
            # a stateless agent call's session was temporary and is deleted: not reported
            metadata["session_id"] = last.session_id
        if last.message_id:
            metadata["message_id"] = last.message_id
        metadata["references"] = list(last.references or [])
        if last.doc_aggs:
            metadata["doc_aggs"] = [dict(agg) for agg in last.doc_aggs if isinstance(agg, dict)]
        if last.final_content:
            # the server's own final text when it rewrote the streamed answer (see docs)
            metadata["final_content"] = last.final_content
        return metadata

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        text, reasoning, last, call = "", "", _Reply(), self._call(kwargs)
        for reply in self._sync_replies(messages, stream=False, call=call):
            text, reasoning, last = text + reply.delta, reasoning + reply.reasoning, reply
        return self._result(text, reasoning, last, stop, call)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            stream = self._astream(messages, stop, run_manager, **kwargs)
            return await agenerate_from_stream(stream)
        text, reasoning, last, call = "", "", _Reply(), self._call(kwargs)
        async for reply in self._async_replies(messages, stream=False, call=call):
            text, reasoning, last = text + reply.delta, reasoning + reply.reasoning, reply
        return self._result(text, reasoning, last, stop, call)

    def _result(
        self, text: str, reasoning: str, last: _Reply, stop: list[str] | None, call: _Call
    ) -> ChatResult:
        cut = _StopCutter(stop or self.stop)
        text = cut.feed(text) + cut.flush()
        message = AIMessage(
            content=text,
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            response_metadata=self._response_metadata(last, call),
            usage_metadata=last.usage,
            id=last.message_id,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        cut = _StopCutter(stop or self.stop)
        last = _Reply()
        call = self._call(kwargs)
        replies = self._sync_replies(messages, stream=True, call=call)
        try:
            for reply in replies:
                last = _merge_final(last, reply)
                chunk = _delta_chunk(cut.feed(reply.delta), reply.reasoning)
                if chunk is not None:
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if cut.stopped:
                    break
        finally:
            replies.close()
        chunk = self._last_chunk(cut.flush(), last, call)
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        cut = _StopCutter(stop or self.stop)
        last = _Reply()
        call = self._call(kwargs)
        replies = self._async_replies(messages, stream=True, call=call)
        closer = _OnceClose(replies)
        opened = _OPEN_REPLIES.get()
        if opened is not None:
            opened.append(closer)
        try:
            async for reply in replies:
                last = _merge_final(last, reply)
                chunk = _delta_chunk(cut.feed(reply.delta), reply.reasoning)
                if chunk is not None:
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if cut.stopped:
                    break
        finally:
            await closer.close()
        chunk = self._last_chunk(cut.flush(), last, call)
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Stream the answer as ``AIMessageChunk``s.

        Closing the stream early (``aclose()``, or leaving an ``async with aclosing(...)``
        block) ends the server stream and deletes a stateless agent call's temporary session
        before ``aclose()`` returns, so nothing is left to an event loop that is about to stop.
        """
        opened: list[_OnceClose] = []
        stream = cast(
            "AsyncGenerator[AIMessageChunk, None]",
            super().astream(input, config, stop=stop, **kwargs),
        )
        try:
            while True:
                token = _OPEN_REPLIES.set(opened)
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    return
                finally:
                    _OPEN_REPLIES.reset(token)
                yield chunk
        finally:
            await stream.aclose()
            for closer in reversed(opened):
                await closer.close()

    def _last_chunk(self, text: str, last: _Reply, call: _Call) -> ChatGenerationChunk:
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=text,
                response_metadata=self._response_metadata(last, call),
                usage_metadata=last.usage,
                id=last.message_id,
                chunk_position="last",
            )
        )


def reference_documents(message: BaseMessage) -> list[Document]:
    """The references of a :class:`ChatRAGFlow` answer as ``Document``s (id = chunk id)."""
    documents = []
    for reference in message.response_metadata.get("references") or []:
        metadata = {k: v for k, v in reference.items() if k not in ("id", "content")}
        documents.append(
            Document(
                id=reference.get("id"), page_content=reference.get("content", ""), metadata=metadata
            )
        )
    return documents


# ------------------------------------------------------------------ helpers


def _delta_chunk(text: str, reasoning: str) -> ChatGenerationChunk | None:
    if not text and not reasoning:
        return None
    extra = {"reasoning_content": reasoning} if reasoning else {}
    return ChatGenerationChunk(message=AIMessageChunk(content=text, additional_kwargs=extra))


def _merge_final(previous: _Reply, reply: _Reply) -> _Reply:
    """Keep the latest non-empty references, ids and usage seen in a stream."""
    return _Reply(
        references=reply.references if reply.references else previous.references,
        doc_aggs=reply.doc_aggs if reply.doc_aggs else previous.doc_aggs,
        session_id=reply.session_id or previous.session_id,
        message_id=reply.message_id or previous.message_id,
        usage=reply.usage or previous.usage,
        final_content=reply.final_content or previous.final_content,
    )


class _StopCutter:
    """Cuts streamed text at the first stop sequence, holding back a possible partial match."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self._stop = [s for s in (stop or []) if s]
        self._hold = max((len(s) for s in self._stop), default=1) - 1
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        if not self._stop:
            return text
        self._pending += text
        hits = [i for i in (self._pending.find(s) for s in self._stop) if i >= 0]
        if hits:
            out, self._pending, self.stopped = self._pending[: min(hits)], "", True
            return out
        split = max(len(self._pending) - self._hold, 0)
        out, self._pending = self._pending[:split], self._pending[split:]
        return out

    def flush(self) -> str:
        out, self._pending = self._pending, ""
        return out


def _message_text(message: BaseMessage) -> str:
    return str(message.text)


def _role(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ChatMessage) and message.role in ("user", "assistant", "system"):
        return message.role
    return "user"


def _to_wire_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as RAGFlow ``{role, content}`` dicts, merging same-role neighbours.

    RAGFlow keeps its own system prompt (the assistant's) and ignores system messages.
    """
    wire: list[dict[str, str]] = []
    for message in messages:
        role, text = _role(message), _message_text(message)
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"] = f"{wire[-1]['content']}\n\n{text}"
        else:
            wire.append({"role": role, "content": text})
    if not wire or wire[-1]["role"] != "user":
        raise ValueError("the last message must be a human (user) message for RAGFlow")
    return wire


def _last_user_text(messages: Sequence[BaseMessage]) -> str:
    return _to_wire_messages(messages)[-1]["content"]


def _references(chunks: Any) -> list[dict[str, Any]]:
    """Reference chunks (client objects or raw dicts) as plain, JSON-safe dicts."""
    if not chunks:
        return []
    if isinstance(chunks, dict):
        chunks = chunks.get("chunks") or []
        if isinstance(chunks, dict):
            chunks = list(chunks.values())
    out = []
    for chunk in chunks:
        record = chunk_to_record(chunk if isinstance(chunk, Chunk) else Chunk.model_validate(chunk))
        out.append({"id": record.id, "content": record.text, **record.metadata})
    return out


def _usage(raw: Any) -> UsageMetadata | None:
    if not raw:
        return None
    if not isinstance(raw, dict):
        raw = getattr(raw, "model_dump", lambda: {})()
    prompt = int(raw.get("prompt_tokens") or raw.get("input_tokens") or 0)
    completion = int(raw.get("completion_tokens") or raw.get("output_tokens") or 0)
    total = int(raw.get("total_tokens") or prompt + completion)
    return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=total)


def _reply_from_message(message: Any) -> _Reply:
    return _Reply(
        message.content or "",
        reasoning=getattr(message, "reasoning", None) or "",
        references=_references(getattr(message, "reference", None)),
        doc_aggs=list(getattr(message, "doc_aggs", None) or []),
        session_id=getattr(message, "session_id", None),
        message_id=getattr(message, "id", None),
        usage=_usage(getattr(message, "usage", None)),
        final=True,
    )


def _reply_from_event(event: Any, sessions: set[str]) -> _Reply:
    if event.session_id:
        sessions.add(event.session_id)
    return _Reply(
        event.delta or "",
        reasoning=event.reasoning_delta or "",
        references=_references(event.reference) if event.reference else None,
        doc_aggs=event.doc_aggs,
        session_id=event.session_id,
        message_id=event.message_id,
        usage=_usage(getattr(event, "usage", None)),
        final=bool(event.final),
        final_content=getattr(event, "final_content", None),
    )


def _native_replies(result: Any, stream: bool, sessions: set[str]) -> Iterator[_Reply]:
    if not stream:
        reply = _reply_from_message(result)
        if reply.session_id:
            sessions.add(reply.session_id)
        yield reply
        return
    for event in result:
        yield _reply_from_event(event, sessions)


async def _anative_replies(
    result: Any, stream: bool, sessions: set[str]
) -> AsyncGenerator[_Reply, None]:
    if not stream:
        reply = _reply_from_message(result)
        if reply.session_id:
            sessions.add(reply.session_id)
        yield reply
        return
    async with aclosing(result):
        async for event in result:
            yield _reply_from_event(event, sessions)


def _openai_reply(payload: dict[str, Any], *, stream: bool) -> _Reply:
    choice = (payload.get("choices") or [{}])[0]
    body = choice.get("delta" if stream else "message") or {}
    return _Reply(
        body.get("content") or "",
        reasoning=body.get("reasoning_content") or "",
        references=_references(body.get("reference")) or None,
        message_id=payload.get("id"),
        usage=_usage(payload.get("usage")),
        final=choice.get("finish_reason") is not None,
    )


def _openai_replies(result: Any, stream: bool) -> Iterator[_Reply]:
    if not stream:
        yield _openai_reply(result, stream=False)
        return
    for payload in result:
        yield _openai_reply(payload, stream=True)


async def _aopenai_replies(result: Any, stream: bool) -> AsyncGenerator[_Reply, None]:
    if not stream:
        yield _openai_reply(result, stream=False)
        return
    async with aclosing(result):
        async for payload in result:
            yield _openai_reply(payload, stream=True)
