"""A LlamaIndex memory block backed by a RAGFlow memory (RAGFlow v0.24+).

``Memory.from_defaults(memory_blocks=[RAGFlowMemoryBlock(memory_id=...)])`` gives an agent or a
chat engine long-term memory kept in RAGFlow: messages flushed out of the short-term chat
history are stored as RAGFlow turns (a user message and the assistant's replies), and each
``memory.get(input=...)`` adds the stored turns that match the current input (RAGFlow's search:
messages sharing a word with the query, newest first).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.memory import BaseMemoryBlock

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index._clients import ClientPair, reject_unknown

DEFAULT_SESSION = "llama_index"


def _text(message: ChatMessage) -> str:
    return "".join(b.text for b in message.blocks if isinstance(b, TextBlock)).strip()


def to_turns(messages: list[ChatMessage]) -> list[tuple[str, str]]:
    """(user input, agent response) pairs: each user message with the assistant text after it.

    System and tool messages are left out, as are assistant messages without text (tool calls).
    """
    turns: list[list[str]] = []
    for message in messages:
        text = _text(message)
        if message.role == MessageRole.USER:
            turns.append([text, ""])
        elif message.role in (MessageRole.ASSISTANT, MessageRole.CHATBOT) and text:
            if not turns:
                turns.append(["", ""])
            turns[-1][1] = f"{turns[-1][1]}\n{text}" if turns[-1][1] else text
    return [(user, agent) for user, agent in turns if user or agent]


class RAGFlowMemoryBlock(BaseMemoryBlock[str]):
    """Long-term memory in a RAGFlow memory: stores flushed turns, recalls matching ones.

    ``session_scoped=True`` recalls only the turns of the ``Memory``'s own session (by default a
    recall searches the whole memory: what this agent learned in every session). ``agent_id``
    (and ``user_id`` when given) tag the stored turns and filter the recall. Connection: pass
    ``client=`` / ``async_client=``, or ``api_key=`` / ``base_url=`` (else ``RAGFLOW_API_KEY`` /
    ``RAGFLOW_BASE_URL``) with ``timeout=``, ``max_retries=``, ``verify=``.

    Example:
        .. code-block:: python

            block = RAGFlowMemoryBlock(memory_id="<memory id>")
            memory = Memory.from_defaults(session_id="user-42", memory_blocks=[block])
    """

    name: str = Field(default="RAGFlowMemory", description="The name of the memory block.")
    memory_id: str = Field(description="The RAGFlow memory that keeps the turns.")
    agent_id: str = Field(default="llama_index", description="Tags stored turns; filters recall.")
    user_id: str | None = Field(default=None, description="Tags stored turns; filters recall.")
    session_scoped: bool = Field(default=False, description="Recall only this session's turns.")
    top_n: int = Field(default=5, ge=1, le=100, description="How many turns a recall returns.")
    retrieval_context_window: int = Field(
        default=1, ge=1, description="How many of the latest messages form the search query."
    )
    similarity_threshold: float = 0.2
    keywords_similarity_weight: float = 0.7

    _clients: ClientPair = PrivateAttr()

    def __init__(
        self,
        *,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
        **kwargs: Any,
    ) -> None:
        reject_unknown("RAGFlowMemoryBlock", set(kwargs) - set(type(self).model_fields))
        super().__init__(**kwargs)
        if not self.memory_id:
            raise ValueError("memory_id is empty: pass the id of a RAGFlow memory")
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )

    async def _aget(
        self,
        messages: list[ChatMessage] | None = None,
        session_id: str | None = None,
        **block_kwargs: Any,
    ) -> str:
        """The stored turns matching the latest messages, one paragraph each ("" when none)."""
        recent = (messages or [])[-self.retrieval_context_window :]
        query = " ".join(t for t in (_text(m) for m in recent) if t)
        if not query:
            return ""
        found = await self._clients.async_.search_messages(
            query,
            [self.memory_id],
            agent_id=self.agent_id,
            session_id=(session_id or DEFAULT_SESSION) if self.session_scoped else None,
            user_id=self.user_id,
            similarity_threshold=self.similarity_threshold,
            keywords_similarity_weight=self.keywords_similarity_weight,
            top_n=self.top_n,
        )
        return "\n\n".join(m.content for m in found if m.content)

    async def _aput(self, messages: list[ChatMessage]) -> None:
        """Store the messages as turns of their session (one request per turn, in order)."""
        session = next(
            (
                str(m.additional_kwargs["session_id"])
                for m in messages
                if m.additional_kwargs.get("session_id")
            ),
            DEFAULT_SESSION,
        )
        client = self._clients.async_
        for user_input, agent_response in to_turns(messages):
            await client.add_message(
                [self.memory_id], self.agent_id, session, user_input, agent_response, self.user_id
            )
