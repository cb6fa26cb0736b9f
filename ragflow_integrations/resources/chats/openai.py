"""OpenAI-compatible chat completions of a chat assistant (``/openai/{id}/chat/completions``).

The operation sends an OpenAI request body (``reference`` at the top level for v0.22-v0.23 and in
``extra_body`` with ``metadata_condition``) and returns the OpenAI JSON, or a stream of chunk
dicts; :class:`OpenAICompletions` is the client's ``openai_chat_completion``. Also here, shared
with the native completion (``sessions.py``): the ``messages`` argument check, and the stateless
completion with history of servers before v0.25, which only this route can carry. Methods call
the operation of the same name defined in this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal, overload

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.answers import event_mapper, message_dict
from ..._core.features import ServerFeatures
from ..._core.ops import FEATURES, Call, Context, Op, StreamPlan, active_condition, as_dict, seg
from ..._core.request import RequestSpec
from ..._core.sse import split_think
from ...errors import ResponseDecodeError

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def as_messages(messages: Any, name: str = "messages") -> list[dict[str, Any]]:
    """``messages`` (a str question, or ``{"role", "content"}`` dicts or objects) as OpenAI-style
    dicts ending with the user's message; TypeError/ValueError saying what to pass otherwise."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, (list, tuple)):
        raise TypeError(
            f"{name} must be a str or a list of {{'role': ..., 'content': ...}} dicts "
            f"(got {type(messages).__name__})"
        )
    out = []
    for message in messages:
        if isinstance(message, Mapping):
            out.append(dict(message))
        elif hasattr(message, "content"):
            role = getattr(message, "role", None) or "user"
            out.append({"role": str(role), "content": str(getattr(message, "content", ""))})
        else:
            raise TypeError(
                f"{name} items must be {{'role': ..., 'content': ...}} dicts "
                f"(got {type(message).__name__})"
            )
    if not out or out[-1].get("role") != "user":
        raise ValueError(
            f"{name} must end with a user message: pass a non-empty str question or a list "
            "ending with {'role': 'user', 'content': ...}"
        )
    return out


def openai_body(
    msgs: list[dict[str, Any]], stream: bool, extra_body: dict[str, Any]
) -> dict[str, Any]:
    """An OpenAI-compatible completion body; ``reference`` goes both where v0.24+ read it
    (``extra_body``) and where v0.22-v0.23 read it (the top level)."""
    return {
        "model": "model",
        "messages": msgs,
        "stream": stream,
        "reference": bool(extra_body.get("reference")),
        "extra_body": extra_body,
    }


def completion_with_history(
    ctx: Context,
    features: ServerFeatures,
    chat_id: str,
    msgs: list[dict[str, Any]],
    stream: bool,
    as_message: bool = False,
) -> Op:
    """A stateless completion with history on a server before v0.25: their native route reads
    one question of a session, their OpenAI-compatible route the whole conversation (with its
    references when asked); the answer comes back as the native forms."""
    spec = RequestSpec(
        "POST",
        features.openai_route.format(chat_id=seg(chat_id)),
        json=openai_body(msgs, stream, {"reference": True}),
        stream=stream,
        envelope=False,
    )
    if stream:
        return StreamPlan(spec, "chat", "delta", event_mapper(ctx, as_message))
    response = yield Call(spec)
    choices = response.get("choices") if isinstance(response, Mapping) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, Mapping) else None
    if not isinstance(message, Mapping):
        raise ResponseDecodeError(
            f"Expected an OpenAI-style completion with choices[0].message, got "
            f"{str(response)[:100]!r}",
            method=spec.method,
            path=spec.path,
        )
    content = message.get("content")
    reasoning, text = split_think(content if isinstance(content, str) else "")
    reasoning = str(message.get("reasoning_content") or "") or reasoning
    data = message_dict(text, message.get("reference"), reasoning=reasoning)
    usage = response.get("usage")
    if isinstance(usage, Mapping):
        data["usage"] = dict(usage)
    return ctx.wrap("message", data)


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
    body = {**openai_body(msgs, stream, extra_body), "model": model, **extra}
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
