"""One AsyncRAGFlow used from several event loops (asyncio.run twice, notebooks)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ragflow_integrations import APIConnectionError, AsyncRAGFlow, RAGFlowError
from ragflow_integrations._transport.async_ import _LoopBoundPool

from .fakes import API_KEY, BASE_URL, Answer, FakeServer, _httpx_handler, async_client, ok


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeServer, list[Any]]:
    """Pools the client opens itself answer from a FakeServer; ``opened`` records each one."""
    server = FakeServer().on("GET", "/api/v1/datasets", ok([{"id": "a", "name": "kb"}]))
    pools: list[Any] = []

    answer = _httpx_handler(server)

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # like a real round trip, let other tasks run meanwhile
        return answer(request)

    def new_client(self: _LoopBoundPool) -> Any:
        pools.append(httpx.AsyncClient(transport=httpx.MockTransport(handler)))
        return pools[-1]

    monkeypatch.setattr(_LoopBoundPool, "_new_client", new_client)
    return server, pools


def test_own_pool_is_reopened_in_a_new_loop(opened: tuple[FakeServer, list[Any]]) -> None:
    server, pools = opened
    client = AsyncRAGFlow(api_key=API_KEY, base_url=BASE_URL, server_version="0.27")
    patient = client.with_options(timeout=5)

    async def copy_then_original() -> list[Any]:
        return [await patient.list_datasets(), await client.list_datasets()]

    first = asyncio.run(client.list_datasets())
    second, third = asyncio.run(copy_then_original())  # the copy shares the reopened pool
    asyncio.run(client.aclose())  # the pool's loop has stopped: closing must not raise
    assert [d.id for d in first] == [d.id for d in second] == [d.id for d in third] == ["a"]
    assert len(pools) == 2 and len(server.calls("GET")) == 3


def test_pool_is_kept_within_one_loop(opened: tuple[FakeServer, list[Any]]) -> None:
    server, pools = opened

    async def twice() -> None:
        async with AsyncRAGFlow(api_key=API_KEY, base_url=BASE_URL, server_version="0.27") as c:
            await c.list_datasets()
            await c.list_datasets()

    asyncio.run(twice())
    assert len(pools) == 1 and pools[0].is_closed and len(server.calls("GET")) == 2


def test_a_given_http_client_in_a_new_loop_raises_a_library_error() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", ok([]))
    client = async_client(server, server_version="0.27")
    assert asyncio.run(client.list_datasets()) == []
    with pytest.raises(RAGFlowError, match="another event loop") as info:
        asyncio.run(client.list_datasets())
    assert "http_client" in info.value.message
    assert len(server.calls("GET")) == 1


def test_own_pool_is_reopened_after_aclose(opened: tuple[FakeServer, list[Any]]) -> None:
    server, pools = opened

    async def after_close() -> list[Any]:
        client = AsyncRAGFlow(api_key=API_KEY, base_url=BASE_URL, server_version="0.27")
        await client.list_datasets()
        await client.aclose()
        reopened = await client.list_datasets()  # as a closed requests.Session reopens
        await client.aclose()
        return reopened

    assert [d.id for d in asyncio.run(after_close())] == ["a"]
    assert len(pools) == 2 and all(pool.is_closed for pool in pools)
    assert len(server.calls("GET")) == 2


async def test_a_closed_given_http_client_raises_a_library_error() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", ok([]))
    client = async_client(server, server_version="0.27")
    await client._transport.client.aclose()
    with pytest.raises(RAGFlowError, match="has been closed"):
        await client.list_datasets()
    assert server.calls("GET") == []


def test_feature_probe_contended_in_two_loops(opened: tuple[FakeServer, list[Any]]) -> None:
    """The probe's lock binds to the loop that first waited on it; a new loop needs its own."""
    server, _ = opened
    failing = [Answer(fail="connect"), Answer(fail="connect")]
    server.on("GET", "/api/v1/system/version", *failing, ok("v0.27.0"))
    server.on("GET", "/api/v1/datasets/a", ok({"id": "a", "name": "kb"}))
    client = AsyncRAGFlow(api_key=API_KEY, base_url=BASE_URL, max_retries=0)

    async def two_at_once() -> list[Any]:
        calls = [client.get_dataset("a"), client.get_dataset("a")]  # both need the features
        return list(await asyncio.gather(*calls, return_exceptions=True))

    first = asyncio.run(two_at_once())
    assert all(isinstance(result, APIConnectionError) for result in first)
    second = asyncio.run(two_at_once())
    assert [dataset.id for dataset in second] == ["a", "a"]
    assert client.features is not None and client.features.get_routes
