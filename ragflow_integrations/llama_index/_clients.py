"""One place where the LlamaIndex adapters get their sync and async RAGFlow clients.

Every adapter accepts ``client=`` / ``async_client=`` (ready clients, shared and owned by the
caller) or ``api_key=`` / ``base_url=`` (falling back to ``RAGFLOW_API_KEY`` /
``RAGFLOW_BASE_URL``) with the connection options ``timeout=``, ``max_retries=`` and ``verify=``
(as in ``RAGFlow(...)``). Clients are created on first use, so a component used only
synchronously never builds an async client and the other way round.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations._api_key import refuse_empty_key
from ragflow_integrations._loop_clients import PerLoopAsyncClients

CONNECTION_OPTIONS = ("timeout", "max_retries", "verify")
"""Keyword options every component that builds its own clients accepts (``RAGFlow(...)``'s)."""


def reject_unknown(component: str, unknown: Mapping[str, Any] | set[str] | list[str]) -> None:
    """``TypeError`` naming the keyword arguments ``component`` does not take (none: no-op)."""
    names = sorted(unknown)
    if names:
        raise TypeError(
            f"{component}() got unexpected keyword argument(s): {', '.join(map(repr, names))}"
        )


class ClientPair:
    """Lazily built sync and async clients sharing one set of credentials and options.

    The API key is never stored on this object: a client built from ``api_key`` keeps it, and a
    missing twin client is built from the same arguments.

    A passed client is always used as is (and never closed here). An async client built here
    belongs to the event loop it is first used in (an ``httpx.AsyncClient`` pool cannot move
    between loops): each running loop gets its own, closed when that loop shuts down its async
    generators (``asyncio.run`` and pytest-asyncio do), so ``asyncio.run(...)`` in a loop leaves
    no open connection behind.
    """

    __slots__ = (
        "_async",
        "_client_kwargs",
        "_lock",
        "_loopless",
        "_owns_async",
        "_per_loop",
        "_sync",
    )

    def __init__(
        self,
        *,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
    ) -> None:
        refuse_empty_key(api_key)
        if client is not None and not isinstance(client, RAGFlow):
            raise TypeError(
                f"client must be a ragflow_integrations.RAGFlow, got {type(client).__name__}; "
                "pass an AsyncRAGFlow as async_client= instead"
            )
        if async_client is not None and not isinstance(async_client, AsyncRAGFlow):
            raise TypeError(
                f"async_client must be a ragflow_integrations.AsyncRAGFlow, got "
                f"{type(async_client).__name__}; pass a RAGFlow as client= instead"
            )
        options = {"timeout": timeout, "max_retries": max_retries, "verify": verify}
        given = sorted(name for name, value in options.items() if value is not None)
        if given and (client is not None or async_client is not None):
            raise ValueError(
                f"{', '.join(given)} configure the clients a component builds itself; with "
                "client= / async_client= set them on that client instead, e.g. "
                "RAGFlow(..., timeout=30, max_retries=1, verify='/path/ca.pem')"
            )
        self._sync = client
        self._async = async_client
        self._owns_async = async_client is None
        self._per_loop = PerLoopAsyncClients(self._new_async)
        self._loopless: AsyncRAGFlow | None = None
        self._lock = threading.Lock()
        kwargs: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        if api_key is not None:
            kwargs["api_key"] = api_key
        if base_url is not None:
            kwargs["base_url"] = base_url
        self._client_kwargs = kwargs
        if client is None and async_client is None:
            # Fail at construction (not at the first query) when no key is configured anywhere.
            self._sync = RAGFlow(**self._client_kwargs)

    @property
    def sync(self) -> RAGFlow:
        """The sync client, built on first use from the constructor arguments or the twin."""
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    if self._client_kwargs or self._async is None:
                        self._sync = RAGFlow(**self._client_kwargs)
                    else:
                        self._sync = self._async.to_sync()
        return self._sync

    def _new_async(self) -> AsyncRAGFlow:
        if self._client_kwargs or self._sync is None:
            return AsyncRAGFlow(**self._client_kwargs)
        return self._sync.to_async()

    @property
    def async_(self) -> AsyncRAGFlow:
        """The async client: the passed one, or one per running event loop (built here).

        Outside a running loop (e.g. reading ``index.async_client``) one loop-independent client
        is built once and returned; it is not closed automatically.
        """
        if not self._owns_async:
            assert self._async is not None
            return self._async
        loop = _running_loop()
        if loop is None:
            with self._lock:
                if self._loopless is None:
                    self._loopless = self._new_async()
            return self._loopless
        return self._per_loop.get(loop)

    # ----- copying and pickling ----------------------------------------------------------------
    def __deepcopy__(self, memo: dict[int, Any]) -> ClientPair:
        """A copied component shares the passed clients and its sync client (connection pools
        are not copied); it builds its own per-loop async clients on first use."""
        twin = ClientPair.__new__(ClientPair)
        twin._sync, twin._async = self._sync, self._async
        twin._owns_async = self._owns_async
        twin._per_loop = PerLoopAsyncClients(twin._new_async)
        twin._loopless = None
        twin._lock = threading.Lock()
        twin._client_kwargs = dict(self._client_kwargs)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        """The client configuration (server, key, timeouts, retries, TLS), not the clients.

        Clients hold locks and connection pools; an unpickled pair builds new ones on first use.
        The state holds the API key, like the client itself: keep pickles private.
        """
        source: RAGFlow | AsyncRAGFlow | None = self._sync
        if source is None:
            source = self._async
        config = source._twin_config() if source is not None else dict(self._client_kwargs)
        return {"client_kwargs": config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._sync = None
        self._async = None
        self._owns_async = True
        self._per_loop = PerLoopAsyncClients(self._new_async)
        self._loopless = None
        self._lock = threading.Lock()
        self._client_kwargs = dict(state["client_kwargs"])


def pickled_clients(component: str, state: Mapping[str, Any]) -> ClientPair:
    """The clients a pickled pydantic component was built with (its ``_clients``), to restore.

    LlamaIndex's ``BaseComponent.__setstate__`` re-runs ``__init__`` with the pydantic fields
    only, which would build new clients from ``RAGFLOW_BASE_URL`` / ``RAGFLOW_API_KEY``: the
    unpickled component would send its requests, with another key, to another server. Components
    call this first, then put the result back once the base class is done.
    """
    clients = (state.get("__pydantic_private__") or {}).get("_clients")
    if not isinstance(clients, ClientPair):
        raise TypeError(
            f"this pickled {component} carries no RAGFlow connection (server, key, options), so "
            f"it cannot be restored without guessing one from the environment; build the "
            f"{component} again with api_key= / base_url="
        )
    return clients


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
