"""The memories snippet of docs/client.md runs as written against a local server (loopback)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragflow_integrations.testing import LocalRAGFlowServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


@pytest.mark.live
def test_memories_snippet_runs_and_prints_what_its_comments_say(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    section = DOC.read_text(encoding="utf-8").split("## Memories", 1)[1].split("\n## ", 1)[0]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, re.S)
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        exec(compile(snippet, "docs/client.md memories snippet", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\d+ User Input: How do I reset my password\?", lines[0])
    assert lines[2:] == [
        "['User Input: And refunds?', 'User Input: How do I reset my password?']",
        "True",
    ]
    assert lines[1] == "Agent Response: Click Reset password."
