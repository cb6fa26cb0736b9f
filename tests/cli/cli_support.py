"""Helpers of the command-line tests (imported by the tests and by conftest.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


Run = Callable[..., Result]


def make_runner(monkeypatch: pytest.MonkeyPatch, target: LocalRAGFlowServer) -> Run:
    monkeypatch.setenv("RAGFLOW_BASE_URL", target.base_url)
    monkeypatch.setenv("RAGFLOW_API_KEY", target.api_key)

    def run(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main([str(a) for a in argv], stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run


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
