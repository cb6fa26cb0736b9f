"""``ragflow_integrations.llama_index`` imports and works with LangChain absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class BlockLangChain(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"langchain", "langchain_core", "langchain_community"}:
                raise ModuleNotFoundError(f"blocked for this test: {name}")
            return None

    sys.meta_path.insert(0, BlockLangChain())
    for name in list(sys.modules):
        if name.split(".")[0] in {"langchain", "langchain_core", "langchain_community"}:
            del sys.modules[name]
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_without_langchain() -> None:
    result = _run(
        """
        import sys
        import ragflow_integrations.llama_index as li
        from ragflow_integrations.llama_index import (
            RAGFlowChatEngine, RAGFlowIndex, RAGFlowLLM, RAGFlowMemoryBlock, RAGFlowReader,
            RAGFlowRetriever, RAGFlowToolSpec,
        )
        retriever = RAGFlowRetriever(["ds"], api_key="k", base_url="http://127.0.0.1:1")
        tools = RAGFlowToolSpec(["ds"], api_key="k", base_url="http://127.0.0.1:1").to_tool_list()
        leaked = sorted(m for m in sys.modules if m.split(".")[0].startswith("langchain"))
        print("OK", len(li.__all__), len(tools), leaked)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK 7 2 []"


def test_blocker_really_blocks() -> None:
    result = _run("import langchain_core")
    assert result.returncode != 0
    assert "blocked for this test: langchain_core" in result.stderr
