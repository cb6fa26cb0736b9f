"""Fault injection: an ASGI middleware that makes matching requests misbehave on purpose."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import threading
from dataclasses import asdict, dataclass
from itertools import count
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]

API_PREFIX = "/api/v1"


@dataclass
class Fault:
    """One injected fault; see :meth:`LocalRAGFlowServer.inject_fault`."""

    id: int
    path: str
    method: str = "*"
    status: int | None = None
    retry_after: float | str | None = None
    latency: float = 0.0
    drop_connection: bool = False
    cut_stream_after: int | None = None
    body: str | None = None
    times: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.method == "*" or self.method.upper() == method.upper()
        ) and fnmatch.fnmatchcase(path, self.path)

    def public(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    """Thread-safe list of active faults; ``take`` consumes one use of the first match."""

    FIELDS = (
        "path",
        "method",
        "status",
        "retry_after",
        "latency",
        "drop_connection",
        "cut_stream_after",
        "body",
        "times",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = count(1)

    def add(
        self,
        path: str,
        method: str = "*",
        status: int | None = None,
        retry_after: float | str | None = None,
        latency: float = 0.0,
        drop_connection: bool = False,
        cut_stream_after: int | None = None,
        body: str | None = None,
        times: int | None = None,
    ) -> int:
        if not path.startswith("/"):
            path = "/" + path
        if path.startswith(API_PREFIX + "/"):
            path = path[len(API_PREFIX) :]
        if times is not None and times < 1:
            raise ValueError("times must be a positive number of requests, or None")
        if status is not None and not 100 <= int(status) <= 599:
            raise ValueError("status must be an HTTP status code")
        fault = Fault(
            next(self._ids),
            path,
            method,
            status,
            retry_after,
            float(latency or 0),
            bool(drop_connection),
            cut_stream_after,
            body,
            times,
        )
        with self._lock:
            self._faults.append(fault)
        return fault.id

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.public() for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


def abort_connection(send: Any) -> bool:
    """Close the client socket without a response (uvicorn's h11 cycle holds the transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.abort()
    if cycle is not None and hasattr(cycle, "disconnected"):
        cycle.disconnected = True
    return True


class FaultMiddleware:
    """Applies faults and adds the stand-in header to every response."""

    def __init__(self, app: Any, registry: FaultRegistry, stand_in: str) -> None:
        self.app = app
        self.registry = registry
        self.header = (b"x-ragflow-stand-in", stand_in.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_send = send

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await raw_send(message)

        path: str = scope.get("path", "")
        fault = None
        if path.startswith(API_PREFIX + "/") and not path.startswith(API_PREFIX + "/_admin"):
            fault = self.registry.take(scope["method"], path[len(API_PREFIX) :])
        if fault is None:
            await self.app(scope, receive, send_with_header)
            return
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.drop_connection:
            if abort_connection(raw_send):
                await asyncio.sleep(0)
                return
            raise ConnectionAbortedError("injected connection drop")
        if fault.status is not None:
            await self._status(fault, send_with_header)
            return
        if fault.cut_stream_after is not None:
            await self.app(
                scope,
                receive,
                self._cutting_send(fault.cut_stream_after, raw_send, send_with_header),
            )
            return
        await self.app(scope, receive, send_with_header)

    async def _status(self, fault: Fault, send: Any) -> None:
        status = int(fault.status or 500)
        if fault.body is not None:
            body = fault.body.encode("utf-8")
            try:
                json.loads(fault.body)
                content_type = b"application/json"
            except ValueError:
                content_type = b"text/html; charset=utf-8"
        else:
            body = json.dumps(
                {"code": status, "message": f"Injected fault: HTTP {status}", "data": None}
            ).encode()
            content_type = b"application/json"
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        if fault.retry_after is not None:
            headers.append((b"retry-after", str(fault.retry_after).encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _cutting_send(limit: int, raw_send: Any, send: Any) -> Any:
        sent = 0
        cut = False

        async def cutting(message: Message) -> None:
            nonlocal sent, cut
            if cut:
                return  # the socket is gone; let the app finish into the void
            if message["type"] != "http.response.body":
                await send(message)
                return
            body: bytes = message.get("body", b"")
            out = bytearray()
            for event in body.split(b"\n\n"):
                if not event:
                    continue
                if sent >= limit:
                    cut = True
                    break
                out += event + b"\n\n"
                sent += 1
            if out:
                await send({"type": "http.response.body", "body": bytes(out), "more_body": True})
            if cut or (sent >= limit and message.get("more_body")):
                cut = True
                if not abort_connection(raw_send):
                    raise ConnectionAbortedError("injected stream cut")
                await asyncio.sleep(0)
                return
            if not message.get("more_body"):
                await send(message if not body else {"type": "http.response.body", "body": b""})

        return cutting
