"""RAGFlow for LangChain and LlamaIndex: a typed sync/async client and framework adapters.

``from ragflow_integrations import RAGFlow`` gives the seed's Python API spoken over RAGFlow's
current wire protocol (and understood by v0.22-v0.24 servers too). Importing this package does not
import LangChain, LlamaIndex or httpx.
"""

from ._core.features import ServerFeatures
from ._core.sse import StreamEvent
from .client import AsyncRAGFlow, RAGFlow
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DataError,
    DocumentParseError,
    IngestionError,
    NotFoundError,
    ParseFailure,
    ParseTimeoutError,
    PermissionDeniedError,
    RAGFlowError,
    RateLimitError,
    ResponseDecodeError,
    RouteNotFoundError,
    ServerError,
    StreamError,
    UploadError,
)
from .models import (
    Agent,
    AsyncAgent,
    AsyncChat,
    AsyncChunk,
    AsyncDataSet,
    AsyncDocument,
    AsyncMemory,
    AsyncSession,
    Chat,
    Chunk,
    DataSet,
    Document,
    Memory,
    MemoryMessage,
    Message,
    RetrievalResult,
    Session,
)

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Agent",
    "AsyncAgent",
    "AsyncChat",
    "AsyncChunk",
    "AsyncDataSet",
    "AsyncDocument",
    "AsyncMemory",
    "AsyncRAGFlow",
    "AsyncSession",
    "AuthenticationError",
    "BadRequestError",
    "Chat",
    "Chunk",
    "ConflictError",
    "DataError",
    "DataSet",
    "Document",
    "DocumentParseError",
    "IngestionError",
    "Memory",
    "MemoryMessage",
    "Message",
    "NotFoundError",
    "ParseFailure",
    "ParseTimeoutError",
    "PermissionDeniedError",
    "RAGFlow",
    "RAGFlowError",
    "RateLimitError",
    "ResponseDecodeError",
    "RetrievalResult",
    "RouteNotFoundError",
    "ServerError",
    "ServerFeatures",
    "Session",
    "StreamError",
    "StreamEvent",
    "UploadError",
]
