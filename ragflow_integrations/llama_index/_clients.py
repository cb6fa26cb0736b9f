"""One place where the LlamaIndex adapters get their sync and async RAGFlow clients.

Every adapter accepts ``client=`` / ``async_client=`` (ready clients, shared and owned by the
caller) or ``api_key=`` / ``base_url=`` (falling back to ``RAGFLOW_API_KEY`` /
``RAGFLOW_BASE_URL``). Clients are created on first use, so a component used only synchronously
never builds an async client and the other way round.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ragflow_integrations import AsyncRAGFlow, RAGFlow


class ClientPair:
    """Lazily built sync and async clients sharing one set of credentials.

    The API key is never stored on this object: a client built from ``api_key`` keeps it, and a
    missing twin client is built from the same arguments.
    """

    __slots__ = ("_async", "_async_loop", "_client_kwargs", "_owns_async", "_sync")

    def __init__(
        self,
        *,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        **client_kwargs: Any,
    ) -> None:
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
        self._sync = client
        self._async = async_client
        self._owns_async = async_client is None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        kwargs = dict(client_kwargs)
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
            if self._client_kwargs or self._async is None:
                self._sync = RAGFlow(**self._client_kwargs)
            else:
                self._sync = self._async.to_sync()
        return self._sync

    @property
    def async_(self) -> AsyncRAGFlow:
        """The async client, built on first use from the constructor arguments or the twin.

        A client built here is rebuilt when called from another event loop (its HTTP pool belongs
        to the loop it was created in, e.g. across two ``asyncio.run`` calls). A client passed in
        is always used as is.
        """
        if not self._owns_async:
            assert self._async is not None
            return self._async
        loop = _running_loop()
        if self._async is None or (loop is not None and loop is not self._async_loop):
            if self._client_kwargs or self._sync is None:
                self._async = AsyncRAGFlow(**self._client_kwargs)
            else:
                self._async = self._sync.to_async()
            self._async_loop = loop
        return self._async

    # ----- copying and pickling ----------------------------------------------------------------
    def __deepcopy__(self, memo: dict[int, Any]) -> ClientPair:
        """A copied component shares the clients (connection pools are not copied)."""
        twin = ClientPair.__new__(ClientPair)
        twin._sync, twin._async = self._sync, self._async
        twin._owns_async, twin._async_loop = self._owns_async, self._async_loop
        twin._client_kwargs = dict(self._client_kwargs)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        """The client configuration (server, key, timeouts, retries, TLS), not the clients.

        Clients hold locks and connection pools; an unpickled pair builds new ones on first use.
        The state holds the API key, like the client itself: keep pickles private.
        """
        source = self._sync if self._sync is not None else self._async
        config = source._twin_config() if source is not None else dict(self._client_kwargs)
        return {"client_kwargs": config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._sync = None
        self._async = None
        self._owns_async = True
        self._async_loop = None
        self._client_kwargs = dict(state["client_kwargs"])


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
