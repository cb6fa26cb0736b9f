"""Fixtures of the command-line tests: local servers in both modes, an in-process runner, and a
wire log of every HTTP request the program sends (through ``requests``' own adapter seam)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from requests.adapters import HTTPAdapter

from ragflow_integrations import RAGFlow
from ragflow_integrations.cli import main
from ragflow_integrations.testing import LocalRAGFlowServer

API_KEY = "ragflow-cli-test-secret-5b1e7d"
POLL = "0.05"


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Wire:
    """``(method, path)`` of every request sent while recording."""

    requests: list[tuple[str, str]] = field(default_factory=list)

    def clear(self) -> None:
        self.requests.clear()

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] not in ("GET", "HEAD")]

    def count(self, method: str, suffix: str = "") -> int:
        return sum(1 for m, p in self.requests if m == method and p.endswith(suffix))


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


Run = Callable[..., Result]


def make_runner(monkeypatch: pytest.MonkeyPatch, target: LocalRAGFlowServer) -> Run:
    monkeypatch.setenv("RAGFLOW_BASE_URL", target.base_url)
    monkeypatch.setenv("RAGFLOW_API_KEY", target.api_key)

    def run(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main([str(a) for a in argv], stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


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


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)


def corpus(count: int) -> dict[str, str]:
    """``count`` small text files in nested folders, each with words of its own."""
    files = {}
    for index in range(count):
        folder = ("guides", "reference/api", "reference", "faq/billing", "")[index % 5]
        name = f"{folder}/note-{index:03d}.md".lstrip("/")
        files[name] = (
            f"# Note {index}\nThis note number {index} explains topic-{index} in plain words. "
            f"Its keyword is marker{index:03d}.\n"
        )
    return files
