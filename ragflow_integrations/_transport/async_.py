"""Async transport over ``httpx.AsyncClient`` (httpx is imported on first use only)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from .._core.envelope import decode
from .._core.request import RequestSpec
from .._core.retry import ConnectFailure, SendFailure
from ..errors import RAGFlowError
from .base import RetryLoop, TransportOptions, connection_reusable, logger


class AsyncStreamResponse:
    """An open streaming response: status, headers, and an async line iterator."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = dict(response.headers)
        self._lines: AsyncIterator[str] | None = None

    @property
    def is_sse(self) -> bool:
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        return "text/event-stream" in content_type.lower()

    async def read(self) -> bytes:
        content: bytes = await self._response.aread()
        return content

    def lines(self) -> AsyncIterator[str]:
        """The body's lines as they arrive (one iterator per response)."""
        if self._lines is None:
            self._lines = self._response.aiter_lines()
        return self._lines

    async def drain(self, *, max_lines: int = 64, seconds: float = 1.0) -> None:
        """Read what is left after a stream's terminator (bounded in lines and time).

        httpx closes a connection whose body was not read to the end; a drained one goes back to
        the pool, so the next stream does not pay a new TCP (and TLS) handshake.
        """
        if self._lines is None or not connection_reusable(self.headers):
            return
        with contextlib.suppress(Exception):  # StopAsyncIteration, a timeout, a cut: nothing to do
            async with asyncio.timeout(seconds):
                for _ in range(max_lines):
                    await anext(self._lines)


@functools.lru_cache(maxsize=16)
def _httpx_verify(verify: bool | str) -> Any:
    """The ``verify=`` for ``httpx.AsyncClient``: one SSL context per setting, built once.

    Loading a CA bundle costs about 20 ms, and a pool is opened per client and per event loop
    (adapters make one client per loop), so the contexts are shared; an ``SSLContext`` may serve
    any number of connections.
    """
    if verify is False:
        return False
    import ssl

    if isinstance(verify, str):
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    import httpx

    return httpx.create_ssl_context()  # what verify=True means to httpx (certifi, SSL_CERT_FILE)


class _LoopBoundPool:
    """The ``httpx.AsyncClient`` and the event loop its connections belong to.

    Shared by a transport and its ``copy()``s. httpx connections are tied to the loop that opened
    them, so when a client is used again after that loop stopped (``asyncio.run`` twice, a
    notebook cell after a script), or after ``aclose()``, a pool the library created is replaced
    by a fresh one (as ``requests`` reopens a closed session); a pool the caller passed in
    (``http_client=``) cannot be, and raises a :class:`RAGFlowError` saying so.
    """

    def __init__(self, verify: bool | str, http_client: Any) -> None:
        self.verify = verify
        self.owned = http_client is None
        self.client: Any = http_client if http_client is not None else self._new_client()
        self.loop: asyncio.AbstractEventLoop | None = None

    def _new_client(self) -> Any:
        import httpx

        return httpx.AsyncClient(verify=_httpx_verify(self.verify), follow_redirects=True)

    def _closed(self) -> bool:
        return bool(getattr(self.client, "is_closed", False))

    def _stale(self, running: asyncio.AbstractEventLoop) -> bool:
        """True when the pool was used in another loop that no longer runs."""
        return self.loop is not None and self.loop is not running and not self.loop.is_running()

    def for_running_loop(self) -> Any:
        """The client to use in the running loop (replacing a dead loop's pool when ours)."""
        running = asyncio.get_running_loop()
        if self._closed():
            if not self.owned:
                raise RAGFlowError(
                    "The http_client passed to AsyncRAGFlow has been closed. Pass an open "
                    "httpx.AsyncClient, or let AsyncRAGFlow create its own pool (no http_client=)."
                )
            self.client = self._new_client()  # used again after aclose(): reopen
        elif self._stale(running):
            if not self.owned:
                raise RAGFlowError(
                    "The http_client passed to AsyncRAGFlow was used in another event loop that "
                    "has stopped; its connections cannot be used in this loop. Create the "
                    "httpx.AsyncClient (and the AsyncRAGFlow) inside the loop that uses them, "
                    "or let AsyncRAGFlow create its own pool (no http_client=)."
                )
            logger.debug("event loop changed: opening a new connection pool")
            self.client = self._new_client()  # the old one's connections died with their loop
        self.loop = running
        return self.client

    async def aclose(self) -> None:
        if self._closed() or self._stale(asyncio.get_running_loop()):
            return  # its connections belong to a stopped loop: nothing can be closed from here
        await self.client.aclose()


class AsyncTransport:
    """Async twin of :class:`~ragflow_integrations._transport.sync.SyncTransport`."""

    def __init__(
        self,
        options: TransportOptions,
        http_client: Any = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pool: _LoopBoundPool | None = None,
    ) -> None:
        self.options = options
        self._owns_client = pool is None and http_client is None
        self._pool = pool if pool is not None else _LoopBoundPool(options.verify, http_client)
        self._sleep = sleep

    @property
    def client(self) -> Any:
        """The ``httpx.AsyncClient`` currently in use."""
        return self._pool.client

    def copy(self, **changes: Any) -> AsyncTransport:
        """Same connection pool, other timeouts/retries."""
        return AsyncTransport(
            self.options.with_changes(**changes), sleep=self._sleep, pool=self._pool
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._pool.aclose()

    async def _send(self, spec: RequestSpec) -> Any:
        import httpx

        opts = self.options
        kwargs: dict[str, Any] = {
            "params": list(spec.params) or None,
            "headers": spec.headers(opts.api_key),
            "timeout": httpx.Timeout(opts.timeout, connect=opts.connect_timeout),
        }
        if spec.files:
            kwargs["files"] = list(spec.files)
            if spec.data:
                kwargs["data"] = dict(spec.data)
        elif spec.json is not None:
            kwargs["content"] = json.dumps(spec.json).encode("utf-8")
        client = self._pool.for_running_loop()
        request = client.build_request(spec.method, spec.url(opts.api_base), **kwargs)
        try:
            response = await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ConnectFailure(str(exc)) from exc
        except httpx.TransportError as exc:
            raise SendFailure(str(exc)) from exc
        if not spec.stream:  # read the body inside the retry loop: a cut body is a send failure
            try:
                await response.aread()
            except httpx.TransportError as exc:
                await response.aclose()
                raise SendFailure(str(exc)) from exc
        return response

    async def _with_retries(self, spec: RequestSpec) -> tuple[Any, int]:
        loop = RetryLoop(spec, self.options)
        while True:
            loop.begin()
            try:
                response = await self._send(spec)
            except (ConnectFailure, SendFailure) as exc:
                await self._sleep(loop.after_failure(exc))
                continue
            delay = loop.after_response(response.status_code, dict(response.headers))
            if delay is None:
                return response, loop.attempt
            await response.aclose()
            await self._sleep(delay)

    async def request(self, spec: RequestSpec) -> Any:
        response, attempts = await self._with_retries(spec)
        await response.aclose()
        return decode(
            response.status_code, dict(response.headers), response.content, spec, attempts
        )

    @asynccontextmanager
    async def stream(self, spec: RequestSpec) -> AsyncIterator[AsyncStreamResponse]:
        response, _ = await self._with_retries(spec)
        try:
            yield AsyncStreamResponse(response)
        finally:
            await response.aclose()
