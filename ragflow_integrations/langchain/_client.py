"""Lazy, shared RAGFlow clients for the LangChain components (private)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from ragflow_integrations import AsyncRAGFlow, RAGFlow


class ClientFactory:
    """Creates a sync and an async client once, from explicit clients or connection settings.

    An explicitly passed client is always used as is (share one to share its connection pool);
    when only one of the two is passed, the other is its twin (same key, URL and timeouts). A
    lazily created async client is bound to the event loop it was first used on; on another loop
    a new one is created, because an ``httpx.AsyncClient`` pool cannot move between loops.
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
    ) -> None:
        self._client = client
        self._async_client = async_client
        self._owns_async = async_client is None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        if isinstance(api_key, str):
            api_key = SecretStr(api_key)
        if api_key is None:
            api_key = secret_from_env("RAGFLOW_API_KEY", default=None)()
        self._api_key = api_key
        self._base_url = (
            base_url if base_url is not None else from_env("RAGFLOW_BASE_URL", default=None)()
        )
        self._timeout = timeout
        self._max_retries = max_retries

    def _settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "api_key": self._api_key.get_secret_value() if self._api_key else None,
            "base_url": self._base_url,
        }
        if self._timeout is not None:
            settings["timeout"] = self._timeout
        if self._max_retries is not None:
            settings["max_retries"] = self._max_retries
        return settings

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
        """The async client (created on first use, per event loop when created here)."""
        if not self._owns_async:
            assert self._async_client is not None
            return self._async_client
        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_loop is not loop:
            self._async_client = self.sync.to_async()
            self._async_loop = loop
        return self._async_client


_FACTORY_LOCK = threading.Lock()


class RAGFlowConnection(BaseModel):
    """Connection fields shared by the pydantic-based components (retriever, chat model, tools)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    client: RAGFlow | None = Field(default=None, exclude=True, repr=False)
    """A ready sync client to use (shares its connection pool); built lazily when None."""
    async_client: AsyncRAGFlow | None = Field(default=None, exclude=True, repr=False)
    """A ready async client to use; built lazily when None."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("RAGFLOW_API_KEY", default=None), repr=False
    )
    """RAGFlow API key; defaults to the ``RAGFLOW_API_KEY`` environment variable."""
    base_url: str | None = Field(default_factory=from_env("RAGFLOW_BASE_URL", default=None))
    """Server URL such as ``http://localhost:9380``; defaults to ``RAGFLOW_BASE_URL``."""
    timeout: float | None = None
    """Request timeout in seconds (client default when None)."""
    max_retries: int = 2
    """Retries for transient failures (idempotent requests only)."""

    _factory: ClientFactory | None = PrivateAttr(default=None)

    @property
    def _clients(self) -> ClientFactory:
        if self._factory is None:
            with _FACTORY_LOCK:
                if self._factory is None:
                    self._factory = self._new_factory()
        return self._factory

    def _new_factory(self) -> ClientFactory:
        return ClientFactory(
            client=self.client,
            async_client=self.async_client,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    @property
    def _sync_client(self) -> RAGFlow:
        return self._clients.sync

    @property
    def _async_client(self) -> AsyncRAGFlow:
        return self._clients.async_
