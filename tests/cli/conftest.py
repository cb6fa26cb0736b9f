"""Fixtures of the command-line tests: local servers in both modes, an in-process runner, and a
wire log of every HTTP request the program sends (through ``requests``' own adapter seam)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from cli_support import API_KEY, Run, Wire, make_runner
from requests.adapters import HTTPAdapter

from ragflow_integrations import RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    log = Wire()
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        log.requests.append((str(request.method), urlsplit(str(request.url)).path))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", send)
    return log


@pytest.fixture(scope="module", params=["0.27", "0.22"])
def server(request: pytest.FixtureRequest) -> Iterator[LocalRAGFlowServer]:
    """One local server per mode for the module (tests use datasets of their own)."""
    with LocalRAGFlowServer(api_key=API_KEY, emulate=request.param) as srv:
        yield srv


@pytest.fixture(scope="module")
def server27() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer(api_key=API_KEY) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("server", "server27"):
        if name in request.fixturenames:
            request.getfixturevalue(name).clear_faults()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, server: LocalRAGFlowServer) -> Run:
    """``cli("sync", folder, ...)`` runs the program in-process against ``server``."""
    return make_runner(monkeypatch, server)


@pytest.fixture
def cli27(monkeypatch: pytest.MonkeyPatch, server27: LocalRAGFlowServer) -> Run:
    return make_runner(monkeypatch, server27)


@pytest.fixture
def client(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    with RAGFlow(api_key=server.api_key, base_url=server.base_url) as rag:
        yield rag
