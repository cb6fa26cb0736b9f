"""Streaming: time to the first answer chunk through ``ChatRAGFlow.stream`` and
``Session.ask(stream=True)``, against reading the identical SSE request raw with ``requests``.

Every stream is read to its end (so connections are reused alike); only the time from the call to
the first chunk carrying answer text counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import requests

from benchmarks._context import QUESTION, Context, RequestRecorder, new_connections
from benchmarks._fixtures import Fixtures
from benchmarks._harness import Round, Row, measure
from benchmarks._profile import extra_time

TARGET = 1.2


def _event_text(line: bytes) -> bool:
    """True for an SSE ``data:`` line whose payload carries answer text (native or OpenAI form)."""
    if not line.startswith(b"data:"):
        return False
    payload = line[5:].strip()
    if not payload.startswith(b"{"):
        return False
    event = json.loads(payload)
    data = event.get("data")
    if isinstance(data, dict):
        return bool(data.get("answer"))
    choices = event.get("choices") or [{}]
    return bool((choices[0].get("delta") or {}).get("content"))


def _raw_stream(
    request: requests.PreparedRequest, session: requests.Session
) -> Callable[[], float]:
    """Baseline: the same request sent with a pooled ``requests.Session``, SSE lines read raw."""
    url, body, headers = str(request.url), request.body, dict(request.headers)

    def lines() -> Iterator[bytes]:
        with session.post(url, data=body, headers=headers, stream=True) as response:
            yield from response.iter_lines()

    return _timed_stream(lines, _event_text)


def _timed_stream(
    open_stream: Callable[[], Iterable[Any]], has_text: Callable[[Any], bool]
) -> Callable[[], float]:
    def timed() -> float:
        start = time.perf_counter()
        first_at: float | None = None
        for item in open_stream():
            if first_at is None and has_text(item):
                first_at = time.perf_counter() - start
        if first_at is None:
            raise RuntimeError("the stream carried no answer text")
        return first_at

    return timed


def _mean_round(timed: Callable[[], float], calls: int) -> Round:
    def run() -> float:
        return sum(timed() for _ in range(calls)) / calls

    return run


def _captured(recorder: RequestRecorder, timed: Callable[[], float]) -> requests.PreparedRequest:
    """The streaming request ``timed`` sends (the last request it makes)."""
    recorder.reset()
    timed()
    return recorder.requests[-1]


def run(context: Context) -> list[Row]:
    from ragflow_integrations import RAGFlow
    from ragflow_integrations.langchain import ChatRAGFlow

    corpus = context.corpus
    size = context.size
    calls = max(2, size.calls // 2)
    fixtures = Fixtures(corpus.base_url, corpus.api_key)
    try:
        chat_id = fixtures.create_chat("stream-bench", [corpus.dataset_id])
    finally:
        fixtures.close()
    recorder = RequestRecorder()
    client = RAGFlow(
        api_key=corpus.api_key,
        base_url=corpus.base_url,
        session=recorder.attach(requests.Session()),
    )
    try:
        model = ChatRAGFlow(chat_id=chat_id, client=client)
        langchain = _timed_stream(lambda: model.stream(QUESTION), lambda chunk: bool(chunk.content))
        session = client.get_chat(chat_id).create_session(name="stream-bench")
        ask = _timed_stream(
            lambda: session.ask(QUESTION, stream=True),
            lambda message: bool(message.delta or message.content),
        )
        rows = []
        for key, label, timed in (
            ("stream.langchain", "`ChatRAGFlow.stream`", langchain),
            ("stream.session", "`Session.ask(stream=True)`", ask),
        ):
            request = _captured(recorder, timed)
            baseline = _raw_stream(request, requests.Session())
            row = Row(
                key,
                "Streaming",
                f"time to first chunk, {label}",
                "raw SSE with `requests`, identical request",
                "ms",
                target=TARGET,
            )
            measure(
                row, _mean_round(timed, calls), _mean_round(baseline, calls), size.stream_rounds
            )
            row.note = (
                f"new TCP connections per stream: ours {new_connections(timed, calls):g}, "
                f"raw {new_connections(baseline, calls):g}"
            )
            if row.met is False:
                row.details = extra_time(timed, baseline, calls * 4)
            rows.append(row)
    finally:
        client.close()
    return rows
