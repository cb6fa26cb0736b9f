"""Lazy, shared RAGFlow clients for the LangChain components (private)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Self

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations._api_key import refuse_empty_key
from ragflow_integrations._loop_clients import PerLoopAsyncClients

DEFAULT_BASE_URL = "http://localhost:9380"  # RAGFlow's own default, as the client's
_base_url_from_env = from_env(["RAGFLOW_BASE_URL", "RAGFLOW_API_BASE"], default=DEFAULT_BASE_URL)
"""The server a component talks to when given none, fixed when it is built (the client's chain:
``RAGFLOW_BASE_URL``, then ``RAGFLOW_API_BASE``, then localhost), so that a copy or a pickle
loaded elsewhere talks to the same server, whatever the environment says there."""


def refuse_pickling_with_clients(*given: RAGFlow | AsyncRAGFlow | None) -> None:
    """``TypeError`` when a component holds a passed client (its pool cannot be pickled)."""
    if any(client is not None for client in given):
        raise TypeError(
            "a RAGFlow component built with client= or async_client= cannot be pickled "
            "(a client holds open connections); build it from api_key/base_url instead"
        )


class ClientFactory:
    """Creates a sync and an async client once, from explicit clients or connection settings.

    An explicitly passed client is always used as is (share one to share its connection pool);
    when only one of the two is passed, the other is its twin (same key, URL and timeouts).

    A lazily created async client belongs to the event loop it was first used in (an
    ``httpx.AsyncClient`` pool cannot move between loops): each running loop gets its own, closed
    when that loop shuts down its async generators (``asyncio.run`` and pytest-asyncio do), so
    ``asyncio.run(component.ainvoke(...))`` in a loop leaves no open connection behind. A loop
    closed without that shutdown has its client dropped on the next use in another loop (its
    connections belong to the dead loop and cannot be closed from another one).

    Copies (``copy.deepcopy``) and pickles keep the settings and passed clients, not the clients
    created here, which the copy creates again on first use.
    """

    def __init__(
        self,
        *,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: SecretStr | str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str = True,
    ) -> None:
        refuse_empty_key(api_key)
        self._given = (client, async_client)
        self._source = (api_key, base_url, timeout, max_retries, verify)
        self._client = client
        self._async_client = async_client
        self._per_loop = PerLoopAsyncClients(lambda: self.sync.to_async())
        self._lock = threading.Lock()
        if isinstance(api_key, str):
            api_key = SecretStr(api_key)
        if api_key is None:
            api_key = secret_from_env("RAGFLOW_API_KEY", default=None)()
        self._api_key = api_key
        self._base_url = base_url if base_url is not None else _base_url_from_env()
        self._timeout = timeout
        self._max_retries = max_retries
        self._verify = verify

    def _settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "api_key": self._api_key.get_secret_value() if self._api_key else None,
            "base_url": self._base_url,
        }
        if self._timeout is not None:
            settings["timeout"] = self._timeout
        if self._max_retries is not None:
            settings["max_retries"] = self._max_retries
        if self._verify is not True:
            settings["verify"] = self._verify
        return settings

    def made_from(
        self,
        client: RAGFlow | None,
        async_client: AsyncRAGFlow | None,
        *source: Any,
    ) -> bool:
        """True when this factory was built from these clients (same objects) and settings."""
        return (
            self._given[0] is client and self._given[1] is async_client and self._source == source
        )

    # -- copies ------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        client, async_client = self._given
        return {
            "client": client,
            "async_client": async_client,
            "api_key": self._api_key,  # a SecretStr (or None), never the plain key
            "base_url": self._base_url,
            "timeout": self._timeout,
            "max_retries": self._max_retries,
            "verify": self._verify,
        }

    def __getstate__(self) -> dict[str, Any]:
        refuse_pickling_with_clients(*self._given)
        return self._state()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientFactory:
        return ClientFactory(**self._state())  # passed clients are shared, not copied

    # -- clients -----------------------------------------------------------------------
    @property
    def sync(self) -> RAGFlow:
        """The sync client (created on first use)."""
        if self._client is None:
            with self._lock:  # batch() calls from several threads at once
                if self._client is None:
                    if self._async_client is not None:
                        self._client = self._async_client.to_sync()
                    else:
                        self._client = RAGFlow(**self._settings())
        return self._client

    @property
    def async_(self) -> AsyncRAGFlow:
        """The async client: the passed one, or one per running event loop (created here)."""
        if self._given[1] is not None:
            return self._given[1]
        return self._per_loop.get(asyncio.get_running_loop())


_FACTORY_LOCK = threading.Lock()


class RAGFlowConnection(BaseModel):
    """Connection fields shared by the pydantic-based components (retriever, chat model, tools)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True, extra="forbid")

    client: RAGFlow | None = Field(default=None, exclude=True, repr=False)
    """A ready sync client to use (shares its connection pool); built lazily when None."""
    async_client: AsyncRAGFlow | None = Field(default=None, exclude=True, repr=False)
    """A ready async client to use; built lazily when None."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("RAGFLOW_API_KEY", default=None), repr=False
    )
    """RAGFlow API key; defaults to the ``RAGFLOW_API_KEY`` environment variable."""
    base_url: str | None = Field(default_factory=_base_url_from_env)
    """Server URL such as ``http://localhost:9380``; defaults to ``RAGFLOW_BASE_URL`` (then
    ``RAGFLOW_API_BASE``, then ``http://localhost:9380``), read when the component is built."""
    timeout: float | None = None
    """Request timeout in seconds (client default when None)."""
    max_retries: int = 2
    """Retries for transient failures (idempotent requests only)."""
    verify: bool | str = True
    """TLS certificate verification for the clients built here: ``True``, ``False`` (off, e.g. a
    self-signed test server) or the path of a CA bundle. Ignored for passed ``client`` /
    ``async_client`` (they keep their own)."""

    _factory: ClientFactory | None = PrivateAttr(default=None)

    @field_validator("api_key")
    @classmethod
    def _key_not_empty(cls, api_key: SecretStr | None) -> SecretStr | None:
        refuse_empty_key(api_key)  # "" is not "use RAGFLOW_API_KEY"
        return api_key

    @property
    def _clients(self) -> ClientFactory:
        """The clients for the current connection fields.

        Rebuilt when a connection field changed since the clients were made (an assignment, or
        ``model_copy(update={"base_url": ...})``, whose copy starts with the original's clients).
        """
        factory = self._factory
        if factory is None or not self._made(factory):
            with _FACTORY_LOCK:
                factory = self._factory
                if factory is None or not self._made(factory):
                    factory = self._factory = self._new_factory()
        return factory

    def _made(self, factory: ClientFactory) -> bool:
        return factory.made_from(
            self.client,
            self.async_client,
            self.api_key,
            self.base_url,
            self.timeout,
            self.max_retries,
            self.verify,
        )

    def _new_factory(self) -> ClientFactory:
        return ClientFactory(
            client=self.client,
            async_client=self.async_client,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            verify=self.verify,
        )

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A deep copy sharing the passed clients; its own clients are created on first use."""
        memo = {} if memo is None else memo
        for given in (self.client, self.async_client):
            if given is not None:
                memo[id(given)] = given
        copied = super().__deepcopy__(memo)
        copied._factory = None
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        """Pickle state without the clients (a copy creates its own on first use)."""
        refuse_pickling_with_clients(self.client, self.async_client)
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private:
            state["__pydantic_private__"] = {**private, "_factory": None}
        return state

    @property
    def _sync_client(self) -> RAGFlow:
        return self._clients.sync

    @property
    def _async_client(self) -> AsyncRAGFlow:
        return self._clients.async_
