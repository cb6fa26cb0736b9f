"""Chat assistants: create, read, list, update and delete them (``/chats``).

Operations (with the translation of the seed's nested ``llm``/``prompt`` for new servers);
:class:`Chat` / :class:`AsyncChat` (their session methods come from ``sessions.py``); the client
methods :class:`Chats` / :class:`AsyncChats`. Methods call the operation of the same name defined
in this module (a module-level function).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.features import ServerFeatures
from ..._core.ops import (
    FEATURES,
    Context,
    Op,
    RawContext,
    as_dict,
    as_id_list,
    call,
    collect_ids,
    data_of,
    delete_by,
    items_of,
    merge_update,
    object_of,
    seg,
    updated_state,
    walk,
)
from ..._core.paging import page_window
from ..._core.request import make_params
from ..._models import AsyncObject, SyncObject, _Model
from ...errors import NotFoundError, RouteNotFoundError
from .sessions import AsyncChatSessions, ChatSessions

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


_LLM_SETTING_KEYS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")


def translate_chat_body(body: Mapping[str, Any], features: ServerFeatures) -> dict[str, Any]:
    """Seed nested ``avatar``/``llm``/``prompt`` -> current flat fields (new servers only)."""
    out = dict(body)
    llm = out.pop("llm", None)
    prompt = out.pop("prompt", None)
    avatar = out.pop("avatar", None)
    llm_d = as_dict(llm, "llm") if llm is not None else {}
    prompt_d = as_dict(prompt, "prompt") if prompt is not None else {}
    if "max_token" in llm_d:
        llm_d.setdefault("max_tokens", llm_d.pop("max_token"))
    if features.nested_chat_body:
        if avatar is not None:
            out["avatar"] = avatar
        if llm is not None:
            out["llm"] = llm_d
        if prompt is not None:
            out["prompt"] = prompt_d
        return out
    if avatar:
        out.setdefault("icon", avatar)
    if llm_d:
        if llm_d.get("model_name"):
            out.setdefault("llm_id", llm_d["model_name"])
        setting = {k: llm_d[k] for k in _LLM_SETTING_KEYS if llm_d.get(k) is not None}
        if setting:
            out["llm_setting"] = {**setting, **dict(out.get("llm_setting") or {})}
    if prompt_d:
        config = dict(out.get("prompt_config") or {})
        mapping = {
            "opener": "prologue",
            "show_quote": "quote",
            "prompt": "system",
            "empty_response": "empty_response",
            "variables": "parameters",
        }
        for seed_key, native in mapping.items():
            if prompt_d.get(seed_key) is not None:
                config.setdefault(native, prompt_d[seed_key])
        if config:
            out["prompt_config"] = config
        for key in ("similarity_threshold", "top_n", "top_k"):
            if prompt_d.get(key) is not None:
                out.setdefault(key, prompt_d[key])
        if prompt_d.get("rerank_model") is not None:
            out.setdefault("rerank_id", prompt_d["rerank_model"])
        if prompt_d.get("keywords_similarity_weight") is not None:
            out.setdefault(
                "vector_similarity_weight",
                round(1.0 - float(prompt_d["keywords_similarity_weight"]), 10),
            )
    return out


def create_chat(
    ctx: Context,
    name: str,
    avatar: str = "",
    dataset_ids: Sequence[str] | None = None,
    llm: Any = None,
    prompt: Any = None,
    native: Mapping[str, Any] | None = None,
) -> Op:
    ids = as_id_list(dataset_ids, "dataset_ids") if dataset_ids is not None else []
    as_dict(llm, "llm"), as_dict(prompt, "prompt")  # validate before any request
    features: ServerFeatures = yield FEATURES
    body: dict[str, Any] = {"name": name, "dataset_ids": [d for d in ids if d]}
    if avatar:
        body["avatar"] = avatar
    if llm is not None:
        body["llm"] = llm
    if prompt is not None:
        body["prompt"] = prompt
    body.update(native or {})
    response = yield call("POST", "/chats", json=translate_chat_body(body, features))
    return ctx.wrap("chat", object_of(response, "the created chat"))


def update_chat(chat_id: str, update_message: Any) -> Op:
    message = merge_update(update_message)
    features: ServerFeatures = yield FEATURES
    if not features.chat_update_keeps_datasets and "dataset_ids" not in message:
        # RAGFlow before v0.25 sets a chat's datasets to the update's `dataset_ids`, [] when
        # absent: send the ones the chat has, so that renaming a chat does not empty it
        current = yield from get_chat(RawContext(), chat_id)
        message["dataset_ids"] = _dataset_ids_of(current)
    body = translate_chat_body(message, features)
    response = yield call(features.update_method, f"/chats/{seg(chat_id)}", json=body)
    return (yield from updated_state(response, lambda: get_chat(RawContext(), chat_id)))


def _dataset_ids_of(chat: Mapping[str, Any]) -> list[str]:
    """A chat's dataset ids from any of its forms (``dataset_ids`` or ``datasets`` objects)."""
    ids = chat.get("dataset_ids")
    if isinstance(ids, list):
        return [str(i) for i in ids if i]
    datasets = chat.get("datasets")
    return [str(d["id"]) for d in datasets or [] if isinstance(d, Mapping) and d.get("id")]


