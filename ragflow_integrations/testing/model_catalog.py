"""Which embedding models the stand-in's tenant may use, and RAGFlow's refusals for the others.

Every dataset is embedded by the server's own embedder whatever model it names; the model name
only has to pass the checks RAGFlow makes. The tenant has the ``Builtin`` provider plus the
providers of the configured chat models (``--llm name@Provider``). A small catalogue of
well-known embedding models tells a known model of an unconfigured provider ("Unauthorized")
from an unknown one ("Unsupported").
"""

from __future__ import annotations

from collections.abc import Iterable

from ._util import ApiError

EMBEDDING_MODELS: dict[str, frozenset[str]] = {
    "Builtin": frozenset(
        {
            "BAAI/bge-small-en-v1.5",
            "BAAI/bge-large-zh-v1.5",
            "BAAI/bge-m3",
            "maidalun1020/bce-embedding-base_v1",
            "Qwen/Qwen3-Embedding-0.6B",
        }
    ),
    "ZHIPU-AI": frozenset({"embedding-2", "embedding-3"}),
    "OpenAI": frozenset(
        {"text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large"}
    ),
    "Tongyi-Qianwen": frozenset({"text-embedding-v2", "text-embedding-v3", "text-embedding-v4"}),
    "Jina": frozenset({"jina-embeddings-v3", "jina-embeddings-v4", "jina-clip-v2"}),
    "Cohere": frozenset({"embed-english-v3.0", "embed-multilingual-v3.0"}),
    "Voyage AI": frozenset({"voyage-3", "voyage-3-large", "voyage-code-3"}),
    "Mistral": frozenset({"mistral-embed"}),
    "Gemini": frozenset({"text-embedding-004", "gemini-embedding-001"}),
    "SILICONFLOW": frozenset({"BAAI/bge-m3", "BAAI/bge-large-en-v1.5"}),
}


class EmbeddingModels:
    """The tenant's embedding models: ``Builtin`` ones and those of its configured providers."""

    def __init__(self, own_model: str, chat_models: Iterable[str]) -> None:
        self.own_model = own_model
        own_name, _, own_provider = own_model.rpartition("@")
        self.providers = {"Builtin", own_provider or "Builtin"}
        self.providers.update(m.rsplit("@", 1)[1] for m in chat_models if "@" in m)
        self.tenant: dict[str, set[str]] = {
            p: set(EMBEDDING_MODELS.get(p, ())) for p in self.providers
        }
        self.tenant.setdefault(own_provider or "Builtin", set()).add(own_name or own_model)

    def _known(self, name: str, provider: str) -> bool:
        return name in EMBEDDING_MODELS.get(provider, ()) or name in self.tenant.get(provider, ())

    def check_old(self, model: str) -> None:
        """v0.22: any ``Builtin`` name passes; others must be the tenant's (code 101)."""
        name, _, provider = model.partition("@")
        if provider == "Builtin" or name in self.tenant.get(provider, ()):
            return
        if self._known(name, provider):
            raise ApiError(101, f"Unauthorized model: <{model}>")
        raise ApiError(101, f"Unsupported model: <{model}>")

    def check(self, model: str) -> None:
        """v0.27: ``model@provider`` or ``model@instance@provider`` of a configured provider
        (code 102 with the provider/instance/model lookup's message)."""
        parts = model.rsplit("@", 2)
        if len(parts) == 3:
            name, instance, provider = parts
        elif len(parts) == 2:
            (name, provider), instance = parts, "default"
        else:
            name, instance, provider = parts[0], "", ""
        if provider not in self.providers:
            raise ApiError(102, f"Provider {provider} not found for model {model}.")
        if instance != "default":
            raise ApiError(102, f"Instance {instance} not found for model {model}.")
        if name not in self.tenant.get(provider, ()):
            raise ApiError(102, f"Model {model} not found for model embedding")
