"""A slow server (latency above the read timeout): APITimeoutError close to the configured
timeout; idempotent calls retry the timeout, sync and async."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from _reliability import WireLog, describe_error, pending_fault_uses

from ragflow_integrations import APITimeoutError, AsyncRAGFlow, RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

READ_TIMEOUT = 0.4
LATENCY = 1.2


@pytest.mark.parametrize("max_retries", [0, 2])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_slow_server_times_out_near_the_configured_timeout(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    flavour: str,
    max_retries: int,
) -> None:
    server.inject_fault("/datasets", "GET", latency=LATENCY)
    options: dict[str, Any] = {"timeout": READ_TIMEOUT, "max_retries": max_retries}
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        if flavour == "sync":
            make_client(**options).list_datasets()
        else:
            await make_async_client(**options).list_datasets()
    elapsed = time.monotonic() - started
    attempts = max_retries + 1
    # each attempt waits one read timeout; backoffs between them are tiny in this suite
    assert attempts * READ_TIMEOUT * 0.9 <= elapsed < attempts * READ_TIMEOUT + 0.8, elapsed
    error = caught.value
    assert error.attempts == attempts
    assert "timeout" in str(error).lower() and "timeout=" in str(error)
    assert len(wire.to("/datasets", "GET")) == attempts
    ledger(
        area="timeouts",
        fault=f"latency {LATENCY:g} s > read timeout {READ_TIMEOUT:g} s, {flavour} GET "
        f"list_datasets, max_retries={max_retries}",
        injected=len(wire.to("/datasets", "GET")),
        requests_sent=len(wire.to("/datasets", "GET")),
        caller_saw=f"{describe_error(error)} after {elapsed:.2f} s",
        data_check=f"elapsed within [{attempts * READ_TIMEOUT * 0.9:.2f}, "
        f"{attempts * READ_TIMEOUT + 0.8:.2f}) s",
        seconds=elapsed,
    )


def test_latency_below_timeout_is_just_slow(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    server.inject_fault("/datasets", "GET", latency=0.3, times=1)
    started = time.monotonic()
    make_client(timeout=1.0).list_datasets()
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.0
    assert len(wire.to("/datasets", "GET")) == 1
    ledger(
        area="timeouts",
        fault="latency 0.3 s < read timeout 1 s on GET list_datasets",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(wire.to("/datasets", "GET")),
        caller_saw=f"success after {elapsed:.2f} s",
        data_check="one request, no retry",
        seconds=elapsed,
    )
