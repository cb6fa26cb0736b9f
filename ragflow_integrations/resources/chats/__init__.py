"""Chats: assistants (``chats.py``), their sessions and conversation (``sessions.py``) and the
OpenAI-compatible completion (``openai.py``)."""

from .chats import AsyncChat, AsyncChats, Chat, Chats, translate_chat_body
from .openai import AsyncOpenAICompletions, OpenAICompletions, openai_chat_completion
from .sessions import (
    AsyncChatCompletions,
    AsyncSession,
    ChatCompletions,
    Message,
    Session,
    chat_completion,
    doc_ids_param,
)

__all__ = [
    "AsyncChat",
    "AsyncChatCompletions",
    "AsyncChats",
    "AsyncOpenAICompletions",
    "AsyncSession",
    "Chat",
    "ChatCompletions",
    "Chats",
    "Message",
    "OpenAICompletions",
    "Session",
    "chat_completion",
    "doc_ids_param",
    "openai_chat_completion",
    "translate_chat_body",
]
