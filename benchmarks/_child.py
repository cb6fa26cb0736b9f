"""A child process spoken to in JSON lines (one request line in, one reply line out)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


class JsonLineChild:
    """Starts ``argv``; ``read`` takes one JSON line, ``ask`` sends one and reads the reply."""

    def __init__(
        self, argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self._process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise ChildExited(f"{self._process.args!r} exited (code {self._process.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return self.read()

    def close(self, timeout: float = 20.0) -> None:
        """Close stdin (the child's signal to finish), wait, and kill it if it hangs."""
        process = self._process
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


class ChildExited(RuntimeError):
    """The child closed its output before replying."""
