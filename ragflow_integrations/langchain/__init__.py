"""LangChain components for RAGFlow (install with ``pip install ragflow-integrations[langchain]``).

* :class:`RAGFlowRetriever` - search datasets (``BaseRetriever``).
* :class:`RAGFlowLoader` - read a dataset's parsed chunks or documents back (``BaseLoader``).
* :class:`RAGFlowVectorStore` - write documents into a dataset; works with ``index()``.
* :class:`ChatRAGFlow` - a chat assistant or agent as a chat model (``BaseChatModel``).
* :class:`RAGFlowSearchTool`, :class:`RAGFlowToolkit` - tools for agents.
* :class:`RAGFlowChatMessageHistory` - a chat history kept in a RAGFlow memory.
"""

from ragflow_integrations.langchain.chat_message_histories import RAGFlowChatMessageHistory
from ragflow_integrations.langchain.chat_models import ChatRAGFlow, reference_documents
from ragflow_integrations.langchain.document_loaders import RAGFlowLoader
from ragflow_integrations.langchain.retrievers import RAGFlowRetriever
from ragflow_integrations.langchain.tools import (
    RAGFlowAskTool,
    RAGFlowListDatasetsTool,
    RAGFlowSearchTool,
    RAGFlowToolkit,
    format_sources,
)
from ragflow_integrations.langchain.vectorstores import RAGFlowVectorStore

__all__ = [
    "ChatRAGFlow",
    "RAGFlowAskTool",
    "RAGFlowChatMessageHistory",
    "RAGFlowListDatasetsTool",
    "RAGFlowLoader",
    "RAGFlowRetriever",
    "RAGFlowSearchTool",
    "RAGFlowToolkit",
    "RAGFlowVectorStore",
    "format_sources",
    "reference_documents",
]
