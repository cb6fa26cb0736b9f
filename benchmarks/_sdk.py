"""The official ``ragflow-sdk`` in its own virtualenv (``.venv-sdk``), driven from a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

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


def ensure_sdk(venv: Path = SDK_VENV) -> Path:
    """The interpreter of a virtualenv holding the SDK, creating it when missing."""
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
        self._process: subprocess.Popen[str] | None = None
        self.version = ""

    def __enter__(self) -> SdkWorker:
        env = dict(os.environ)
        if self._ca_bundle:
            env["REQUESTS_CA_BUNDLE"] = self._ca_bundle
        self._process = subprocess.Popen(
            [str(self._python), str(_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.version = str(
            self.request("connect", base_url=self._base_url, api_key=self._api_key)["version"]
        )
        return self

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdin and process.stdout
        process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise SdkUnavailable(f"the SDK worker exited (code {process.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise SdkUnavailable(f"SDK call failed: {reply['error']}")
        return reply

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
