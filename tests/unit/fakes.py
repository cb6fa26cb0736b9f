"""A scripted in-memory RAGFlow for unit tests, reachable through both real HTTP libraries.

``FakeServer`` routes ``(method, path)`` to canned answers and records every request;
``sync_client`` plugs it into ``requests`` (a transport adapter) and ``async_client`` into
``httpx`` (``MockTransport``), so the client's real transports run end to end without sockets.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from ragflow_integrations import AsyncRAGFlow, RAGFlow

API_KEY = "sk-unit-test-secret-0123456789"
BASE_URL = "http://fake.ragflow:9380"
JSON = {"Content-Type": "application/json"}
SSE = {"Content-Type": "text/event-stream; charset=utf-8"}


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    body: bytes = b""
    fail: str | None = None  # "connect" | "connect_timeout" | "read" | "drop" (no response)
    cut_after: int | None = None  # stream: raise after this many body bytes


def ok(data: Any = None, **top: Any) -> Answer:
    envelope: dict[str, Any] = {"code": 0, **top}
    if data is not None:
        envelope["data"] = data
    return Answer(body=json.dumps(envelope).encode())


def err(code: int, message: str, status: int = 200, **extra: Any) -> Answer:
    return Answer(
        status=status, body=json.dumps({"code": code, "message": message, **extra}).encode()
    )


def sse(lines: Iterable[str], cut_after: int | None = None) -> Answer:
    return Answer(
        headers=dict(SSE), body="".join(f"{line}\n" for line in lines).encode(), cut_after=cut_after
    )


def chat_events(
    *answers: str, final: dict[str, Any] | None = None, space: bool = False
) -> list[str]:
    prefix = "data: " if space else "data:"
    lines = []
    for text in answers:
        lines += [
            prefix
            + json.dumps(
                {
                    "code": 0,
                    "message": "",
                    "data": {
                        "answer": text,
                        "reference": {"chunks": []},
                        "final": False,
                        "id": "m1",
                        "session_id": "s1",
                    },
                }
            ),
            "",
        ]
    if final is not None:
        lines += [prefix + json.dumps({"code": 0, "message": "", "data": final}), ""]
    lines += [prefix + json.dumps({"code": 0, "message": "", "data": True}), ""]
    return lines


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def comparable(self) -> tuple[Any, ...]:
        content_type = self.headers.get("content-type", "")
        body: Any = self.json if "json" in content_type else content_type.split(";")[0]
        return (
            self.method,
            self.path,
            tuple(self.query),
            body,
            self.headers.get("authorization"),
            self.headers.get("accept"),
        )


Handler = Answer | Callable[[Recorded], Answer]


class FakeServer:
    """Routes by method + path regex; unmatched requests answer 404 like RAGFlow."""

    def __init__(self, version: str | None = "v0.27.0") -> None:
        self.routes: list[tuple[str, re.Pattern[str], list[Handler]]] = []
        self.requests: list[Recorded] = []
        self.transport_options: list[dict[str, Any]] = []
        if version is None:
            self.on(
                "GET",
                "/api/v1/system/version",
                err(404, "Not Found: /api/v1/system/version", status=404),
            )
        else:
            self.on("GET", "/api/v1/system/version", ok(version))

    def on(self, method: str, path: str, *answers: Handler) -> FakeServer:
        """Answers are used in order; the last one repeats."""
        self.routes.insert(0, (method, re.compile(path + "$"), list(answers)))
        return self

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.path != "/api/v1/system/version"
            and (method is None or r.method == method)
            and (path is None or re.fullmatch(path, r.path))
        ]

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(url)
        record = Recorded(
            method,
            parts.path,
            parse_qsl(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in headers.items()},
            body,
        )
        self.requests.append(record)
        for route_method, pattern, answers in self.routes:
            if route_method == method and pattern.fullmatch(parts.path):
                handler = answers.pop(0) if len(answers) > 1 else answers[0]
                return handler(record) if callable(handler) else handler
        return err(404, f"Not Found: {parts.path}", status=404, data=None)


class _CuttingRaw(io.RawIOBase):
    def __init__(self, data: bytes, cut_after: int | None) -> None:
        self._data = data
        self._cut = cut_after
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        limit = len(self._data) if self._cut is None else self._cut
        if self._pos >= limit:
            if self._cut is not None:
                raise ConnectionResetError("connection reset by peer (fake)")
            return b""
        end = limit if size is None or size < 0 else min(limit, self._pos + size)
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def readable(self) -> bool:
        return True


class FakeAdapter(BaseAdapter):
    def __init__(self, server: FakeServer) -> None:
        super().__init__()
        self.server = server

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        self.server.transport_options.append({"timeout": timeout, "verify": verify})
        answer = self.server.handle(
            str(request.method), str(request.url), dict(request.headers), body
        )
        if answer.fail == "connect":
            raise requests.exceptions.ConnectionError(
                "HTTPConnectionPool: Max retries exceeded (Caused by NewConnectionError("
                "'Failed to establish a new connection: [Errno 111] Connection refused'))"
            )
        if answer.fail == "connect_timeout":
            raise requests.exceptions.ConnectTimeout("connect timed out (fake)")
        if answer.fail == "read":
            raise requests.exceptions.ReadTimeout("read timed out (fake)")
        if answer.fail == "drop":  # sent, then the server closed the connection without answering
            raise requests.exceptions.ConnectionError(
                "('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
                "response'))"
            )
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = _CuttingRaw(answer.body, answer.cut_after)
        response.url = str(request.url)
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


class _CuttingStream(httpx.AsyncByteStream):
    def __init__(self, data: bytes, cut_after: int) -> None:
        self._data = data
        self._cut = cut_after

    async def __aiter__(self) -> Any:
        yield self._data[: self._cut]
        raise httpx.ReadError("connection reset by peer (fake)")


def _httpx_handler(server: FakeServer) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        answer = server.handle(request.method, str(request.url), dict(request.headers), body)
        if answer.fail == "connect":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if answer.fail == "connect_timeout":
            raise httpx.ConnectTimeout("connect timed out (fake)", request=request)
        if answer.fail == "read":
            raise httpx.ReadTimeout("read timed out (fake)", request=request)
        if answer.fail == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if answer.cut_after is not None:
            return httpx.Response(
                answer.status,
                headers=answer.headers,
                stream=_CuttingStream(answer.body, answer.cut_after),
            )
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    return handler


def sync_client(server: FakeServer, **kwargs: Any) -> RAGFlow:
    session = requests.Session()
    session.mount("http://", FakeAdapter(server))
    kwargs.setdefault("max_retries", 0)
    client = RAGFlow(api_key=API_KEY, base_url=BASE_URL, session=session, **kwargs)
    client._transport._sleep = lambda seconds: None
    return client


def async_client(server: FakeServer, **kwargs: Any) -> AsyncRAGFlow:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_httpx_handler(server)))
    kwargs.setdefault("max_retries", 0)
    client = AsyncRAGFlow(api_key=API_KEY, base_url=BASE_URL, http_client=http, **kwargs)

    async def no_sleep(seconds: float) -> None:
        return None

    client._transport._sleep = no_sleep
    return client
