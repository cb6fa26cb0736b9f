"""The local server in a process of its own, so client figures never share a GIL with it.

``ServerProcess`` starts ``python -m benchmarks._server '<json kwargs>'``; the child builds a
:class:`LocalRAGFlowServer` with those keyword arguments, prints one JSON line with its base URL
and API key, then serves method calls sent as JSON lines on stdin (``inject_fault`` and friends)
until stdin closes; the method name ``process_time`` answers the child's CPU seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._child import ChildExited, JsonLineChild

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """A :class:`LocalRAGFlowServer` running in a child process."""

    def __init__(self, **server_kwargs: Any) -> None:
        self._kwargs = server_kwargs
        self._child: JsonLineChild | None = None
        self.base_url = ""
        self.api_key = ""

    def __enter__(self) -> ServerProcess:
        argv = [sys.executable, "-m", "benchmarks._server", json.dumps(self._kwargs)]
        self._child = JsonLineChild(argv, cwd=ROOT)
        try:
            started = self._child.read()
        except ChildExited as error:
            self._child.close()
            raise RuntimeError(f"the local server did not start: {error}") from error
        self.base_url, self.api_key = started["base_url"], started["api_key"]
        return self

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` on the server object in the child and return its JSON-able result."""
        assert self._child is not None
        reply = self._child.ask({"method": method, "args": args, "kwargs": kwargs})
        if "error" in reply:
            raise RuntimeError(f"server.{method} failed: {reply['error']}")
        return reply["result"]

    def cpu_seconds(self) -> float:
        """CPU seconds the server process has used so far (all its threads)."""
        return float(self.call("process_time"))

    def __exit__(self, *exc_info: object) -> None:
        if self._child is not None:
            self._child.close()


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
                if request["method"] == "process_time":
                    result = time.process_time()
                else:
                    method = getattr(server, request["method"])
                    result = method(*request["args"], **request["kwargs"])
                reply = {"result": _jsonable(result)}
            except Exception as error:  # reported to the parent, which raises
                reply = {"error": f"{type(error).__name__}: {error}"}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
