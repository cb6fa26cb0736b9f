"""The local server in a process of its own, so client figures never share a GIL with it.

``ServerProcess`` starts ``python -m benchmarks._server '<json kwargs>'``; the child builds a
:class:`LocalRAGFlowServer` with those keyword arguments, prints one JSON line with its base URL
and API key, then serves method calls sent as JSON lines on stdin (``inject_fault`` and friends)
until stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """A :class:`LocalRAGFlowServer` running in a child process."""

    def __init__(self, **server_kwargs: Any) -> None:
        self._kwargs = server_kwargs
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""

    def __enter__(self) -> ServerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server", json.dumps(self._kwargs)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=10)
            raise RuntimeError(f"the local server did not start (exit {self._process.returncode})")
        started = json.loads(line)
        self.base_url, self.api_key = started["base_url"], started["api_key"]
        return self

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` on the server object in the child and return its JSON-able result."""
        assert self._process is not None and self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps({"method": method, "args": args, "kwargs": kwargs}))
        self._process.stdin.write("\n")
        self._process.stdin.flush()
        reply = json.loads(self._process.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"server.{method} failed: {reply['error']}")
        return reply["result"]

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
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def _serve(kwargs: dict[str, Any]) -> None:
    from ragflow_integrations.testing import LocalRAGFlowServer

    with LocalRAGFlowServer(**kwargs) as server:
        print(json.dumps({"base_url": server.base_url, "api_key": server.api_key}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            try:
                result = getattr(server, request["method"])(*request["args"], **request["kwargs"])
                reply = {"result": _jsonable(result)}
            except Exception as error:  # reported to the parent, which raises
                reply = {"error": f"{type(error).__name__}: {error}"}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
