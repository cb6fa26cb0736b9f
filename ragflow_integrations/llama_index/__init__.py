"""LlamaIndex adapters for RAGFlow (``pip install "ragflow-integrations[llama-index]"``).

* :class:`RAGFlowRetriever` - dataset search as scored nodes (sync and native async).
* :class:`RAGFlowReader` - a dataset's documents or chunks as LlamaIndex ``Document``s.
* :class:`RAGFlowIndex` - a dataset as a managed index: insert, refresh, delete, query.
* :class:`RAGFlowLLM` - a chat assistant or agent as a chat ``LLM`` with citations.
* :class:`RAGFlowChatEngine` - a server-side chat session with source nodes.
* :class:`RAGFlowToolSpec` - search / list datasets / ask an assistant, as agent tools.
* :class:`RAGFlowMemoryBlock` - long-term memory for ``Memory`` kept in a RAGFlow memory.
"""

from __future__ import annotations

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ragflow_integrations.llama_index needs llama-index-core; install it with "
        '`pip install "ragflow-integrations[llama-index]"`'
    ) from exc

from ragflow_integrations.llama_index.chat_engine import RAGFlowChatEngine
from ragflow_integrations.llama_index.indices import RAGFlowIndex
from ragflow_integrations.llama_index.llms import RAGFlowLLM
from ragflow_integrations.llama_index.memory import RAGFlowMemoryBlock
from ragflow_integrations.llama_index.readers import RAGFlowReader
from ragflow_integrations.llama_index.retrievers import RAGFlowRetriever
from ragflow_integrations.llama_index.tools import RAGFlowToolSpec

__all__ = [
    "RAGFlowChatEngine",
    "RAGFlowIndex",
    "RAGFlowLLM",
    "RAGFlowMemoryBlock",
    "RAGFlowReader",
    "RAGFlowRetriever",
    "RAGFlowToolSpec",
]
