"""Server-sent events: line decoding and normalisation of RAGFlow's stream forms.

:class:`SSEDecoder` turns text lines into JSON payloads and knows both terminators (``[DONE]`` and
an envelope whose ``data`` is ``true``). :class:`StreamNormaliser` turns chat envelopes (delta or
cumulative) and agent events into :class:`StreamEvent` objects whose ``content`` is always the
whole answer so far, with reasoning kept apart from the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ResponseDecodeError, StreamError

StreamMode = Literal["delta", "cumulative", "auto"]
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


@dataclass
class StreamEvent:
    """One normalised stream step.

    ``content`` is the whole answer so far and ``delta`` the text this step added; ``reasoning`` /
    ``reasoning_delta`` the same for thinking text. ``reference`` is set on the final event
    (chunk dicts here; the client turns them into :class:`~ragflow_integrations.Chunk`).
    """

    delta: str = ""
    content: str = ""
    reasoning_delta: str = ""
    reasoning: str = ""
    reference: list[Any] | None = None
    final: bool = False
    session_id: str | None = None
    message_id: str | None = None
    doc_aggs: list[Any] | None = None
    final_content: str | None = None
    """On the final event only, when the server's last answer rewrote the streamed text (RAGFlow
    before v0.24 inserts citation markers such as `` [ID:0]`` into it): that rewritten answer.
    ``content`` is always the concatenation of the deltas."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class SSEDecoder:
    """Feed text lines, get JSON payloads; stops at ``[DONE]`` or an envelope with ``data: true``.

    Accepts ``data:`` with or without a following space, skips blank lines, comments and other
    fields, and joins multi-line ``data`` fields. An error envelope (``code != 0``) raises
    :class:`StreamError`; a data field that is not JSON raises :class:`ResponseDecodeError`.
    """

    def __init__(self) -> None:
        self.done = False
        self._pending: list[str] = []

    def feed(self, line: str | bytes) -> Iterator[dict[str, Any]]:
        if self.done:
            return
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        line = line.rstrip("\r\n")
        if not line.strip():
            yield from self._flush()
            return
        if line.startswith(":") or not line.startswith("data:"):
            return
        value = line[5:]
        if value.startswith(" "):
            value = value[1:]
        if not self._pending:
            stripped = value.strip()
            if stripped == "[DONE]":
                self.done = True
                return
            try:
                payload = json.loads(stripped)
            except ValueError:
                self._pending.append(value)
                return
            yield from self._emit(payload)
            return
        self._pending.append(value)

    def close(self) -> Iterator[dict[str, Any]]:
        """Flush a last event that was not followed by a blank line."""
        yield from self._flush()

    def _flush(self) -> Iterator[dict[str, Any]]:
        if not self._pending:
            return
        text = "\n".join(self._pending)
        self._pending = []
        if text.strip() == "[DONE]":
            self.done = True
            return
        try:
            payload = json.loads(text)
        except ValueError:
            raise ResponseDecodeError(
                f"Malformed server-sent event (not JSON): {text[:200]!r}", snippet=text[:200]
            ) from None
        yield from self._emit(payload)

    def _emit(self, payload: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(payload, dict):
            raise ResponseDecodeError(
                f"Malformed server-sent event (not an object): {str(payload)[:200]!r}"
            )
        code = payload.get("code")
        if isinstance(code, int) and code != 0:
            message = str(payload.get("message") or "error event in stream")
            raise StreamError(f"The server reported an error mid-stream: {message}", code=code)
        if "code" in payload and payload.get("data") is True:
            self.done = True
            return
        yield payload


def iter_payloads(lines: Iterable[str | bytes]) -> Iterator[dict[str, Any]]:
    """Decode a whole line iterable (tests and simple callers)."""
    decoder = SSEDecoder()
    for line in lines:
        yield from decoder.feed(line)
        if decoder.done:
            return
    yield from decoder.close()


def split_think(text: str) -> tuple[str, str]:
    """Split inline ``<think>…</think>`` reasoning from an answer: ``(reasoning, answer)``."""
    if _THINK_OPEN not in text:
        return "", text
    reasoning_parts: list[str] = []
    answer_parts: list[str] = []
    rest = text
    while rest:
        start = rest.find(_THINK_OPEN)
        if start < 0:
            answer_parts.append(rest)
            break
        answer_parts.append(rest[:start])
        rest = rest[start + len(_THINK_OPEN) :]
        end = rest.find(_THINK_CLOSE)
        if end < 0:
            reasoning_parts.append(rest)
            break
        reasoning_parts.append(rest[:end])
        rest = rest[end + len(_THINK_CLOSE) :]
    answer = "".join(answer_parts)
    return "".join(reasoning_parts), answer.lstrip("\n") if reasoning_parts else answer


def reference_chunks(reference: Any) -> tuple[list[Any] | None, list[Any] | None]:
    """``(chunks, doc_aggs)`` from any reference form (list, {"chunks": [...]}, dict by index)."""
    if reference is None:
        return None, None
    if isinstance(reference, list):
        return [c for c in reference if isinstance(c, Mapping)], None
    if not isinstance(reference, Mapping):
        return None, None
    chunks = reference.get("chunks")
    aggs = reference.get("doc_aggs")
    if isinstance(chunks, Mapping):
        chunks = [chunks[key] for key in sorted(chunks, key=_index_key)]
    if isinstance(aggs, Mapping):
        aggs = list(aggs.values())
    chunk_list = [c for c in chunks if isinstance(c, Mapping)] if isinstance(chunks, list) else None
    return chunk_list, aggs if isinstance(aggs, list) else None


def _extension(before: str, after: str) -> tuple[str, str]:
    """``(what after adds to before, after)``; nothing is added when after rewrites before."""
    if after.startswith(before):
        return after[len(before) :], after
    return "", after


def _index_key(key: Any) -> tuple[int, str]:
    text = str(key)
    return (int(text), "") if text.isdigit() else (1 << 30, text)


class StreamNormaliser:
    """Turn payloads of any chat/agent stream form into :class:`StreamEvent` objects.

    ``mode`` is ``"delta"`` (v0.24+ chat: each answer is new text, reasoning between
    ``start_to_think``/``end_to_think`` markers), ``"cumulative"`` (≤ v0.23 or ``legacy``: each
    answer is the whole text so far, reasoning inline in ``<think>`` tags) or ``"auto"`` (starts as
    delta and switches to cumulative when an answer repeats the text so far).
    """

    def __init__(self, mode: StreamMode = "auto") -> None:
        self.mode: StreamMode = mode
        self.content = ""
        self.reasoning = ""
        self._raw = ""  # cumulative mode: last raw answer
        self._server_text = ""  # the server's whole answer so far (may differ after a rewrite)
        self._server_reasoning = ""
        self._thinking = False
        self._final_sent = False
        self._reference: list[Any] | None = None
        self._doc_aggs: list[Any] | None = None
        self.session_id: str | None = None
        self.message_id: str | None = None

    # -- public ---------------------------------------------------------------------------
    def feed(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        """Normalise one decoded payload (chat envelope, agent event or OpenAI-style chunk)."""
        if "event" in payload:
            return self._feed_agent(payload)
        if "choices" in payload:
            return self._feed_openai(payload)
        data = payload.get("data") if "code" in payload else payload
        if not isinstance(data, Mapping):
            return []
        return self._feed_chat(data)

    def finish(self) -> list[StreamEvent]:
        """The closing final event when the server sent none (chats without datasets, old ones)."""
        if self._final_sent:
            return []
        self._final_sent = True
        return [self._event("", "", final=True, raw={})]

    # -- chat -----------------------------------------------------------------------------
    def _feed_chat(self, data: Mapping[str, Any]) -> list[StreamEvent]:
        self._note_ids(data.get("session_id"), data.get("id"))
        chunks, aggs = reference_chunks(data.get("reference"))
        if chunks:
            self._reference, self._doc_aggs = chunks, aggs if aggs is not None else self._doc_aggs
        answer = data.get("answer")
        answer = answer if isinstance(answer, str) else ""
        final = bool(data.get("final"))
        if data.get("start_to_think"):
            self._thinking = True
            if not answer:
                return self._maybe_final(final, data)
        if data.get("end_to_think"):
            self._thinking = False
            if not answer:
                return self._maybe_final(final, data)
        if self.mode == "auto" and self._looks_cumulative(answer):
            self.mode = "cumulative"
        if self.mode == "cumulative":
            return self._feed_cumulative(answer, final, data)
        if final and answer:
            reasoning, text = split_think(answer)
            return self._replace(text, reasoning, final=True, raw=data)
        if not answer:
            return self._maybe_final(final, data)
        self._raw += answer
        if self._thinking:
            self.reasoning += answer
            self._server_reasoning += answer
            return [self._event("", answer, final=final, raw=data)]
        self.content += answer
        self._server_text += answer
        return [self._event(answer, "", final=final, raw=data)]

    def _looks_cumulative(self, answer: str) -> bool:
        return bool(self._raw) and len(answer) >= len(self._raw) and answer.startswith(self._raw)

    def _feed_cumulative(
        self, answer: str, final: bool, data: Mapping[str, Any]
    ) -> list[StreamEvent]:
        if not answer:
            return self._maybe_final(final, data)
        self._raw = answer
        reasoning, text = split_think(answer)
        return self._replace(text, reasoning, final=final, raw=data)

    def _replace(
        self, text: str, reasoning: str, *, final: bool, raw: Mapping[str, Any]
    ) -> list[StreamEvent]:
        """A whole answer so far: what it adds to the last one is the delta.

        An answer that rewrites what was streamed (RAGFlow before v0.24 sends a final answer with
        citation markers such as `` [ID:0]`` inserted mid-text) cannot be expressed as a delta:
        ``content`` stays the concatenation of the deltas and the rewritten text becomes
        ``final_content``; later answers that extend the rewritten text add their new tail.
        """
        delta, self._server_text = _extension(self._server_text, text)
        r_delta, self._server_reasoning = _extension(self._server_reasoning, reasoning)
        self.content += delta
        self.reasoning += r_delta
        if not final and not delta and not r_delta:
            return []
        return [self._event(delta, r_delta, final=final, raw=raw)]

    def _maybe_final(self, final: bool, data: Mapping[str, Any]) -> list[StreamEvent]:
        if not final:
            return []
        return [self._event("", "", final=True, raw=data)]

    # -- OpenAI-compatible chunks (a conversation with history on servers before v0.25) -----
    def _feed_openai(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        choices = payload.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        choice: Mapping[str, Any] = first if isinstance(first, Mapping) else {}
        delta = choice.get("delta")
        body: Mapping[str, Any] = delta if isinstance(delta, Mapping) else {}
        chunks, aggs = reference_chunks(body.get("reference"))
        if chunks is not None:
            self._reference, self._doc_aggs = chunks, aggs
        events: list[StreamEvent] = []
        reasoning = body.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            self.reasoning += reasoning
            self._server_reasoning += reasoning
            events.append(self._event("", reasoning, final=False, raw=payload))
        text = body.get("content")
        if isinstance(text, str) and text:
            self.content += text
            self._server_text += text
            events.append(self._event(text, "", final=False, raw=payload))
        if choice.get("finish_reason") is not None:
            whole = body.get("final_content")
            if isinstance(whole, str) and whole:
                self._server_text = split_think(whole)[1]
            events.append(self._event("", "", final=True, raw=payload))
        return events

    # -- agents ---------------------------------------------------------------------------
    def _feed_agent(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        self._note_ids(payload.get("session_id"), payload.get("message_id"))
        event = payload.get("event")
        data = payload.get("data") if isinstance(payload.get("data"), Mapping) else {}
        assert isinstance(data, Mapping)
        if event == "message":
            text = data.get("content")
            text = text if isinstance(text, str) else ""
            if data.get("start_to_think"):
                self._thinking = True
            if data.get("end_to_think"):
                self._thinking = False
                return [] if not text else self._agent_text(text, payload)
            return self._agent_text(text, payload) if text else []
        if event == "message_end":
            chunks, aggs = reference_chunks(data.get("reference"))
            if chunks is not None:
                self._reference, self._doc_aggs = chunks, aggs
            return []
        if event == "workflow_finished":
            outputs = data.get("outputs")
            if not self.content and isinstance(outputs, Mapping):
                text = outputs.get("content")
                if isinstance(text, str) and text:
                    self.content = text
                    return [self._event(text, "", final=False, raw=payload)]
        return []

    def _agent_text(self, text: str, payload: Mapping[str, Any]) -> list[StreamEvent]:
        if self._thinking:
            self.reasoning += text
            return [self._event("", text, final=False, raw=payload)]
        self.content += text
        return [self._event(text, "", final=False, raw=payload)]

    # -- helpers --------------------------------------------------------------------------
    def _note_ids(self, session_id: Any, message_id: Any) -> None:
        if isinstance(session_id, str) and session_id:
            self.session_id = session_id
        if isinstance(message_id, str) and message_id:
            self.message_id = message_id

    def _event(
        self, delta: str, reasoning_delta: str, *, final: bool, raw: Mapping[str, Any]
    ) -> StreamEvent:
        if final:
            self._final_sent = True
        return StreamEvent(
            delta=delta,
            content=self.content,
            reasoning_delta=reasoning_delta,
            reasoning=self.reasoning,
            reference=list(self._reference or []) if final else None,
            final=final,
            session_id=self.session_id,
            message_id=self.message_id,
            doc_aggs=list(self._doc_aggs or []) if final else None,
            final_content=(
                self._server_text
                if final and self._server_text and self._server_text != self.content
                else None
            ),
            raw=dict(raw),
        )
