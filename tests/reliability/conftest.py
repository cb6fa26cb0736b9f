"""Fixtures of the reliability suite: shared local servers, fast recorded clients, the fault ledger.

Every test here runs live against :class:`LocalRAGFlowServer` over loopback (``@pytest.mark.live``).
Set ``RAGFLOW_RELIABILITY_LEDGER=<path>`` to write the measured fault rows (used by
``tests/reliability/report.py`` to generate RELIABILITY.md).

Clients made by ``make_client`` / ``make_async_client`` send through a recording ``requests``
adapter / ``httpx`` transport (``wire``), so tests see exactly what left the client and when.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _reliability import (
    API_KEY,
    FAST_BACKOFF_BASE,
    FAST_BACKOFF_CAP,
    FAST_CONNECT_TIMEOUT,
    FAST_TIMEOUT,
    LEDGER_ENV,
    FaultRecord,
    Ledger,
    RecordingTransport,
    TLSMaterial,
    WireLog,
    make_tls_material,
    recording_session,
)

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations._core.retry import RetryPolicy
from ragflow_integrations._transport.base import TransportOptions
from ragflow_integrations.testing import LocalRAGFlowServer

_LEDGER = Ledger()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        previous = _LEDGER.outcomes.get(report.nodeid)
        if previous in (None, "passed"):
            _LEDGER.outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(LEDGER_ENV)
    if target and _LEDGER.records:
        _LEDGER.dump(target)


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``ledger(area=..., fault=..., injected=..., ...)`` records one measured fault row."""

    def add(**fields: Any) -> None:
        _LEDGER.add(FaultRecord(nodeid=request.node.nodeid, **fields))

    return add


@pytest.fixture(scope="module")
def ledger_module(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Like ``ledger`` for module-scoped fixtures; pass ``nodeid=`` to tie a row to one test
    (otherwise the row's result is the whole module's)."""

    def add(**fields: Any) -> None:
        fields.setdefault("nodeid", request.node.nodeid)
        _LEDGER.add(FaultRecord(**fields))

    return add


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Shrink the exponential backoff (the client has no option for it; Retry-After is untouched).

    Tests marked ``@pytest.mark.real_backoff`` keep the library's default policy.
    """
    if request.node.get_closest_marker("real_backoff"):
        return

    def policy(self: TransportOptions) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.max_retries, base=FAST_BACKOFF_BASE, cap=FAST_BACKOFF_CAP
        )

    monkeypatch.setattr(TransportOptions, "policy", policy)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_backoff: keep the client's default retry backoff")


@pytest.fixture(scope="session")
def server() -> Iterator[LocalRAGFlowServer]:
    """One 0.27 server for the suite (faults are cleared after each test; names are unique)."""
    with LocalRAGFlowServer(api_key=API_KEY, emulate="0.27") as srv:
        yield srv


@pytest.fixture(scope="session")
def server_022() -> Iterator[LocalRAGFlowServer]:
    """One server emulating RAGFlow 0.22 for the suite."""
    with LocalRAGFlowServer(api_key=API_KEY, emulate="0.22") as srv:
        yield srv


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("server", "server_022"):
        if name in request.fixturenames:
            request.getfixturevalue(name).clear_faults()


@pytest.fixture
def wire() -> WireLog:
    """Every request the test's recorded clients sent."""
    return WireLog()


def client_options(target: LocalRAGFlowServer, **overrides: Any) -> dict[str, Any]:
    """Small timeouts so that the suite stays fast; the server version is known up front."""
    options: dict[str, Any] = {
        "timeout": FAST_TIMEOUT,
        "connect_timeout": FAST_CONNECT_TIMEOUT,
        "max_retries": 3,
        "server_version": target.emulate,
    }
    options.update(overrides)
    return options


@pytest.fixture
def make_client(server: LocalRAGFlowServer, wire: WireLog) -> Iterator[Callable[..., RAGFlow]]:
    """Sync clients (recorded into ``wire`` unless ``record=False``); closed afterwards."""
    made: list[RAGFlow] = []

    def make(
        srv: LocalRAGFlowServer | None = None, *, record: bool = True, **overrides: Any
    ) -> RAGFlow:
        target = srv or server
        options = client_options(target, **overrides)
        if record:
            options.setdefault("session", recording_session(wire))
        client = RAGFlow(api_key=target.api_key, base_url=target.base_url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
async def make_async_client(
    server: LocalRAGFlowServer, wire: WireLog
) -> AsyncIterator[Callable[..., AsyncRAGFlow]]:
    """Async clients (recorded into ``wire`` unless ``record=False``); closed afterwards."""
    made: list[AsyncRAGFlow] = []
    http_clients: list[httpx.AsyncClient] = []

    def make(
        srv: LocalRAGFlowServer | None = None, *, record: bool = True, **overrides: Any
    ) -> AsyncRAGFlow:
        target = srv or server
        options = client_options(target, **overrides)
        if record and "http_client" not in options:
            http_client = httpx.AsyncClient(transport=RecordingTransport(wire))
            http_clients.append(http_client)
            options["http_client"] = http_client
        client = AsyncRAGFlow(api_key=target.api_key, base_url=target.base_url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()
    for http_client in http_clients:
        await http_client.aclose()


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    return make_tls_material(Path(tmp_path_factory.mktemp("tls")))
