"""``RAGFlowLLM``: a RAGFlow chat assistant or agent as a LlamaIndex ``LLM``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any, NoReturn

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, model_validator
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.llm import LLM

from ragflow_integrations import AsyncRAGFlow, Chunk, Message, RAGFlow, StreamEvent
from ragflow_integrations._agent_sessions import adiscard_agent_sessions, discard_agent_sessions
from ragflow_integrations.llama_index._clients import (
    ClientPair,
    pickled_clients,
    reject_unknown,
)
from ragflow_integrations.llama_index._nodes import chunks_to_reference_dicts

DEFAULT_CONTEXT_WINDOW = 8192
DEFAULT_NUM_OUTPUT = 512
_NO_STRUCTURED_OUTPUT = (
    "RAGFlowLLM cannot return structured output: RAGFlow chat assistants and agents have no "
    "tool calling or JSON mode to force a schema. Use a function-calling LLM's "
    "structured_predict / as_structured_llm, and give it RAGFlow's passages through "
    "RAGFlowRetriever, a query engine over RAGFlowIndex, or RAGFlowToolSpec"
)
_NO_AGENT = (
    "RAGFlowLLM cannot drive an agent or call tools: RAGFlow answers with the assistant's own "
    "prompt and drops the system prompt that a ReActAgent (and predict_and_call) sends the tools "
    "and the Thought/Action format in, so the agent would answer without ever using its tools. "
    "Give the agent a function-calling LLM, and RAGFlow as its tools: "
    "RAGFlowToolSpec(...).to_tool_list(), or a QueryEngineTool over RAGFlowIndex"
)


class RAGFlowLLM(LLM):
    """A RAGFlow chat assistant (``chat_id``) or agent (``agent_id``) as a LlamaIndex chat LLM.

    Stateless: every call sends the whole conversation and stores nothing on the server (a chat
    assistant gets ``pass_all_history``; an agent, which takes one question, gets the last user
    message in a session RAGFlow creates for the call, deleted once the answer or stream ends).
    The server drops system messages, so ``system`` prompts must be configured on the assistant.
    Hence no agent loop can run on it: a ReActAgent's prompt (its tools and step format) would be
    dropped and the agent would answer without tools, so such a call raises
    ``NotImplementedError``, as do ``predict_and_call``, ``structured_predict`` and
    ``as_structured_llm`` (no tool calling or JSON mode; ``ChatRAGFlow`` refuses the same).
    The assistant's citations come back with every response:
    ``response.raw["reference"]`` and ``response.additional_kwargs["references"]`` (and on the
    message) as a list of ``{"id", "text", "score", "metadata"}`` dicts. Streaming yields
    ``delta``s (whatever the server's stream mode) and a last response carrying the references.
    """

    model_config = ConfigDict(extra="forbid")

    chat_id: str | None = Field(default=None, description="The RAGFlow chat assistant to use.")
    agent_id: str | None = Field(default=None, description="The RAGFlow agent to use instead.")
    model_name: str = Field(default="ragflow", description="Name reported in metadata.")
    context_window: int = Field(default=DEFAULT_CONTEXT_WINDOW, gt=0)
    num_output: int = Field(default=DEFAULT_NUM_OUTPUT, gt=0)
    temperature: float | None = Field(
        default=None, description="Per-request temperature (assistant's own setting if None)."
    )
    max_tokens: int | None = Field(
        default=None, description="Per-request output cap (assistant's own setting if None)."
    )

    _clients: ClientPair = PrivateAttr()

    def __init__(
        self,
        chat_id: str | None = None,
        *,
        agent_id: str | None = None,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
        callback_manager: CallbackManager | None = None,
        **kwargs: Any,
    ) -> None:
        reject_unknown("RAGFlowLLM", set(kwargs) - set(type(self).model_fields))
        super().__init__(
            chat_id=chat_id, agent_id=agent_id, callback_manager=callback_manager, **kwargs
        )
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )

    @model_validator(mode="after")
    def _one_target(self) -> RAGFlowLLM:
        if (self.chat_id is None) == (self.agent_id is None):
            raise ValueError("RAGFlowLLM needs exactly one of chat_id= or agent_id=")
        return self

    @classmethod
    def class_name(cls) -> str:
        return "RAGFlowLLM"

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle with the server, key and options it was built with (not the environment's)."""
        clients = pickled_clients("RAGFlowLLM", state)
        super().__setstate__(state)
        self._clients = clients

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            is_chat_model=True,
            is_function_calling_model=False,
            model_name=self.model_name,
        )

    # ----- what RAGFlow cannot do ------------------------------------------------------------
    def structured_predict(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow has no tool calling or JSON mode to force a schema."""
        raise NotImplementedError(_NO_STRUCTURED_OUTPUT)

    async def astructured_predict(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow has no tool calling or JSON mode to force a schema."""
        raise NotImplementedError(_NO_STRUCTURED_OUTPUT)

    def stream_structured_predict(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow has no tool calling or JSON mode to force a schema."""
        raise NotImplementedError(_NO_STRUCTURED_OUTPUT)

    async def astream_structured_predict(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow has no tool calling or JSON mode to force a schema."""
        raise NotImplementedError(_NO_STRUCTURED_OUTPUT)

    def as_structured_llm(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow has no tool calling or JSON mode to force a schema."""
        raise NotImplementedError(_NO_STRUCTURED_OUTPUT)

    def predict_and_call(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow cannot call caller-defined tools (LlamaIndex would run a ReAct
        loop whose system prompt RAGFlow drops)."""
        raise NotImplementedError(_NO_AGENT)

    async def apredict_and_call(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not supported: RAGFlow cannot call caller-defined tools."""
        raise NotImplementedError(_NO_AGENT)

    # ----- request building -------------------------------------------------------------------
    def _chat_messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        if any(m.role == MessageRole.SYSTEM and _is_react_prompt(m.content) for m in messages):
            # a ReActAgent: RAGFlow would drop its prompt and answer without the tools
            raise NotImplementedError(_NO_AGENT)
        wire = [
            {"role": m.role.value, "content": m.content or ""}
            for m in messages
            if m.role in (MessageRole.USER, MessageRole.ASSISTANT)
        ]
        if not wire or wire[-1]["role"] != MessageRole.USER.value:
            raise ValueError("the last message sent to a RAGFlow assistant must be a user message")
        return wire

    def _extra(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in kwargs.items() if k not in ("formatted",)}
        if self.temperature is not None:
            extra.setdefault("temperature", self.temperature)
        if self.max_tokens is not None:
            extra.setdefault("max_tokens", self.max_tokens)
        return extra

    def _call_sync(self, messages: Sequence[ChatMessage], stream: bool, **kwargs: Any) -> Any:
        wire = self._chat_messages(messages)
        client = self._clients.sync
        if self.agent_id is not None:
            return client.agent_completion(self.agent_id, wire[-1]["content"], stream=stream)
        assert self.chat_id is not None
        return client.chat_completion(self.chat_id, wire, stream=stream, **self._extra(kwargs))

    async def _call_async(
        self, messages: Sequence[ChatMessage], stream: bool, **kwargs: Any
    ) -> Any:
        wire = self._chat_messages(messages)
        client = self._clients.async_
        if self.agent_id is not None:
            return await client.agent_completion(self.agent_id, wire[-1]["content"], stream=stream)
        assert self.chat_id is not None
        return await client.chat_completion(
            self.chat_id, wire, stream=stream, **self._extra(kwargs)
        )

    # ----- temporary agent sessions -----------------------------------------------------------
    def _discard_sessions(self, session_ids: Iterable[str | None]) -> None:
        """Delete the session RAGFlow opened for a stateless agent call (best effort)."""
        if self.agent_id is not None:
            discard_agent_sessions(self._clients.sync, self.agent_id, session_ids)

    async def _adiscard_sessions(self, session_ids: Iterable[str | None]) -> None:
        """Async twin of :meth:`_discard_sessions`."""
        if self.agent_id is not None:
            await adiscard_agent_sessions(self._clients.async_, self.agent_id, session_ids)

    # ----- chat -------------------------------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        message = self._call_sync(messages, False, **kwargs)
        self._discard_sessions([message.session_id])
        return _message_response(message)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        message = await self._call_async(messages, False, **kwargs)
        await self._adiscard_sessions([message.session_id])
        return _message_response(message)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        events: Iterator[StreamEvent] = self._call_sync(messages, True, **kwargs)

        def gen() -> ChatResponseGen:
            state = _StreamState()
            try:
                for event in events:
                    response = state.push(event)
                    if response is not None:
                        yield response
                if not state.finished:
                    yield state.close()
            finally:  # also on an early close or an error: the stream is over either way
                getattr(events, "close", lambda: None)()
                self._discard_sessions(state.session_ids)

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        events: AsyncIterator[StreamEvent] = await self._call_async(messages, True, **kwargs)

        async def gen() -> ChatResponseAsyncGen:
            state = _StreamState()
            try:
                async for event in events:
                    response = state.push(event)
                    if response is not None:
                        yield response
                if not state.finished:
                    yield state.close()
            finally:  # also on an early close or an error: the stream is over either way
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
                await self._adiscard_sessions(state.session_ids)

        return gen()

    # ----- completion (derived from chat) -----------------------------------------------------
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)


def _is_react_prompt(text: str | None) -> bool:
    """Whether a system prompt asks for ReAct's ``Thought`` / ``Action`` / ``Action Input`` steps
    (LlamaIndex's ``ReActChatFormatter`` header, default or with a context)."""
    return bool(text) and "Action Input" in str(text) and "Thought" in str(text)


def _message_response(message: Message) -> ChatResponse:
    """A non-streamed RAGFlow ``Message`` as a ``ChatResponse`` with its citations."""
    references = chunks_to_reference_dicts(message.reference)
    content = message.content or ""
    extras: dict[str, Any] = {"references": references}
    if message.reasoning:
        extras["reasoning"] = message.reasoning
    raw = {
        "answer": content,
        "reference": references,
        "session_id": message.session_id,
        "message_id": message.id,
    }
    return ChatResponse(
        message=ChatMessage(
            role=MessageRole.ASSISTANT, content=content, additional_kwargs=dict(extras)
        ),
        raw=raw,
        delta=None,
        additional_kwargs=extras,
    )


class _StreamState:
    """Turns normalised ``StreamEvent``s into ``ChatResponse`` deltas plus a final response."""

    def __init__(self) -> None:
        self.content = ""
        self.reasoning = ""
        self.finished = False
        self.session_id: str | None = None
        self.session_ids: set[str] = set()
        self.message_id: str | None = None

    def push(self, event: StreamEvent) -> ChatResponse | None:
        if self.finished:
            return None
        delta = event.delta or ""
        self.content = event.content if event.content else self.content + delta
        self.reasoning += event.reasoning_delta or ""
        self.session_id = event.session_id or self.session_id
        if event.session_id:
            self.session_ids.add(event.session_id)
        self.message_id = event.message_id or self.message_id
        if not delta and not event.final:
            return None
        return self._response(delta, bool(event.final), event.reference)

    def close(self) -> ChatResponse:
        """The final response of a stream that ended without a final event (no references)."""
        return self._response("", True, None)

    def _response(self, delta: str, is_final: bool, reference: list[Chunk] | None) -> ChatResponse:
        extras: dict[str, Any] = {}
        raw: dict[str, Any] = {
            "answer": self.content,
            "session_id": self.session_id,
            "message_id": self.message_id,
            "final": is_final,
        }
        if is_final:
            self.finished = True
            references = chunks_to_reference_dicts(reference or [])
            extras["references"] = references
            raw["reference"] = references
            if self.reasoning:
                extras["reasoning"] = self.reasoning
        return ChatResponse(
            message=ChatMessage(
                role=MessageRole.ASSISTANT, content=self.content, additional_kwargs=dict(extras)
            ),
            delta=delta,
            raw=raw,
            additional_kwargs=extras,
        )
