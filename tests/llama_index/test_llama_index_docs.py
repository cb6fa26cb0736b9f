"""The Python snippets of docs/llama_index.md run, in order, against a local server (loopback)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "llama_index.md"


def _snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_doc_has_a_snippet_per_component() -> None:
    text = "\n".join(_snippets())
    for name in (
        "RAGFlowIndex",
        "RAGFlowRetriever",
        "RAGFlowReader",
        "RAGFlowLLM",
        "RAGFlowChatEngine",
        "RAGFlowToolSpec",
        "RAGFlowMemoryBlock",
    ):
        assert f"import {name}" in text or f", {name}" in text, name


@pytest.mark.live
@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")  # the agent workflow's own
def test_doc_snippets_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {}
    try:
        for number, snippet in enumerate(_snippets(), start=1):
            exec(compile(snippet, f"{DOC.name} snippet {number}", "exec"), namespace)
        documents_left = sorted(namespace["index"].ref_doc_info)
    finally:
        if "server" in namespace:
            namespace["server"].stop()
    out = capsys.readouterr().out
    assert "falcon.txt" in out  # the query engine's first source
    assert "41 minutes" in out  # retriever hits, LLM answer, search tool output
    assert "<RAGFlowMemory>" in out and "User Input: Remember that my cat is called Pixel" in out
    assert namespace["flags"] == [False, False]
    assert documents_left == ["falcon", "pesto"]


def test_docs_say_that_ragflow_llm_retrieves_on_its_own() -> None:
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    readme = " ".join((DOC.parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "**runs its own retrieval again**" in doc
    assert "do not restrict what the assistant searches" in doc
    assert "`[ID:n]` citation markers in the answer number the assistant's references" in doc
    assert "With `RAGFlowLLM` the assistant answers from its own search of its datasets" in readme
