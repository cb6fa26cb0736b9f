"""The official ``ragflow-sdk`` in its own virtualenv (``.venv-sdk``), driven from a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._child import ChildExited, JsonLineChild

ROOT = Path(__file__).resolve().parent.parent
SDK_VENV = ROOT / ".venv-sdk"
# The newest ragflow-sdk that installs on Python 3.11 (0.23+ needs Python 3.12 or later).
SDK_REQUIREMENT = "ragflow-sdk==0.22.1"
_WORKER = Path(__file__).resolve().parent / "sdk_worker.py"


class SdkUnavailable(Exception):
    """The official SDK could not be installed or started; the message says why."""


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _has_sdk(python: Path) -> bool:
    probe = subprocess.run([str(python), "-c", "import ragflow_sdk"], capture_output=True)
    return probe.returncode == 0


_failures: dict[Path, SdkUnavailable] = {}


def ensure_sdk(venv: Path = SDK_VENV) -> Path:
    """The interpreter of a virtualenv holding the SDK, creating it when missing (a failure is
    remembered for the rest of the run, so it is tried once)."""
    if venv in _failures:
        raise _failures[venv]
    try:
        return _install(venv)
    except SdkUnavailable as error:
        _failures[venv] = error
        raise


def _install(venv: Path) -> Path:
    python = _python(venv)
    if python.exists() and _has_sdk(python):
        return python
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "15",
            "--retries",
            "1",
            SDK_REQUIREMENT,
        ],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SdkUnavailable(f"not installable: {error}") from error
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise SdkUnavailable(f"not installable: {lines[-1] if lines else 'pip failed'}")
    if not _has_sdk(python):
        raise SdkUnavailable("not installable: ragflow_sdk does not import after installing")
    return python


class SdkWorker:
    """A running ``sdk_worker.py`` connected to a server; ``request`` sends one operation."""

    def __init__(self, base_url: str, api_key: str, ca_bundle: str | None = None) -> None:
        self._python = ensure_sdk()
        self._base_url, self._api_key, self._ca_bundle = base_url, api_key, ca_bundle
        self._child: JsonLineChild | None = None
        self.version = ""

    def __enter__(self) -> SdkWorker:
        env = dict(os.environ)
        if self._ca_bundle:
            env["REQUESTS_CA_BUNDLE"] = self._ca_bundle
        self._child = JsonLineChild([str(self._python), str(_WORKER)], env=env)
        connected = self.request("connect", base_url=self._base_url, api_key=self._api_key)
        self.version = str(connected["version"])
        return self

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self._child is not None
        try:
            reply = self._child.ask({"op": op, **fields})
        except ChildExited as error:
            raise SdkUnavailable(f"the SDK worker stopped: {error}") from error
        if "error" in reply:
            raise SdkUnavailable(f"SDK call failed: {reply['error']}")
        return reply

    def __exit__(self, *exc_info: object) -> None:
        if self._child is not None:
            self._child.close()
