"""Every ```python block of README.md runs, in order, in one namespace, against a local server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from ragflow_integrations import RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(
    r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL
)


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    code: str


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(text.count("\n", 0, match.start()) + 2, match.group("lang"), match.group("body"))
        for match in FENCE.finditer(text)
    ]


def python_blocks() -> list[Block]:
    return [block for block in readme_blocks() if block.lang == "python"]


def test_readme_has_python_examples_for_every_component() -> None:
    code = "\n".join(block.code for block in python_blocks())
    for name in [
        "RAGFlow(",
        "AsyncRAGFlow(",
        "RAGFlowRetriever(",
        "ChatRAGFlow(",
        "RAGFlowSearchTool(",
        "RAGFlowToolkit(",
        "RAGFlowLoader(",
        "RAGFlowVectorStore(",
        "RetrieverQueryEngine",
        "RAGFlowLLM(",
        "RAGFlowIndex",
        "RAGFlowReader(",
        "LocalRAGFlowServer(",
    ]:
        assert name in code, f"README has no runnable example using {name}"


def test_every_fence_is_labelled() -> None:
    unlabelled = [block.line for block in readme_blocks() if not block.lang]
    assert unlabelled == [], f"README code fences without a language at lines {unlabelled}"


@pytest.mark.live
def test_readme_python_blocks_run_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks()
    assert len(blocks) >= 10
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
        namespace: dict[str, object] = {"__name__": "readme"}
        for block in blocks:
            compiled = compile(block.code, f"README.md:{block.line}", "exec")
            try:
                exec(compiled, namespace)
            except Exception:
                pytest.fail(
                    f"README.md python block at line {block.line} failed:\n"
                    + traceback.format_exc()
                )
        output = capsys.readouterr().out

        # The blocks created what they say, on the server the environment points at.
        with RAGFlow(api_key=server.api_key, base_url=server.base_url) as rag:
            names = sorted(dataset.name for dataset in rag.list_datasets())
            assert names == ["drinks", "llama-notes"]
            assert sorted(chat.name for chat in rag.list_chats()) == ["Barista", "Notes"]
    assert "tea.md" in output and "coffee.txt" in output
    assert "12 to 24 hours" in output  # the streamed chat answer
    assert "85 to 95 degrees" in output  # the managed index's query engine
    assert "not found:" in output  # the error-handling block took the NotFoundError branch
    assert "(no /system/version) auto" in output  # the v0.22 emulation block


@pytest.mark.live
def test_first_block_starts_a_local_server_when_no_server_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RAGFLOW_BASE_URL", "RAGFLOW_API_KEY"):
        monkeypatch.setenv(name, "")  # recorded, so the block's assignment is undone afterwards
        monkeypatch.delenv(name)
    first = python_blocks()[0]
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(first.code, f"README.md:{first.line}", "exec"), namespace)
    server = namespace["server"]
    assert isinstance(server, LocalRAGFlowServer)
    try:
        assert os.environ["RAGFLOW_BASE_URL"] == server.base_url
        assert os.environ["RAGFLOW_API_KEY"] == server.api_key
        assert RAGFlow().ping() is True
    finally:
        server.stop()


def test_relative_links_point_at_files_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?://|#)([^)#\s]+)", text)
    assert targets, "README links to no repository files"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert missing == [], f"README links to missing files: {missing}"


def section_blocks(title: str) -> list[Block]:
    """The fenced blocks of the README section headed ``## {title}``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    first, last = text.count("\n", 0, start), text.count("\n", 0, end if end > 0 else len(text))
    return [block for block in readme_blocks() if first < block.line <= last]


@pytest.mark.live
def test_command_line_section_runs_as_written(tmp_path: Path) -> None:
    blocks = [block for block in section_blocks("From the command line") if block.lang == "bash"]
    assert blocks, "the command-line section has no bash block"
    with LocalRAGFlowServer() as server:
        bin_dir = str(Path(sys.executable).parent)  # ragflow-integrations and python
        env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "RAGFLOW_BASE_URL": server.base_url,
            "RAGFLOW_API_KEY": server.api_key,
        }
        outputs = []
        for block in blocks:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.code],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"README.md:{block.line}\n{done.stdout}{done.stderr}"
            outputs.append(done.stdout)
    output = "".join(outputs)
    assert re.search(r"^added +2 +expenses.txt, policies/leave.md$", output, re.M), output
    assert re.search(r"^replaced +1 +expenses.txt$", output, re.M), output
    assert re.search(r"^0\.\d+ +leave.md +Everyone gets 30 days", output, re.M), output
    assert "policies/leave.md" in output  # the documents listing shows source paths
    assert (
        "10 days" in output.split("How fast")[-1] if "How fast" in output else "10 days" in output
    )
