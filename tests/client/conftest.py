"""The ``rag`` fixture: the sync and the async client against the cassette server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .support import close, make_client


@pytest.fixture(params=["sync", "async"])
async def rag(request: pytest.FixtureRequest, ragflow_server: Any) -> AsyncIterator[Any]:
    client = make_client(request.param, ragflow_server.base_url, ragflow_server.api_key)
    yield client
    await close(client)
