"""Chats: assistants (``chats.py``), their sessions and conversation (``sessions.py``), the
answers and their deletion and feedback (``messages.py``) and the OpenAI-compatible completion
(``openai.py``)."""

from .chats import AsyncChat, AsyncChats, Chat, Chats, translate_chat_body
from .messages import AsyncChatMessages, AsyncMessage, ChatMessages
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
    "AsyncChatMessages",
    "AsyncChats",
    "AsyncMessage",
    "AsyncOpenAICompletions",
    "AsyncSession",
    "Chat",
    "ChatCompletions",
    "ChatMessages",
    "Chats",
    "Message",
    "OpenAICompletions",
    "Session",
    "chat_completion",
    "doc_ids_param",
    "openai_chat_completion",
    "translate_chat_body",
]
