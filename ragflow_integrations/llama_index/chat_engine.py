"""``RAGFlowChatEngine``: a conversation with a RAGFlow chat assistant, history kept server-side."""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    MessageRole,
)
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.schema import NodeWithScore

from ragflow_integrations import AsyncRAGFlow, AsyncSession, Chunk, RAGFlow, Session
from ragflow_integrations.llama_index._clients import ClientPair
from ragflow_integrations.llama_index._nodes import chunks_to_nodes


class RAGFlowChatEngine(BaseChatEngine):
    """Chat with a RAGFlow chat assistant in one server-side session.

    The first turn creates a session on the assistant (or pass ``session_id=`` to continue one);
    each turn sends only the new question and the server answers from the session's stored
    history, with retrieval over the assistant's datasets. ``source_nodes`` are the assistant's
    references as scored nodes. ``chat_history`` is the conversation of this engine;
    :meth:`server_history` reads what the server stored. ``reset()`` starts a new session on the
    next turn (the old one is kept on the server). A turn given an explicit ``chat_history=`` is
    one-off: it runs statelessly with that history and leaves the session and ``chat_history``
    alone.
    """

    def __init__(
        self,
        chat_id: str,
        *,
        session_id: str | None = None,
        session_name: str = "LlamaIndex chat",
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
    ) -> None:
        if not chat_id:
            raise ValueError("RAGFlowChatEngine needs the chat_id of a RAGFlow chat assistant")
        self.chat_id = chat_id
        self.session_id = session_id
        self.session_name = session_name
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )
        self._history: list[ChatMessage] = []

    # ----- state ------------------------------------------------------------------------------
    @property
    def chat_history(self) -> list[ChatMessage]:
        """The turns of this engine's conversation (user and assistant messages, in order)."""
        return list(self._history)

    def reset(self) -> None:
        """Forget the conversation: the next turn starts a new server session."""
        self.session_id = None
        self._history = []

    def _ensure_session(self) -> str:
        if self.session_id is None:
            chat = self._clients.sync.get_chat(self.chat_id)
            self.session_id = str(chat.create_session(name=self.session_name).id)
        return self.session_id

    async def _aensure_session(self) -> str:
        if self.session_id is None:
            chat = await self._clients.async_.get_chat(self.chat_id)
            session = await chat.create_session(name=self.session_name)
            self.session_id = str(session.id)
        return self.session_id

    def _turn(
        self, message: str, chat_history: list[ChatMessage] | None
    ) -> tuple[list[dict[str, str]], str | None]:
        """Messages to send and the session to send them in.

        A normal turn sends the new question in the engine's session and records it. A turn with an
        explicit ``chat_history`` is one-off: it runs statelessly with that whole history and leaves
        the engine's session and ``chat_history`` untouched.
        """
        if chat_history is None:
            self._history.append(ChatMessage(role=MessageRole.USER, content=message))
            return [{"role": "user", "content": message}], self.session_id
        wire = [
            {"role": m.role.value, "content": m.content or ""}
            for m in chat_history
            if m.role in (MessageRole.USER, MessageRole.ASSISTANT)
        ]
        return [*wire, {"role": "user", "content": message}], None

    def server_history(self) -> list[ChatMessage]:
        """The messages the server stored for the current session (its prologue first)."""
        if self.session_id is None:
            return []
        chat = self._clients.sync.get_chat(self.chat_id)
        sessions = chat.list_sessions(id=self.session_id)
        return _session_messages(sessions)

    async def aserver_history(self) -> list[ChatMessage]:
        """Async twin of :meth:`server_history`."""
        if self.session_id is None:
            return []
        chat = await self._clients.async_.get_chat(self.chat_id)
        sessions = await chat.list_sessions(id=self.session_id)
        return _session_messages(sessions)

    # ----- turns ------------------------------------------------------------------------------
    def chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        if chat_history is None:
            self._ensure_session()
        wire, session_id = self._turn(message, chat_history)
        answer = self._clients.sync.chat_completion(
            self.chat_id, wire, session_id=session_id, stream=False
        )
        return self._finish(answer.content or "", answer.reference, record=session_id is not None)

    async def achat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        if chat_history is None:
            await self._aensure_session()
        wire, session_id = self._turn(message, chat_history)
        answer = await self._clients.async_.chat_completion(
            self.chat_id, wire, session_id=session_id, stream=False
        )
        return self._finish(answer.content or "", answer.reference, record=session_id is not None)

    def stream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is None:
            self._ensure_session()
        wire, session_id = self._turn(message, chat_history)
        events = self._clients.sync.chat_completion(
            self.chat_id, wire, session_id=session_id, stream=True
        )
        source_nodes: list[NodeWithScore] = []

        def gen() -> ChatResponseGen:
            content = ""
            reference: list[Chunk] | None = None
            for event in events:
                content = event.content or content + (event.delta or "")
                reference = event.reference or reference
                if event.delta:
                    yield _delta(content, event.delta)
            self._finish(content, reference, source_nodes, record=session_id is not None)

        return StreamingAgentChatResponse(
            chat_stream=gen(), source_nodes=source_nodes, is_writing_to_memory=False
        )

    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        if chat_history is None:
            await self._aensure_session()
        wire, session_id = self._turn(message, chat_history)
        events = await self._clients.async_.chat_completion(
            self.chat_id, wire, session_id=session_id, stream=True
        )
        source_nodes: list[NodeWithScore] = []

        async def agen() -> ChatResponseAsyncGen:
            content = ""
            reference: list[Chunk] | None = None
            async for event in events:
                content = event.content or content + (event.delta or "")
                reference = event.reference or reference
                if event.delta:
                    yield _delta(content, event.delta)
            self._finish(content, reference, source_nodes, record=session_id is not None)

        return StreamingAgentChatResponse(
            achat_stream=agen(), source_nodes=source_nodes, is_writing_to_memory=False
        )

    def _finish(
        self,
        answer: str,
        reference: list[Chunk] | None,
        into: list[NodeWithScore] | None = None,
        *,
        record: bool = True,
    ) -> AgentChatResponse:
        """Record the assistant turn; build (or fill ``into`` with) the source nodes."""
        nodes = chunks_to_nodes(reference or [])
        if into is not None:
            into.extend(nodes)
        if record:
            self._history.append(ChatMessage(role=MessageRole.ASSISTANT, content=answer))
        return AgentChatResponse(
            response=answer,
            source_nodes=nodes,
            metadata={"session_id": self.session_id, "chat_id": self.chat_id},
        )


def _delta(content: str, delta: str) -> ChatResponse:
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=content), delta=delta
    )


def _session_messages(sessions: Sequence[Session | AsyncSession]) -> list[ChatMessage]:
    if not sessions:
        return []
    messages = sessions[0].messages or []
    history = []
    for item in messages:
        role = item.get("role") if isinstance(item, dict) else getattr(item, "role", None)
        text = item.get("content") if isinstance(item, dict) else getattr(item, "content", None)
        if role in ("user", "assistant"):
            history.append(ChatMessage(role=MessageRole(role), content=text or ""))
    return history
