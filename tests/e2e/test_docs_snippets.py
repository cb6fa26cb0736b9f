"""docs/client.md and docs/local-server.md: every ```python snippet runs as written, in order,
against a local server (README.md, docs/langchain.md and docs/llama_index.md have their own)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(name: str, language: str = "python") -> list[str]:
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def _run(name: str, blocks: list[str], namespace: dict[str, Any]) -> None:
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{name} snippet {number}", "exec"), namespace)


def test_client_doc_snippets_run_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _blocks("client.md")
    assert len(blocks) == 5
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
        # the placeholders the first snippet spells out
        blocks[0] = blocks[0].replace('"ragflow-..."', repr(server.api_key))
        blocks[0] = blocks[0].replace('"http://localhost:9380"', repr(server.base_url))
        namespace: dict[str, Any] = {"__name__": "client_doc"}
        try:
            _run("client.md", blocks, namespace)
        finally:
            if "rag" in namespace:
                namespace["rag"].close()
    out = capsys.readouterr().out
    assert "a.txt DONE" in out  # the async snippet listed the document
    assert "RAGFlow is" in out  # answers quote the uploaded text
    assert namespace["answer"].content
    assert "{'ann': 1, 'bob': 1}" in out and namespace["graph"].done  # models, metadata, indexes
    # the memories snippet: a search hit, the recent turns, a forgotten message
    assert "['User Input: And refunds?', 'User Input: How do I reset my password?']\nTrue\n" in out


def test_local_server_doc_snippets_run_in_order() -> None:
    blocks = _blocks("local-server.md")
    assert len(blocks) == 3
    namespace: dict[str, Any] = {"__name__": "local_server_doc"}
    _run("local-server.md", blocks[:2], namespace)  # the server example, then the fixture's
    assert namespace["dataset"].name == "manuals"
    assert namespace["server"].data_dir is None  # stopped and cleaned up by `with`
    with LocalRAGFlowServer() as server:
        namespace["test_my_pipeline"](server)  # the example test, given the fixture's server
        namespace["server"] = server  # the fault-injection snippet talks about a running server
        _run("local-server.md", blocks[2:], namespace)
    for block in _blocks("local-server.md", "json"):  # the documented agent canvas
        components = json.loads(block)["components"]
        assert components["Retrieval:0"]["obj"]["params"]["kb_ids"] == ["<dataset id>"]
