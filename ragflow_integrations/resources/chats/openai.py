"""OpenAI-compatible chat completions of a chat assistant (``/openai/{id}/chat/completions``).

The operation sends an OpenAI request body (``extra_body`` carries RAGFlow's ``reference`` and
``metadata_condition``) and returns the OpenAI JSON, or a stream of chunk dicts;
:class:`OpenAICompletions` is the client's ``openai_chat_completion``. Methods call the operation of
the same name defined in this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal, overload

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.features import ServerFeatures
from ..._core.ops import FEATURES, Call, Op, StreamPlan, active_condition, as_dict, seg
from ..._core.request import RequestSpec
from .sessions import as_messages

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def openai_chat_completion(
    chat_id: str,
    messages: Any,
    *,
    stream: bool = False,
    model: str = "model",
    reference: bool = True,
    metadata_condition: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    msgs = as_messages(messages)
    extra_body: dict[str, Any] = {"reference": reference}
    if active_condition(metadata_condition):
        extra_body["metadata_condition"] = as_dict(metadata_condition, "metadata_condition")
    extra = dict(extra or {})
    extra_body.update(as_dict(extra.pop("extra_body", None), "extra_body"))
    features: ServerFeatures = yield FEATURES
    body = {
        "model": model,
        "messages": msgs,
        "stream": stream,
        "extra_body": extra_body,
        **extra,
    }
    spec = RequestSpec(
        "POST",
        features.openai_route.format(chat_id=seg(chat_id)),
        json=body,
        stream=stream,
        envelope=False,
    )
    if stream:
        return StreamPlan(spec, "openai")
    return (yield Call(spec))


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class OpenAICompletions(SyncAPIClient):
    """``RAGFlow.openai_chat_completion``."""

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[False] = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]: ...

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[True],
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[dict[str, Any]]: ...

    @overload
    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The OpenAI-compatible endpoint: a dict, or an iterator of chunk dicts."""
        result = self._run(
            openai_chat_completion(
                chat_id,
                messages,
                stream=stream,
                model=model,
                reference=reference,
                metadata_condition=metadata_condition,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result


class AsyncOpenAICompletions(AsyncAPIClient):
    """Async twin of :class:`OpenAICompletions`."""

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[False] = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]: ...

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: Literal[True],
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[dict[str, Any]]: ...

    @overload
    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any: ...

    async def openai_chat_completion(
        self,
        chat_id: str,
        messages: Any,
        *,
        stream: bool = False,
        model: str = "model",
        reference: bool = True,
        metadata_condition: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The OpenAI-compatible endpoint: a dict, or an iterator of chunk dicts."""
        result = await self._run(
            openai_chat_completion(
                chat_id,
                messages,
                stream=stream,
                model=model,
                reference=reference,
                metadata_condition=metadata_condition,
                extra=extra,
            )
        )
        return self._stream(result) if stream else result
