"""Stream bookkeeping shared by both drivers: lines in, mapped results out, errors with text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RAGFlowError, StreamError
from .envelope import decode
from .ops import StreamPlan
from .sse import SSEDecoder, StreamNormaliser


class StreamRunner:
    """Feeds SSE lines of one response through the decoder, normaliser and the plan's mapper."""

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.decoder = SSEDecoder()
        self.normaliser = StreamNormaliser(plan.mode)
        self._openai_text: list[str] = []

    @property
    def done(self) -> bool:
        return self.decoder.done

    @property
    def partial_text(self) -> str:
        if self.plan.kind == "openai":
            return "".join(self._openai_text)
        return self.normaliser.content

    def feed(self, line: str | bytes) -> list[Any]:
        try:
            return self._outputs(list(self.decoder.feed(line)))
        except StreamError as exc:
            raise self._with_text(exc) from None

    def finish(self) -> list[Any]:
        """End of body: flush, add the closing final event; fail when the end marker is missing."""
        try:
            outputs = self._outputs(list(self.decoder.close()))
        except StreamError as exc:
            raise self._with_text(exc) from None
        if not self.decoder.done:
            raise StreamError(
                "The stream ended before its end marker (connection cut?); partial_text holds "
                "what arrived.",
                partial_text=self.partial_text,
                method=self.plan.spec.method,
                path=self.plan.spec.path,
            )
        return outputs + self._closing()

    def non_stream_body(self, status: int, headers: Mapping[str, str], body: bytes) -> list[Any]:
        """The server answered with plain JSON (an error before streaming, or no SSE support)."""
        try:
            decoded = decode(status, headers, body, self.plan.spec)
        except RAGFlowError as exc:
            raise (exc.about(self.plan.subject) if self.plan.subject else exc) from None
        if self.plan.kind == "openai":
            return [decoded]
        self.decoder.done = True
        payload = decoded if isinstance(decoded, Mapping) else {"code": 0, "data": decoded}
        return self._outputs([dict(payload)]) + self._closing()

    def cut(self, exc: BaseException) -> StreamError:
        """A transport error while reading: a StreamError carrying the text so far."""
        if isinstance(exc, StreamError):
            return self._with_text(exc)
        message = exc.message if isinstance(exc, RAGFlowError) else str(exc) or type(exc).__name__
        return StreamError(
            f"The stream was cut: {message}. partial_text holds what arrived.",
            partial_text=self.partial_text,
            method=self.plan.spec.method,
            path=self.plan.spec.path,
        )

    # -- internals ------------------------------------------------------------------------
    def _with_text(self, exc: StreamError) -> StreamError:
        exc.partial_text = exc.partial_text or self.partial_text
        exc.method = exc.method or self.plan.spec.method
        exc.path = exc.path or self.plan.spec.path
        return exc

    def _outputs(self, payloads: list[dict[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for payload in payloads:
            if self.plan.kind == "openai":
                self._note_openai(payload)
                out.append(payload)
                continue
            for event in self.normaliser.feed(payload):
                out.append(self.plan.mapper(event) if self.plan.mapper else event)
        return out

    def _closing(self) -> list[Any]:
        if self.plan.kind == "openai":
            return []
        mapper = self.plan.mapper
        return [mapper(e) if mapper else e for e in self.normaliser.finish()]

    def _note_openai(self, payload: Mapping[str, Any]) -> None:
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, Mapping) else None
            if isinstance(delta, Mapping) and isinstance(delta.get("content"), str):
                self._openai_text.append(delta["content"])
