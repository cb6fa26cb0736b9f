"""Shared fixtures: cassette configuration and the server every cassette test talks to.

Cassette tests (``@pytest.mark.vcr``) take a base URL and API key from ``ragflow_server``:

* replay (``--record-mode=none``, what ``make test`` and CI use): no server is started; the base
  URL is ``http://ragflow.test:9380`` (a host that cannot resolve, so an escaped request fails
  loudly) and the recorded interactions answer. A missing cassette or an unrecorded request fails.
* recording (``make record``): a fresh :class:`LocalRAGFlowServer` per test, or a live RAGFlow when
  ``RAGFLOW_RECORD_BASE_URL`` and ``RAGFLOW_RECORD_API_KEY`` are set. Each cassette written gets a
  first line saying which server it was recorded against; the Authorization header is redacted and
  the key is scrubbed from every body.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests check behaviour, not speed: on a busy machine (CI's 2 cores, parallel work)
# input generation can be slow, which must not fail a run.
settings.register_profile("ragflow", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ragflow")

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
REPLAY_BASE_URL = "http://ragflow.test:9380"
REPLAY_API_KEY = "replay-api-key"
RECORD_API_KEY = "recording-api-key-0001"
_SESSION_START = time.time()
_RECORDED_AGAINST: set[str] = set()
_CASSETTE_SERVER: dict[Path, str] = {}
"""The server each cassette of this session was recorded against (its test's ``ragflow_server``)."""


@dataclass(frozen=True)
class ServerInfo:
    base_url: str
    api_key: str
    recording: bool
    description: str


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "REDACTED")
    return text


def _secrets() -> list[str]:
    return [RECORD_API_KEY, os.environ.get("RAGFLOW_RECORD_API_KEY", "")]


def _scrub_request(request: Any) -> Any:
    body = request.body
    if isinstance(body, bytes):
        with contextlib.suppress(UnicodeDecodeError):
            request.body = _scrub(body.decode("utf-8"), _secrets()).encode("utf-8")
    elif isinstance(body, str):
        request.body = _scrub(body, _secrets())
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in {"set-cookie", "date"}:
            headers.pop(name)
    body = response.get("body", {})
    raw = body.get("string") if isinstance(body, dict) else None
    if isinstance(raw, bytes):
        with contextlib.suppress(UnicodeDecodeError):
            body["string"] = _scrub(raw.decode("utf-8"), _secrets()).encode("utf-8")
    elif isinstance(raw, str):
        body["string"] = _scrub(raw, _secrets())
    return response


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [("authorization", "REDACTED"), ("cookie", "REDACTED")],
        "match_on": ["method", "path", "query"],
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
    }


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    module = request.node.module.__name__.rsplit(".", 1)[-1]
    return str(CASSETTES / module.removeprefix("test_"))


@pytest.fixture
def ragflow_server(
    record_mode: str,
    request: pytest.FixtureRequest,
    vcr_cassette_dir: str,
    default_cassette_name: str,
) -> Iterator[ServerInfo]:
    """Where a cassette test sends its requests (see the module docstring).

    ``@pytest.mark.emulate("0.22")`` records against the local server in its old-server mode.
    """
    if record_mode == "none":
        yield ServerInfo(REPLAY_BASE_URL, REPLAY_API_KEY, recording=False, description="replay")
        return
    cassette = Path(vcr_cassette_dir) / f"{default_cassette_name}.yaml"
    live_url = os.environ.get("RAGFLOW_RECORD_BASE_URL")
    if live_url:
        key = os.environ["RAGFLOW_RECORD_API_KEY"]
        description = f"live RAGFlow at {live_url}"
        _RECORDED_AGAINST.add(description)
        _CASSETTE_SERVER[cassette] = description
        yield ServerInfo(live_url, key, recording=True, description=description)
        return
    from ragflow_integrations.testing import LocalRAGFlowServer

    marker = request.node.get_closest_marker("emulate")
    emulate = str(marker.args[0]) if marker else os.environ.get("RAGFLOW_RECORD_EMULATE", "0.27")
    with LocalRAGFlowServer(api_key=RECORD_API_KEY, emulate=emulate) as server:
        description = server.description
        _RECORDED_AGAINST.add(description)
        _CASSETTE_SERVER[cassette] = description
        yield ServerInfo(server.base_url, server.api_key, recording=True, description=description)


@pytest.fixture
def poll_interval(ragflow_server: ServerInfo) -> float:
    """Parsing poll interval: short when recording, zero-cost when replaying."""
    return 0.05 if ragflow_server.recording else 0.0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stamp every cassette written in this session with the server it was recorded against
    (its test's server; the servers of the whole session for a cassette no test claimed)."""
    if not _RECORDED_AGAINST or not CASSETTES.exists():
        return
    session_wide = "; ".join(sorted(_RECORDED_AGAINST))
    for path in CASSETTES.rglob("*.yaml"):
        if path.stat().st_mtime < _SESSION_START:
            continue
        header = f"# recorded against: {_CASSETTE_SERVER.get(path, session_wide)}\n"
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        if lines and lines[0].startswith("# recorded against:"):
            lines = lines[1:]
        path.write_text(header + "".join(lines), encoding="utf-8")
