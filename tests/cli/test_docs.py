"""docs/cli.md: every bash snippet runs as written, in order, against the local server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_bash_snippet_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks
    with LocalRAGFlowServer() as server:
        env = {
            **os.environ,
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "RAGFLOW_BASE_URL": server.base_url,
            "RAGFLOW_API_KEY": server.api_key,
        }
        for block in blocks:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, block + done.stdout + done.stderr
    summary = json.loads((tmp_path / "sync.json").read_text(encoding="utf-8"))
    assert summary["ok"] and [f["path"] for f in summary["files"]] == ["guides/install.md"]
    assert done.stdout.startswith("True 1\n")
    assert json.loads(done.stdout.split("\n", 1)[1])["chunks"][0]["document_name"] == "install.md"


def test_the_documented_exit_codes_are_the_program_s() -> None:
    from ragflow_integrations.cli import ExitCode

    table = re.findall(r"^\| (\d+) \| ", DOC.read_text(encoding="utf-8"), re.M)
    assert sorted(int(code) for code in table) == sorted(code.value for code in ExitCode)
