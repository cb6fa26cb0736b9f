"""What both clients share: configuration, lifecycle and the drivers that run operations.

The operations of ``resources/`` are sans-I/O generators (``_core/ops.py``); a driver runs one by
answering its instructions: :class:`SyncAPIClient` with ``requests`` and ``time.sleep``,
:class:`AsyncAPIClient` with ``httpx`` and ``asyncio.sleep``. The per-group method mixins of
``resources/`` subclass these two, and ``client.py`` composes them into ``RAGFlow`` and
``AsyncRAGFlow``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self

from ._core import ops
from ._core.features import ServerFeatures
from ._core.ops import Call, Emit, Op, Sleep, StreamPlan, _Features
from ._core.request import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, normalize_base_url
from ._core.streaming import StreamRunner
from ._models import _Model
from ._transport.base import TransportOptions
from .errors import RAGFlowError

if TYPE_CHECKING:
    from ._transport.async_ import AsyncTransport
    from ._transport.sync import SyncTransport

DEFAULT_BASE_URL = "http://localhost:9380"


def _resolve(api_key: str | None, base_url: str | None) -> tuple[str, str]:
    key = api_key if api_key is not None else os.environ.get("RAGFLOW_API_KEY")
    if not key:
        raise ValueError(
            "No RAGFlow API key: pass api_key='ragflow-...' or set the RAGFLOW_API_KEY "
            "environment variable (create a key in the RAGFlow UI under API)."
        )
    url = base_url or os.environ.get("RAGFLOW_BASE_URL") or os.environ.get("RAGFLOW_API_BASE")
    return key, normalize_base_url(url or DEFAULT_BASE_URL)


class _ClientBase:
    """Configuration shared by both clients (the key lives only in the transport options)."""

    _kinds: dict[str, type[_Model]]

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        *,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
        verify: bool | str,
        server_version: str | None,
    ) -> None:
        key, api_base = _resolve(api_key, base_url)
        self._options = TransportOptions(  # checks the timeouts, max_retries and verify
            api_base, key, timeout, connect_timeout, max_retries, verify
        )
        self._features: ServerFeatures | None = (
            ServerFeatures.from_version(server_version) if server_version else None
        )

    @property
    def base_url(self) -> str:
        """The API root, ``http://host:port/api/v1``."""
        return self._options.api_base

    @property
    def timeout(self) -> float:
        """Read timeout in seconds."""
        return self._options.timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt (0 disables)."""
        return self._options.max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @contextlib.contextmanager
    def _key_hidden(self) -> Iterator[None]:
        """Mask the key in any error raised inside (a server may echo the Authorization header)."""
        try:
            yield
        except RAGFlowError as exc:
            exc.hide(self._options.api_key)
            raise

    def _twin_config(self) -> dict[str, Any]:
        """Constructor arguments for a twin client (same server, key, timeouts, retries, TLS)."""
        o = self._options
        return {
            "api_key": o.api_key,
            "base_url": o.api_base,
            "timeout": o.timeout,
            "connect_timeout": o.connect_timeout,
            "max_retries": o.max_retries,
            "verify": o.verify,
            "server_version": ".".join(map(str, self._features.version))
            if self._features
            else None,
        }

    def wrap(self, kind: str, data: Mapping[str, Any]) -> Any:
        """Build a model of ``kind`` bound to this client (used by the operations)."""
        data = dict(data)
        if kind == "message":
            data["reference"] = [
                c if isinstance(c, _Model) else self.wrap("chunk", c)
                for c in data.get("reference") or []
                if isinstance(c, (Mapping, _Model))
            ]
        return self._kinds[kind].model_validate(data)._bind(self)


class SyncAPIClient(_ClientBase):
    """The synchronous driver (``requests``): runs operations, owns the connection pool."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = 2,
        verify: bool | str = True,
        server_version: str | None = None,
        session: Any = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            verify=verify,
            server_version=server_version,
        )
        from ._transport.sync import SyncTransport

        self._transport: SyncTransport = SyncTransport(self._options, session)
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def with_options(
        self,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Self:
        """A copy with other timeouts/retries sharing this client's connection pool."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._transport = self._transport.copy(
            timeout=timeout, connect_timeout=connect_timeout, max_retries=max_retries
        )
        clone._options = clone._transport.options
        return clone

    def close(self) -> None:
        """Close the connection pool (if the client created it)."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- drivers --------------------------------------------------------------------------
    def _execute(self, instruction: Any) -> Any:
        if isinstance(instruction, Call):
            return self._transport.request(instruction.spec)
        if isinstance(instruction, Sleep):
            time.sleep(instruction.seconds)
            return None
        if isinstance(instruction, _Features):
            return self.get_features()
        raise TypeError(f"unexpected instruction {instruction!r}")

    def _run(self, op: Op) -> Any:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        raise TypeError("iterator operation run with _run; use _iterate")
                    try:
                        result = self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration as stop:
                return stop.value

    def _iterate(self, op: Op) -> Iterator[Any]:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        yield instruction.item
                        instruction = op.send(None)
                        continue
                    try:
                        result = self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration:
                return

    def _collect(self, op: Op) -> list[Any]:
        return list(self._iterate(op))

    def _stream(self, plan: StreamPlan) -> Iterator[Any]:
        with self._key_hidden():
            try:
                runner = StreamRunner(plan)
                with self._transport.stream(plan.spec) as response:
                    if not response.is_sse:
                        try:
                            body = response.read()
                        except Exception as exc:  # the plain answer was cut while reading
                            raise runner.cut(exc) from exc
                        yield from runner.non_stream_body(response.status, response.headers, body)
                        return
                    lines = response.lines()
                    while True:
                        try:
                            line = next(lines)
                        except StopIteration:
                            break
                        except Exception as exc:
                            raise runner.cut(exc) from exc
                        yield from runner.feed(line)
                        if runner.done:
                            response.drain()  # keeps the connection for the next request
                            break
                    yield from runner.finish()
            finally:
                if plan.cleanup is not None:
                    self._run(plan.cleanup())

    # -- server ---------------------------------------------------------------------------
    def get_features(self) -> ServerFeatures:
        """Probe ``GET /system/version`` once (404 = server before v0.25) and cache the result."""
        if self._features is None:
            with self._lock:
                if self._features is None:
                    self._features = self._run(ops.probe_features())
        return self._features

    @property
    def features(self) -> ServerFeatures:
        """The server's :class:`ServerFeatures` (probed on first use)."""
        return self.get_features()


class AsyncAPIClient(_ClientBase):
    """The asynchronous driver (``httpx``): runs operations natively on the running loop."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = 2,
        verify: bool | str = True,
        server_version: str | None = None,
        http_client: Any = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            verify=verify,
            server_version=server_version,
        )
        self._http_client = http_client
        self._transport_obj: AsyncTransport | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    @property
    def _transport(self) -> AsyncTransport:
        if self._transport_obj is None:
            from ._transport.async_ import AsyncTransport

            self._transport_obj = AsyncTransport(self._options, self._http_client)
        return self._transport_obj

    def with_options(
        self,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Self:
        """A copy with other timeouts/retries sharing this client's connection pool."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._transport_obj = self._transport.copy(
            timeout=timeout, connect_timeout=connect_timeout, max_retries=max_retries
        )
        clone._options = clone._transport_obj.options
        return clone

    async def aclose(self) -> None:
        """Close the connection pool (if the client created it)."""
        if self._transport_obj is not None:
            await self._transport_obj.aclose()

    async def close(self) -> None:
        """Close the connection pool (if the client created it)."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- drivers --------------------------------------------------------------------------
    async def _execute(self, instruction: Any) -> Any:
        if isinstance(instruction, Call):
            return await self._transport.request(instruction.spec)
        if isinstance(instruction, Sleep):
            await asyncio.sleep(instruction.seconds)
            return None
        if isinstance(instruction, _Features):
            return await self.get_features()
        raise TypeError(f"unexpected instruction {instruction!r}")

    async def _run(self, op: Op) -> Any:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        raise TypeError("iterator operation run with _run; use _iterate")
                    try:
                        result = await self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration as stop:
                return stop.value

    async def _iterate(self, op: Op) -> AsyncIterator[Any]:
        with self._key_hidden():
            try:
                instruction = next(op)
                while True:
                    if isinstance(instruction, Emit):
                        yield instruction.item
                        instruction = op.send(None)
                        continue
                    try:
                        result = await self._execute(instruction)
                    except Exception as exc:
                        instruction = op.throw(exc)
                        continue
                    instruction = op.send(result)
            except StopIteration:
                return

    async def _collect(self, op: Op) -> list[Any]:
        return [item async for item in self._iterate(op)]

    async def _stream(self, plan: StreamPlan) -> AsyncIterator[Any]:
        with self._key_hidden():
            try:
                runner = StreamRunner(plan)
                async with self._transport.stream(plan.spec) as response:
                    if not response.is_sse:
                        try:
                            body = await response.read()
                        except Exception as exc:  # the plain answer was cut while reading
                            raise runner.cut(exc) from exc
                        for item in runner.non_stream_body(response.status, response.headers, body):
                            yield item
                        return
                    lines = response.lines()
                    while True:
                        try:
                            line = await lines.__anext__()
                        except StopAsyncIteration:
                            break
                        except Exception as exc:
                            raise runner.cut(exc) from exc
                        for item in runner.feed(line):
                            yield item
                        if runner.done:
                            await response.drain()  # keeps the connection for the next request
                            break
                    for item in runner.finish():
                        yield item
            finally:
                if plan.cleanup is not None:
                    await self._run(plan.cleanup())

    # -- server ---------------------------------------------------------------------------
    async def get_features(self) -> ServerFeatures:
        """Probe ``GET /system/version`` once and cache the result."""
        if self._features is None:
            running = asyncio.get_running_loop()
            if self._lock is None or self._lock_loop is not running:  # a lock binds to its loop
                self._lock, self._lock_loop = asyncio.Lock(), running
            async with self._lock:
                if self._features is None:
                    self._features = await self._run(ops.probe_features())
        return self._features

    @property
    def features(self) -> ServerFeatures | None:
        """The cached features (``None`` until the first request or ``await get_features()``)."""
        return self._features
