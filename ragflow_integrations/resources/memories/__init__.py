"""Memories (RAGFlow v0.24+): memories themselves (``memories.py``) and their messages
(``messages.py``)."""

from .memories import AsyncMemories, AsyncMemory, Memories, Memory
from .messages import AsyncMemoryMessages, MemoryMessage, MemoryMessages

__all__ = [
    "AsyncMemories",
    "AsyncMemory",
    "AsyncMemoryMessages",
    "Memories",
    "Memory",
    "MemoryMessage",
    "MemoryMessages",
]
