"""Async transport over ``httpx.AsyncClient`` (httpx is imported on first use only)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from .._core.envelope import decode
from .._core.request import RequestSpec
from .._core.retry import ConnectFailure, SendFailure
from .base import RetryLoop, TransportOptions


class AsyncStreamResponse:
    """An open streaming response: status, headers, and an async line iterator."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = dict(response.headers)

    @property
    def is_sse(self) -> bool:
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        return "text/event-stream" in content_type.lower()

    async def read(self) -> bytes:
        content: bytes = await self._response.aread()
        return content

    async def lines(self) -> AsyncIterator[str]:
        line: str
        async for line in self._response.aiter_lines():
            yield line


def _httpx_verify(verify: bool | str) -> Any:
    if isinstance(verify, str):
        import ssl

        return ssl.create_default_context(cafile=verify)
    return verify


class AsyncTransport:
    """Async twin of :class:`~ragflow_integrations._transport.sync.SyncTransport`."""

    def __init__(
        self,
        options: TransportOptions,
        http_client: Any = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        import httpx

        self.options = options
        self._owns_client = http_client is None
        self.client = (
            http_client
            if http_client is not None
            else httpx.AsyncClient(verify=_httpx_verify(options.verify), follow_redirects=True)
        )
        self._sleep = sleep

    def copy(self, **changes: Any) -> AsyncTransport:
        clone = AsyncTransport(self.options.with_changes(**changes), self.client, sleep=self._sleep)
        clone._owns_client = False
        return clone

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

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
        request = self.client.build_request(spec.method, spec.url(opts.api_base), **kwargs)
        try:
            response = await self.client.send(request, stream=True)
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
