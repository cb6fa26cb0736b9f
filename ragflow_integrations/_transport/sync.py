"""Blocking transport over a pooled ``requests.Session``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .._core.envelope import decode
from .._core.request import RequestSpec
from .._core.retry import ConnectFailure, SendFailure
from .base import RetryLoop, TransportOptions, connection_reusable


class StreamResponse:
    """An open streaming response: status, headers, and a line iterator that never buffers."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = dict(response.headers)

    @property
    def is_sse(self) -> bool:
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        return "text/event-stream" in content_type.lower()

    def read(self) -> bytes:
        content: bytes = self._response.content
        return content

    def lines(self) -> Iterator[bytes]:
        """Lines as soon as their bytes arrive, whatever the framing (chunked or close-delimited).

        ``read1`` returns what is available instead of waiting for a full buffer, so an event is
        delivered before the next one is sent (``iter_lines`` would wait for the whole body of a
        close-delimited response).
        """
        from urllib3.response import BaseHTTPResponse

        raw = self._response.raw
        if not isinstance(raw, BaseHTTPResponse):  # a test double or a replayed body
            yield from self._response.iter_lines(chunk_size=None)
            return
        pending = b""
        while True:
            chunk: bytes = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r")
        if pending:
            yield pending.rstrip(b"\r")

    def drain(self, *, max_bytes: int = 65536, seconds: float = 1.0) -> None:
        """Read what is left after a stream's terminator (bounded in bytes and time).

        urllib3 closes a connection whose body was not read to the end; a drained one goes back to
        the pool, so the next request does not pay a new TCP (and TLS) handshake.
        """
        from urllib3.response import BaseHTTPResponse

        raw = self._response.raw
        if not isinstance(raw, BaseHTTPResponse) or not connection_reusable(self.headers):
            return
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        previous = sock.gettimeout() if sock is not None else None
        try:
            if sock is not None:
                sock.settimeout(seconds)
            left = max_bytes
            while left > 0:
                chunk: bytes = raw.read1(left, decode_content=True)
                if not chunk:
                    break
                left -= len(chunk)
        except Exception:  # a timeout or a cut: the connection is closed with the response
            return
        finally:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.settimeout(previous)


class SyncTransport:
    """Sends :class:`RequestSpec` objects with retries; decodes answers via the core."""

    def __init__(
        self,
        options: TransportOptions,
        session: Any = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests

        self.options = options
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self._sleep = sleep

    def copy(self, **changes: Any) -> SyncTransport:
        """Same connection pool, other timeouts/retries."""
        clone = SyncTransport(self.options.with_changes(**changes), self.session, sleep=self._sleep)
        clone._owns_session = False
        return clone

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- sending --------------------------------------------------------------------------
    def _send(self, spec: RequestSpec) -> Any:
        import requests

        opts = self.options
        kwargs: dict[str, Any] = {
            "params": list(spec.params) or None,
            "headers": spec.headers(opts.api_key),
            "timeout": (opts.connect_timeout, opts.timeout),
            "verify": opts.verify,
            "stream": spec.stream,
        }
        if spec.files:
            kwargs["files"] = list(spec.files)
            if spec.data:
                kwargs["data"] = list(spec.data)
        elif spec.json is not None:
            import json

            kwargs["data"] = json.dumps(spec.json).encode("utf-8")
        try:
            return self.session.request(spec.method, spec.url(opts.api_base), **kwargs)
        except requests.exceptions.ConnectTimeout as exc:
            raise ConnectFailure(str(exc)) from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc):
                raise ConnectFailure(str(exc)) from exc
            raise SendFailure(str(exc)) from exc
        except requests.exceptions.RequestException as exc:  # timeouts, cut bodies, protocol errors
            raise SendFailure(str(exc)) from exc

    def _with_retries(self, spec: RequestSpec) -> tuple[Any, int]:
        loop = RetryLoop(spec, self.options)
        while True:
            loop.begin()
            try:
                response = self._send(spec)
            except (ConnectFailure, SendFailure) as exc:
                self._sleep(loop.after_failure(exc))
                continue
            delay = loop.after_response(response.status_code, dict(response.headers))
            if delay is None:
                return response, loop.attempt
            response.close()
            self._sleep(delay)

    def request(self, spec: RequestSpec) -> Any:
        """Send, retry when allowed, decode (raises the mapped error)."""
        response, attempts = self._with_retries(spec)  # the body was read inside the loop
        return decode(
            response.status_code, dict(response.headers), response.content, spec, attempts
        )

    @contextmanager
    def stream(self, spec: RequestSpec) -> Iterator[StreamResponse]:
        """Open a streaming request; the caller iterates ``lines()`` inside the block."""
        response, _ = self._with_retries(spec)
        try:
            yield StreamResponse(response)
        finally:
            response.close()


def _never_sent(exc: BaseException) -> bool:
    """True when the error chain shows the TCP connection was never established."""
    names = {"NewConnectionError", "NameResolutionError", "ConnectTimeoutError"}
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 8:
        if type(seen).__name__ in names:
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException) and type(reason).__name__ in names:
            return True
        seen = (
            seen.__cause__
            or seen.__context__
            or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        )
        depth += 1
    text = str(exc)
    return "Connection refused" in text or "Failed to establish a new connection" in text
