"""RAGFlow for LangChain and LlamaIndex: a typed sync/async client and framework adapters."""

__version__ = "0.1.0"
