"""The tenant's models: the registry behind chat ``llm_id`` / ``rerank_id`` checks and
``GET /models``, ``GET /models/default`` (v0.25+).

The stand-in's tenant has the chat models the server was started with (its extractive responder
plus any ``--llm``), its embedding model and RAGFlow's two built-in rerankers. Each has a stable
32-hex tenant-model id, as RAGFlow's ``tenant_model`` rows do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..server import DEFAULT_LLM
from ._common import TENANT_ID, ServerState, endpoint, state_of
from ._wire import get_result

BUILTIN_RERANKERS = ("BAAI/bge-reranker-v2-m3", "maidalun1020/bce-reranker-base_v1")
TENANT_NAME = "local's Kingdom"
MODEL_TYPES = ("chat", "embedding", "rerank", "asr", "vision", "tts", "ocr")


@dataclass(frozen=True)
class TenantModel:
    name: str
    instance: str
    provider: str
    model_type: str

    @property
    def id(self) -> str:
        key = f"{self.name}@{self.instance}@{self.provider}#{self.model_type}"
        return hashlib.md5(key.encode("utf-8")).hexdigest()

    @property
    def composite(self) -> str:
        return f"{self.name}@{self.instance}@{self.provider}"


def split_model_name(ref: str) -> tuple[str, str, str]:
    """``name``, ``name@provider`` or ``name@instance@provider`` (right-anchored, like RAGFlow)."""
    parts = ref.rsplit("@", 2)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], "default", parts[1]
    return parts[0], "", ""


def _from_ref(ref: str, model_type: str) -> TenantModel:
    name, instance, provider = split_model_name(ref)
    return TenantModel(name, instance or "default", provider or "Builtin", model_type)


def tenant_models(state: ServerState) -> list[TenantModel]:
    chat = [DEFAULT_LLM, *sorted(m for m in state.llms if m != DEFAULT_LLM)]
    out = [_from_ref(ref, "chat") for ref in chat]
    out.append(_from_ref(str(state.extra.get("embedding_model") or ""), "embedding"))
    return out


def default_models(state: ServerState) -> dict[str, TenantModel]:
    chat = _from_ref(DEFAULT_LLM, "chat")
    embedding = _from_ref(str(state.extra.get("embedding_model") or ""), "embedding")
    return {"chat": chat, "embedding": embedding}


def model_by_id(state: ServerState, model_id: str, model_type: str) -> TenantModel | None:
    for model in tenant_models(state):
        if model.id == model_id and model.model_type == model_type:
            return model
    return None


def resolve_model(state: ServerState, ref: str, model_type: str) -> TenantModel | None:
    """A tenant model by id or by composite name (v0.25+: a bare name has no provider and
    resolves to nothing)."""
    by_id = model_by_id(state, ref, model_type)
    if by_id is not None:
        return by_id
    name, instance, provider = split_model_name(ref)
    if not provider:
        return None
    for model in tenant_models(state):
        if (model.name, model.provider, model.model_type) == (name, provider, model_type) and (
            instance in (model.instance, "default")
        ):
            return model
    return None


def has_chat_model_v022(state: ServerState, ref: str) -> bool:
    """v0.22.1's ``TenantLLMService.query``: ``name@factory`` must match both; a bare name
    matches any factory."""
    name, _, provider = split_model_name(ref)
    for model in tenant_models(state):
        if model.model_type != "chat" or model.name != name:
            continue
        if not provider or model.provider == provider:
            return True
    return False


def _model_row(model: TenantModel) -> dict[str, object]:
    return {
        "model_id": model.id,
        "tenant_id": TENANT_ID,
        "tenant_name": TENANT_NAME,
        "model_type": [model.model_type],
        "name": model.name,
        "provider_id": hashlib.md5(model.provider.encode()).hexdigest(),
        "provider_name": model.provider,
        "instance_id": hashlib.md5(f"{model.provider}/{model.instance}".encode()).hexdigest(),
        "instance_name": model.instance,
        "rank": 500,
    }


@endpoint
async def list_models(request: Request) -> Response:
    state = state_of(request)
    wanted = (request.query_params.get("type") or "").lower()
    wanted = {"speech2text": "asr", "image2text": "vision"}.get(wanted, wanted)
    models = tenant_models(state)
    if wanted in MODEL_TYPES:  # an unknown type filters nothing, as in RAGFlow
        models = [m for m in models if m.model_type == wanted]
    rows = [_model_row(m) for m in models]
    rows.sort(key=lambda r: (str(r["provider_name"]), str(r["instance_name"]), str(r["name"])))
    return get_result(rows)


@endpoint
async def list_default_models(request: Request) -> Response:
    state = state_of(request)
    models = [
        {
            "model_id": model.id,
            "model_provider": model.provider,
            "model_instance": model.instance,
            "model_name": model.name,
            "model_type": model_type,
            "enable": True,
        }
        for model_type, model in default_models(state).items()
    ]
    return get_result({"models": models})


def routes(state: ServerState) -> list[Route]:
    if state.old:  # v0.22.1 has no /models routes
        return []
    return [
        Route("/models", list_models, methods=["GET"]),
        Route("/models/default", list_default_models, methods=["GET"]),
    ]
