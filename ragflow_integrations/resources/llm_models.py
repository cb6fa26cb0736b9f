"""Models: the chat, embedding, rerank … models the tenant has added, and its defaults.

Operations (``GET /models[?type=…]``, ``GET /models/default``; RAGFlow v0.26+, an older server
gets a :class:`~ragflow_integrations.FeatureNotSupportedError` naming that release);
:class:`LLMModel` (one plain object for both clients); the client methods :class:`Models` /
:class:`AsyncModels`. Methods call the operation of the same name defined in this module.
(Named ``llm_models`` so it is not taken for the package's ``models.py``, which gathers objects.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from .._base_client import AsyncAPIClient, SyncAPIClient
from .._core.ops import Context, Op, call_feature, data_of, items_of
from .._core.request import make_params
from .._models import _Model

MODEL_TYPES = ("chat", "embedding", "rerank", "asr", "vision", "tts", "ocr")
"""The model types RAGFlow knows (``type`` filter, keys of the defaults)."""

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def _model_type(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in MODEL_TYPES:
        raise ValueError(
            f"model_type must be one of {', '.join(MODEL_TYPES)} (got {value!r:.40}); "
            "pass model_type=None for every model"
        )
    return value.lower()


def list_models(ctx: Context, model_type: str | None = None) -> Op:
    wanted = _model_type(model_type)
    response = yield from call_feature(
        "models_api", "listing models", "GET", "/models", params=make_params(type=wanted)
    )
    items, _ = items_of(data_of(response), "models")
    return [ctx.wrap("llm_model", dict(item)) for item in items if isinstance(item, Mapping)]


def get_default_models(ctx: Context) -> Op:
    response = yield from call_feature(
        "models_api", "reading the default models", "GET", "/models/default"
    )
    items, _ = items_of(data_of(response), "models")
    defaults: dict[str, Any] = {}
    for item in items:
        if isinstance(item, Mapping):
            model = ctx.wrap("llm_model", dict(item))
            defaults.setdefault(model.model_type or "", model)
    return defaults


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class LLMModel(_Model):
    """A model the tenant can use (``GET /models``) or a default (``GET /models/default``).

    ``id`` is the tenant's model id (a 32-hex id, accepted as ``embedding_model=`` when creating
    a dataset); ``name``, ``provider`` and ``instance`` name it (``f"{name}@{provider}"`` is
    RAGFlow's other way to name a model); ``model_types`` lists what it can do (``chat``,
    ``embedding`` …) and ``model_type`` is its type when there is one (always, for a default).
    """

    id: str = ""
    name: str = ""
    provider: str = ""
    instance: str = ""
    model_types: list[str] = Field(default_factory=list)
    model_type: str | None = None
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _wire_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for wire, name in (
            ("model_id", "id"),
            ("model_name", "name"),
            ("provider_name", "provider"),
            ("model_provider", "provider"),
            ("instance_name", "instance"),
            ("model_instance", "instance"),
            ("enable", "enabled"),
        ):
            if wire in data and name not in data:
                data[name] = data[wire]
        kinds = data.get("model_type")
        if isinstance(kinds, list):  # listed models: every type the model has
            data["model_types"] = [str(k) for k in kinds]
            data["model_type"] = str(kinds[0]) if len(kinds) == 1 else None
        elif isinstance(kinds, str) and "model_types" not in data:
            data["model_types"] = [kinds]
        for key in ("id", "name", "provider", "instance", "enabled"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class Models(SyncAPIClient):
    """``RAGFlow``'s model methods."""

    def list_models(self, model_type: str | None = None) -> list[LLMModel]:
        """The models the tenant added, of one ``model_type`` (``chat``, ``embedding``,
        ``rerank``, ``asr``, ``vision``, ``tts``, ``ocr``) or all (RAGFlow v0.26+)."""
        models: list[LLMModel] = self._run(list_models(self, model_type))
        return models

    def get_default_models(self) -> dict[str, LLMModel]:
        """The tenant's default model of each type that has one, keyed by type (v0.26+)."""
        defaults: dict[str, LLMModel] = self._run(get_default_models(self))
        return defaults


class AsyncModels(AsyncAPIClient):
    """``AsyncRAGFlow``'s model methods."""

    async def list_models(self, model_type: str | None = None) -> list[LLMModel]:
        """The models the tenant added, of one ``model_type`` (``chat``, ``embedding``,
        ``rerank``, ``asr``, ``vision``, ``tts``, ``ocr``) or all (RAGFlow v0.26+)."""
        models: list[LLMModel] = await self._run(list_models(self, model_type))
        return models

    async def get_default_models(self) -> dict[str, LLMModel]:
        """The tenant's default model of each type that has one, keyed by type (v0.26+)."""
        defaults: dict[str, LLMModel] = await self._run(get_default_models(self))
        return defaults
