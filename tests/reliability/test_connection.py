"""Connection-level failures: nothing listening (connect refused) and a server restarted between
calls (stale keep-alive connections in the pool)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _reliability import API_KEY, WireLog, describe_error, unique

from ragflow_integrations import APIConnectionError, AsyncRAGFlow, RAGFlow, RAGFlowError
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("call", ["list_datasets", "create_dataset"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_connection_refused_is_retried_then_typed(
    ledger: Callable[..., None], flavour: str, call: str
) -> None:
    """Refused connections never reached a server, so even a create may be retried."""
    base_url = f"http://127.0.0.1:{_closed_port()}"
    options: dict[str, Any] = {"base_url": base_url, "api_key": API_KEY, "max_retries": 2}
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as caught:
        if flavour == "sync":
            with RAGFlow(**options, server_version="0.27") as client:
                getattr(client, call)(*(["x"] if call == "create_dataset" else []))
        else:
            async with AsyncRAGFlow(**options, server_version="0.27") as aclient:
                await getattr(aclient, call)(*(["x"] if call == "create_dataset" else []))
    elapsed = time.monotonic() - started
    error = caught.value
    assert error.attempts == 3
    assert error.request_sent is False, "nothing reached a server"
    assert base_url in str(error) and "base_url" in str(error)
    assert elapsed < 2.0
    ledger(
        area="connection",
        fault=f"nothing listening on the port, {flavour} {call} (max_retries=2)",
        injected=error.attempts,
        requests_sent=0,
        caller_saw=describe_error(error),
        data_check="-",
        seconds=elapsed,
    )


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_server_restart_between_calls(
    tmp_path: Path,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    flavour: str,
) -> None:
    """Pooled keep-alive connections die with the old server; the next create must neither
    fail nor be sent twice."""
    first = LocalRAGFlowServer(api_key=API_KEY, data_dir=tmp_path).start()
    port = first.port
    try:
        if flavour == "sync":
            client: Any = make_client(first)
            before = client.list_datasets()
        else:
            client = make_async_client(first)
            before = await client.list_datasets()
        first.stop()
        second = LocalRAGFlowServer(api_key=API_KEY, data_dir=tmp_path, port=port).start()
    except BaseException:
        first.stop()
        raise
    try:
        name = unique("after-restart")
        mark = len(wire)
        started = time.monotonic()
        if flavour == "sync":
            created = client.create_dataset(name=name)
            after = client.list_datasets()
        else:
            created = await client.create_dataset(name=name)
            after = await client.list_datasets()
        elapsed = time.monotonic() - started
    finally:
        second.stop()
    posts = [r for r in wire[mark:] if r.method == "POST" and r.path.endswith("/datasets")]
    assert len(posts) == 1
    assert [d.name for d in after].count(name) == 1
    assert {d.id for d in before} <= {d.id for d in after}
    ledger(
        area="connection",
        fault=f"server restarted between two calls (stale pooled connection), {flavour}",
        injected=1,
        requests_sent=len(posts),
        caller_saw=f"create_dataset succeeded ({created.name})",
        data_check=f"{len(after)} datasets after = {len(before)} before + 1; no duplicate",
        seconds=elapsed,
    )


def test_async_client_reused_in_a_new_event_loop(ledger: Callable[..., None]) -> None:
    """``asyncio.run`` twice with one AsyncRAGFlow (scripts, notebooks, sync wrappers): the
    client's own HTTP pool belongs to the first, now closed, loop. The second call must work,
    or fail with an error of this library that says what to do, never with the HTTP library's
    bare "Event loop is closed"."""
    import asyncio

    with LocalRAGFlowServer(api_key=API_KEY) as srv:
        client = AsyncRAGFlow(api_key=API_KEY, base_url=srv.base_url, server_version="0.27")
        first = asyncio.run(client.list_datasets())
        started = time.monotonic()
        error: BaseException | None = None
        try:
            second = asyncio.run(client.list_datasets())
            outcome = f"second loop: {len(second)} datasets"
            asyncio.run(client.aclose())
        except Exception as exc:
            outcome, error = describe_error(exc), exc
    ledger(
        area="connection",
        fault="one AsyncRAGFlow used from two event loops (asyncio.run twice)",
        injected=1,
        requests_sent=None,
        caller_saw=outcome,
        data_check="-",
        seconds=time.monotonic() - started,
    )
    if error is not None:
        assert isinstance(error, RAGFlowError) and "loop" in str(error), f"bare error: {error!r}"
    else:
        assert second == first


def test_async_client_used_after_aclose(ledger: Callable[..., None]) -> None:
    """A call after ``aclose()`` (a closed pool): an error of this library that says the client
    was closed (or a transparent reopen, as the sync client does), not httpx's RuntimeError."""
    import asyncio

    async def scenario(base_url: str) -> str:
        client = AsyncRAGFlow(api_key=API_KEY, base_url=base_url, server_version="0.27")
        await client.list_datasets()
        await client.aclose()
        try:
            return f"works: {len(await client.list_datasets())} datasets"
        except RAGFlowError as exc:
            assert "close" in str(exc).lower(), str(exc)
            return describe_error(exc)

    with LocalRAGFlowServer(api_key=API_KEY) as srv:
        started = time.monotonic()
        outcome = asyncio.run(scenario(srv.base_url))
    ledger(
        area="connection",
        fault="AsyncRAGFlow called after aclose()",
        injected=1,
        requests_sent=None,
        caller_saw=outcome,
        data_check="-",
        seconds=time.monotonic() - started,
    )