def get_chat(ctx: Context, chat_id: str) -> Op:
    seg(chat_id, "chat_id")
    features: ServerFeatures = yield FEATURES
    try:
        if features.get_routes:
            response = yield call("GET", f"/chats/{seg(chat_id)}")
            return ctx.wrap("chat", object_of(response, "a chat"))
        response = yield call("GET", "/chats", params=make_params(id=chat_id))
    except NotFoundError as exc:
        if isinstance(exc, RouteNotFoundError):
            raise
        raise NotFoundError(
            f"Chat {chat_id} not found (or not accessible with this key): {exc.message}",
            **exc.context(),
        ) from exc
    items, _ = items_of(data_of(response), "chats")
    if not items:
        raise NotFoundError(f"Chat {chat_id} not found", method="GET", path="/chats")
    return ctx.wrap("chat", dict(items[0]))


def walk_chats(
    ctx: Context,
    offset: int = 1,
    limit: int | None = None,
    orderby: str = "create_time",
    desc: bool = True,
    id: str | None = None,
    name: str | None = None,
) -> Op:
    params = {"orderby": orderby, "desc": desc, "id": id, "name": name}
    return (
        yield from walk(
            ctx,
            "chat",
            "/chats",
            params,
            offset=offset,
            limit=limit,
            keys=("chats",),
            filtered=bool(id or name),
        )
    )


def delete_chats(ctx: Context, ids: Sequence[str] | None, delete_all: bool) -> Op:
    return (
        yield from delete_by(
            "/chats", ids, delete_all, "chats", list_all=lambda: collect_ids(walk_chats(ctx))
        )
    )


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class _ChatLLM(BaseModel):
    """The seed's ``Chat.LLM`` settings (``llm_id``/``llm_setting`` on new servers)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())
    model_name: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_tokens: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "max_token" in data:
            data = dict(data)
            value = data.pop("max_token")
            if data.get("max_tokens") is None:
                data["max_tokens"] = value
        return data

    @property
    def max_token(self) -> int | None:
        """The seed's name for :attr:`max_tokens`."""
        return self.max_tokens

    @max_token.setter
    def max_token(self, value: int | None) -> None:
        self.max_tokens = value


class _ChatPrompt(BaseModel):
    """The seed's ``Chat.Prompt`` settings (translated to flat fields on new servers)."""

    model_config = ConfigDict(extra="allow")
    similarity_threshold: float | None = None
    keywords_similarity_weight: float | None = None
    top_n: int | None = None
    variables: list[Any] | None = None
    rerank_model: str | None = None
    empty_response: str | None = None
    opener: str | None = None
    show_quote: bool | None = None
    prompt: str | None = None


