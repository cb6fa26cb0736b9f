"""Streams are read as they arrive: the first event reaches the caller before the rest is sent.

A tiny loopback HTTP/1.1 server sends one chunked SSE event, then waits until the client has seen
it before sending the rest; a transport that buffered the whole body would see the first event
only after the server gave up waiting.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ragflow_integrations import AsyncRAGFlow, RAGFlow


def event(answer: str) -> bytes:
    payload = {
        "code": 0,
        "message": "",
        "data": {"answer": answer, "reference": {}, "final": False},
    }
    return f"data:{json.dumps(payload)}\n\n".encode()


class Gate:
    def __init__(self) -> None:
        self.first_seen = threading.Event()
        self.rest_sent = threading.Event()


def make_handler(gate: Gate, chunked: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _chunk(self, data: bytes) -> None:
            if chunked:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            self.wfile.write(data)
            self.wfile.flush()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:  # close-delimited: the body ends when the connection closes
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self._chunk(event("first "))
            gate.first_seen.wait(timeout=5)
            gate.rest_sent.set()
            self._chunk(event("second"))
            self._chunk(b'data:{"code": 0, "message": "", "data": true}\n\n')
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler


@pytest.fixture(params=["chunked", "close-delimited"])
def gated(request: pytest.FixtureRequest) -> Iterator[tuple[str, Gate]]:
    gate = Gate()
    handler = make_handler(gate, chunked=request.param == "chunked")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gate
    finally:
        gate.first_seen.set()
        server.shutdown()
        server.server_close()


def test_sync_stream_yields_before_the_body_ends(gated: tuple[str, Gate]) -> None:
    url, gate = gated
    client = RAGFlow(api_key="k", base_url=url, server_version="0.27")
    contents: list[str] = []
    for step in client.chat_completion("c", "hi", stream=True):
        if not contents:
            assert not gate.rest_sent.is_set(), "the first event waited for the whole body"
            gate.first_seen.set()
        contents.append(step.content)
    assert contents[-1] == "first second"
    client.close()


async def test_async_stream_yields_before_the_body_ends(gated: tuple[str, Gate]) -> None:
    url, gate = gated
    client = AsyncRAGFlow(api_key="k", base_url=url, server_version="0.27")
    contents: list[str] = []
    async for step in await client.chat_completion("c", "hi", stream=True):
        if not contents:
            assert not gate.rest_sent.is_set(), "the first event waited for the whole body"
            gate.first_seen.set()
        contents.append(step.content)
    assert contents[-1] == "first second"
    await client.aclose()
