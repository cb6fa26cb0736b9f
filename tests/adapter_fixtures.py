"""Helpers shared by the LangChain and LlamaIndex test folders: datasets built over HTTP, and
clients that count their requests in flight (proof that a bulk path overlaps its requests, and
keeps them bounded, without timing anything)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

LATENCY = 0.05
"""Added to every chunk-list request of ``slow_site``: overlapped requests wait it out together."""

SlowSite = tuple[LocalRAGFlowServer, str, list[str]]


def connection(server: LocalRAGFlowServer) -> dict[str, Any]:
    return {"api_key": server.api_key, "base_url": server.base_url}


def many_datasets(client: RAGFlow, count: int) -> list[str]:
    """``count`` datasets with two-paragraph descriptions (about 400 characters each)."""
    return [
        client.create_dataset(
            name=f"kb-{number:03d}-product-line",
            description=(
                f"Knowledge base {number}: manuals, release notes, troubleshooting guides and "
                f"support answers for product line {number}, including warranty terms, spare "
                "parts lists, installation procedures and customers' frequent questions.\n" * 2
            ),
        ).id
        for number in range(count)
    ]


@contextlib.contextmanager
def slow_site_running() -> Iterator[SlowSite]:
    """A server, a parsed dataset of 40 one-chunk documents and one of 250 chunks (three chunk
    pages), and the document ids in listing order; chunk lists are answered ``LATENCY`` late."""
    with LocalRAGFlowServer() as server, RAGFlow(**connection(server)) as client:
        dataset = client.create_dataset(
            "slow", parser_config={"chunk_token_num": 6, "delimiter": "\n"}
        )
        files = [
            {"display_name": f"d{n:02d}.txt", "blob": f"Note {n} is short.".encode()}
            for n in range(40)
        ]
        lines = "\n".join(f"Line {n} of the long manual here." for n in range(250))
        files.insert(20, {"display_name": "long.txt", "blob": lines.encode()})
        uploaded = dataset.upload_documents(files)
        dataset.parse_documents([d.id for d in uploaded], timeout=60, poll_interval=0.05)
        listed = [d.id for d in dataset.iter_documents(run="DONE")]
        assert len(listed) == 41
        server.inject_fault("/datasets/*/documents/*/chunks", "GET", latency=LATENCY)
        yield server, dataset.id, listed


@dataclass
class InFlight:
    """Requests whose path contains ``marker``: how many were sent, at most how many at once."""

    marker: str
    sent: int = 0
    now: int = 0
    most: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def enter(self, path: str) -> bool:
        if self.marker not in path:
            return False
        with self._lock:
            self.sent += 1
            self.now += 1
            self.most = max(self.most, self.now)
        return True

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


class _CountingAdapter(HTTPAdapter):
    def __init__(self, counter: InFlight) -> None:
        super().__init__()
        self.counter = counter

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        counted = self.counter.enter(request.path_url)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            if counted:
                self.counter.leave()


class _CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, counter: InFlight) -> None:
        self.counter = counter
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        counted = self.counter.enter(request.url.path)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            if counted:
                self.counter.leave()

    async def aclose(self) -> None:
        await self.inner.aclose()


def counting_client(counter: InFlight, **connection: Any) -> RAGFlow:
    """A sync client whose requests are counted by ``counter``."""
    session = requests.Session()
    adapter = _CountingAdapter(counter)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RAGFlow(**connection, session=session)


def counting_async_client(
    counter: InFlight, **connection: Any
) -> tuple[AsyncRAGFlow, httpx.AsyncClient]:
    """An async client whose requests are counted by ``counter``, and its ``httpx`` client (to
    close: a passed ``http_client`` belongs to the caller)."""
    http = httpx.AsyncClient(transport=_CountingTransport(counter))
    return AsyncRAGFlow(**connection, http_client=http), http


def uncited(text: str) -> str:
    """``text`` without RAGFlow's `` [ID:n]`` citation markers: RAGFlow inserts them into whole
    answers, while a stream carries the model's text as it was written."""
    return re.sub(r" \[ID:\d+\]", "", text)
