"""A local stand-in for a RAGFlow server, for tests, notebooks and demos.

``LocalRAGFlowServer`` speaks RAGFlow's HTTP API (``/api/v1``, emulating v0.27.0 or v0.22.1) and
really stores, parses, chunks, indexes and retrieves documents; chats answer with a deterministic
extractive responder instead of an LLM. It is not RAGFlow (see docs/local-server.md) and shares no
code with the client in this package.
"""

from .embedding import Embedder, HashingEmbedder
from .server import LocalRAGFlowServer
from .tls import TestCertificates, make_test_certificates

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "LocalRAGFlowServer",
    "TestCertificates",
    "make_test_certificates",
]