class _ChatFields(_Model):
    id: str = ""
    name: str = ""
    avatar: str | None = ""
    icon: str | None = ""
    description: str | None = None
    dataset_ids: list[str] = Field(default_factory=list)
    llm: _ChatLLM | None = None
    prompt: _ChatPrompt | None = None
    llm_id: str | None = None
    llm_setting: dict[str, Any] = Field(default_factory=dict)
    prompt_config: dict[str, Any] = Field(default_factory=dict)
    similarity_threshold: float | None = None
    vector_similarity_weight: float | None = None
    top_n: int | None = None
    top_k: int | None = None
    rerank_id: str | None = None

    LLM: ClassVar[type[_ChatLLM]] = _ChatLLM
    Prompt: ClassVar[type[_ChatPrompt]] = _ChatPrompt

    @model_validator(mode="before")
    @classmethod
    def _both_forms(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if data.get("datasets") and not data.get("dataset_ids"):
            data["dataset_ids"] = [
                d.get("id") for d in data["datasets"] if isinstance(d, Mapping) and d.get("id")
            ]
        for key in ("dataset_ids", "llm_setting", "prompt_config"):
            if data.get(key) is None:
                data.pop(key, None)
        icon, avatar = data.get("icon"), data.get("avatar")
        data.setdefault("avatar", icon or "")
        data.setdefault("icon", avatar or "")
        llm, prompt = data.get("llm"), data.get("prompt")
        setting = dict(data.get("llm_setting") or {})
        config = dict(data.get("prompt_config") or {})
        if llm is None and (data.get("llm_id") or setting):
            data["llm"] = {"model_name": data.get("llm_id"), **setting}
        elif isinstance(llm, Mapping):
            data.setdefault("llm_id", llm.get("model_name"))
            data.setdefault("llm_setting", {k: v for k, v in llm.items() if k != "model_name"})
        if prompt is None and (config or data.get("top_n") is not None):
            vsw = data.get("vector_similarity_weight")
            data["prompt"] = {
                "similarity_threshold": data.get("similarity_threshold"),
                "keywords_similarity_weight": None if vsw is None else round(1 - vsw, 10),
                "top_n": data.get("top_n"),
                "variables": config.get("parameters"),
                "rerank_model": data.get("rerank_id"),
                "empty_response": config.get("empty_response"),
                "opener": config.get("prologue"),
                "show_quote": config.get("quote"),
                "prompt": config.get("system"),
            }
        elif isinstance(prompt, Mapping):
            data.setdefault(
                "prompt_config",
                {
                    k2: prompt[k1]
                    for k1, k2 in (
                        ("opener", "prologue"),
                        ("show_quote", "quote"),
                        ("prompt", "system"),
                        ("variables", "parameters"),
                        ("empty_response", "empty_response"),
                    )
                    if prompt.get(k1) is not None
                },
            )
            for k1, k2 in (
                ("similarity_threshold", "similarity_threshold"),
                ("top_n", "top_n"),
                ("rerank_model", "rerank_id"),
            ):
                if prompt.get(k1) is not None:
                    data.setdefault(k2, prompt[k1])
            if prompt.get("keywords_similarity_weight") is not None:
                data.setdefault(
                    "vector_similarity_weight", round(1 - prompt["keywords_similarity_weight"], 10)
                )
        return data

    def get_prologue(self) -> str:
        """The assistant's opening message (``prompt_config.prologue`` / seed ``prompt.opener``)."""
        prologue = self.prompt_config.get("prologue")
        if not prologue and self.prompt is not None:
            prologue = self.prompt.opener
        return str(prologue or "")


class Chat(_ChatFields, ChatSessions, SyncObject):
    """A chat assistant."""

    def update(self, update_message: Mapping[str, Any]) -> Chat:
        """Update (seed nested ``llm``/``prompt``/``avatar`` accepted); refreshes self."""
        self._replace(self._c._run(update_chat(self.id, update_message)))
        return self

    def completion(
        self, messages: Any, *, stream: bool = False, session_id: str | None = None, **extra: Any
    ) -> Any:
        """:meth:`RAGFlow.chat_completion` for this chat."""
        return self._c.chat_completion(
            self.id, messages, session_id=session_id, stream=stream, **extra
        )


class AsyncChat(_ChatFields, AsyncChatSessions, AsyncObject):
    """Async twin of :class:`Chat`."""

    async def update(self, update_message: Mapping[str, Any]) -> AsyncChat:
        """Update (seed nested ``llm``/``prompt``/``avatar`` accepted); refreshes self."""
        self._replace(await self._c._run(update_chat(self.id, update_message)))
        return self

    async def completion(
        self, messages: Any, *, stream: bool = False, session_id: str | None = None, **extra: Any
    ) -> Any:
        """:meth:`RAGFlow.chat_completion` for this chat."""
        return await self._c.chat_completion(
            self.id, messages, session_id=session_id, stream=stream, **extra
        )


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class Chats(SyncAPIClient):
    """``RAGFlow``'s chat assistant methods."""

    def create_chat(
        self,
        name: str,
        avatar: str = "",
        dataset_ids: Sequence[str] | None = None,
        llm: Any = None,
        prompt: Any = None,
        **native_fields: Any,
    ) -> Chat:
        """Create a chat assistant (seed ``llm``/``prompt`` translated on new servers)."""
        chat: Chat = self._run(
            create_chat(self, name, avatar, dataset_ids, llm, prompt, native_fields)
        )
        return chat

    def get_chat(self, chat_id: str) -> Chat:
        """One chat assistant by id; NotFoundError when missing."""
        chat: Chat = self._run(get_chat(self, chat_id))
        return chat

    def list_chats(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[Chat]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of <= 100)."""
        offset, limit = page_window(page, page_size)
        return self._collect(walk_chats(self, offset, limit, orderby, desc, id, name))

    def iter_chats(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> Iterator[Chat]:
        """Every chat assistant, lazily."""
        return self._iterate(walk_chats(self, 1, None, orderby, desc, None, name))

    def delete_chats(self, ids: Sequence[str] | None = None, *, delete_all: bool = False) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        self._run(delete_chats(self, ids, delete_all))


class AsyncChats(AsyncAPIClient):
    """``AsyncRAGFlow``'s chat assistant methods."""

    async def create_chat(
        self,
        name: str,
        avatar: str = "",
        dataset_ids: Sequence[str] | None = None,
        llm: Any = None,
        prompt: Any = None,
        **native_fields: Any,
    ) -> AsyncChat:
        """Create a chat assistant (seed ``llm``/``prompt`` translated on new servers)."""
        chat: AsyncChat = await self._run(
            create_chat(self, name, avatar, dataset_ids, llm, prompt, native_fields)
        )
        return chat

    async def get_chat(self, chat_id: str) -> AsyncChat:
        """One chat assistant by id; NotFoundError when missing."""
        chat: AsyncChat = await self._run(get_chat(self, chat_id))
        return chat

    async def list_chats(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "create_time",
        desc: bool = True,
        id: str | None = None,
        name: str | None = None,
    ) -> list[AsyncChat]:
        """Page ``page`` of size ``page_size`` (fetched in server pages of <= 100)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(walk_chats(self, offset, limit, orderby, desc, id, name))

    def iter_chats(
        self, orderby: str = "create_time", desc: bool = True, name: str | None = None
    ) -> AsyncIterator[AsyncChat]:
        """Every chat assistant, lazily."""
        return self._iterate(walk_chats(self, 1, None, orderby, desc, None, name))

    async def delete_chats(
        self, ids: Sequence[str] | None = None, *, delete_all: bool = False
    ) -> None:
        """Delete by ids; ``ids=None`` requires ``delete_all=True``; ``[]`` sends nothing."""
        await self._run(delete_chats(self, ids, delete_all))
