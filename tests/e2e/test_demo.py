"""The one-command demo: every section runs, answers carry citations, nothing is left behind."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.tools import tool

from ragflow_integrations import RAGFlow
from ragflow_integrations.demo import sample_document_names
from ragflow_integrations.demo._report import Report
from ragflow_integrations.demo.agent import ScriptedToolCallingModel, run_tool_agent
from ragflow_integrations.demo.tour import main
from ragflow_integrations.testing import LocalRAGFlowServer

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = [
    "1. Ingest",
    "2. Search with the client",
    "3. LangChain: retriever | prompt | ChatRAGFlow",
    "4. LlamaIndex: RetrieverQueryEngine",
    "5. Streaming chat with citations",
    "6. Agent: a tool-calling loop with RAGFlowSearchTool",
    "7. Clean up",
]


def section(output: str, number: int) -> str:
    """The text of section ``number`` (up to the next numbered heading or the end)."""
    match = re.search(rf"^{number}\. .*?(?=^\d+\. |\Z)", output, re.MULTILINE | re.DOTALL)
    assert match, f"section {number} missing from the demo output:\n{output}"
    return match.group(0)


def run_demo(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--parse-delay", "0", *argv], out=out)
    return code, out.getvalue()


@pytest.fixture
def no_live_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo must use its embedded server, whatever the developer's shell exports."""
    monkeypatch.delenv("RAGFLOW_BASE_URL", raising=False)
    monkeypatch.delenv("RAGFLOW_API_KEY", raising=False)


@pytest.fixture(scope="module")
def default_run() -> tuple[int, str]:
    """One run of the demo with its defaults on the embedded server, shared by the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAGFLOW_BASE_URL", raising=False)
        patch.delenv("RAGFLOW_API_KEY", raising=False)
        return run_demo()


@pytest.mark.live
def test_demo_runs_every_section_on_the_embedded_server(default_run: tuple[int, str]) -> None:
    code, output = default_run

    assert code == 0, output
    headings = [line for line in output.splitlines() if re.match(r"^\d+\. ", line)]
    assert len(headings) == len(SECTIONS), headings
    assert all(h.startswith(s) for h, s in zip(headings, SECTIONS, strict=True)), headings
    assert "emulating RAGFlow v0.27.0" in output
    assert re.search(r"^Done in \d+\.\d s\.$", output, re.MULTILINE)

    ingest = section(output, 1)
    assert re.search(r"^  added +5 +coffee_brewing.txt, elements.csv, ", ingest, re.MULTILINE)
    assert "Run again over the unchanged folder: 5 unchanged, nothing uploaded" in ingest
    for name in sample_document_names():
        assert re.search(rf"^  {re.escape(name)}\s+\d+ B\s+[1-9]\d*\s+DONE$", ingest, re.MULTILINE)

    search = section(output, 2)
    assert re.search(r"^  0\.\d{3}\s+0\.\d{3}\s+[01]\.\d{3}\s+coffee_brewing\.txt ", search, re.M)


@pytest.mark.live
def test_demo_answers_carry_citations_and_the_agent_is_labelled_scripted(
    default_run: tuple[int, str],
) -> None:
    code, output = default_run
    assert code == 0, output

    chain = section(output, 3)
    assert "Venus" in chain and "[ID:0]" in chain
    assert re.search(r"^  \[ID:0\]\s+solar_system\.md\s+\S", chain, re.MULTILINE)

    query_engine = section(output, 4)
    assert "304 Not Modified" in query_engine
    assert re.search(r"^  0\.\d{3}\s+http_caching\.html\s+\S", query_engine, re.MULTILINE)

    streamed = section(output, 5)
    answer = streamed.split("Answer (streamed as it arrives):", 1)[1].split("Sources", 1)[0]
    assert "12 to 24 hours" in answer
    # v0.27 streams the model's text as it is (citations are added to whole answers only)
    assert "final_content" not in streamed
    assert re.search(r"^\s+coffee_brewing\.txt\s+\S", streamed, re.MULTILINE)

    agent = section(output, 6)
    assert "SCRIPTED (no LLM runs offline)" in agent
    assert "Tool call: ragflow_search({'query': 'Who discovered oxygen?'})" in agent
    assert "Scheele" in agent.split("Answer:", 1)[1]
    assert "[1: elements.csv]" in agent


@pytest.mark.live
@pytest.mark.usefixtures("no_live_server")
def test_demo_runs_against_an_emulated_v0_22_server() -> None:
    code, output = run_demo("--emulate", "0.22")

    assert code == 0, output
    assert "emulating RAGFlow v0.22.1" in output
    assert "(stream form detected per stream)" in output
    streamed = section(output, 5)
    # v0.22's last event rewrites the answer with citation markers: shown as final_content
    rewritten = streamed.split("(final_content):", 1)[1].split("Sources", 1)[0]
    assert "12 to 24 hours. [ID:0]" in " ".join(rewritten.split())
    assert re.search(r"^  \[ID:0\]\s+coffee_brewing\.txt\s+\S", streamed, re.M)


@pytest.mark.live
def test_demo_uses_the_server_from_the_environment_and_deletes_what_it_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
        code, output = run_demo()

        assert code == 0, output
        assert f"RAGFlow at {server.base_url} (from RAGFLOW_BASE_URL)" in output
        assert "deleted dataset" in output and "deleted chat assistant" in output
        with RAGFlow(api_key=server.api_key, base_url=server.base_url) as rag:
            assert rag.list_datasets() == []
            assert rag.list_chats() == []


@pytest.mark.live
def test_demo_keep_leaves_the_dataset_on_a_live_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
        code, output = run_demo("--keep")

        assert code == 0, output
        with RAGFlow(api_key=server.api_key, base_url=server.base_url) as rag:
            [dataset] = rag.list_datasets()
            assert dataset.name.startswith("ragflow-integrations-demo-")
            assert sorted(d.name for d in dataset.list_documents()) == sample_document_names()


@pytest.mark.live
def test_python_dash_m_demo_exits_zero() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "ragflow_integrations.demo", "--parse-delay", "0.05"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "7. Clean up what the demo created" in completed.stdout
    assert "Parsing: 100%" in completed.stderr  # the client's tqdm bar


@pytest.mark.live
def test_demo_reports_a_rejected_api_key_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", "ragflow-not-the-right-key")
        code, output = run_demo()

    assert code == 1
    assert "The demo failed: AuthenticationError" in output
    assert "ragflow-not-the-right-key" not in output
    assert "deleted dataset" not in output  # nothing was created, so nothing is deleted


def scripted_answer(tool_output: str, question: str = "Who discovered oxygen?") -> str:
    @tool
    def search(query: str) -> str:
        """Return the canned output."""
        return tool_output

    trace = run_tool_agent(ScriptedToolCallingModel(tool_name="search"), [search], question)
    assert trace.tool_calls[0]["args"] == {"query": question}
    return trace.answer


def test_scripted_model_answers_with_the_best_line_of_the_first_passage() -> None:
    output = "[1] notes.md (chunk abc)\nNeon is a noble gas.\nOxygen was discovered by Scheele.\n\n"
    output += "[2] other.md (chunk def)\nOxygen is in the air."
    assert scripted_answer(output) == "Oxygen was discovered by Scheele. [1: notes.md]"


def test_scripted_model_quotes_unstructured_output_and_admits_an_empty_one() -> None:
    assert scripted_answer("plain text") == "According to the search tool: plain text"
    assert "found nothing" in scripted_answer("")


def test_scripted_model_refuses_to_bind_without_its_tool() -> None:
    @tool
    def other(query: str) -> str:
        """Another tool."""
        return query

    with pytest.raises(ValueError, match="'search' is not a bound tool"):
        ScriptedToolCallingModel(tool_name="search").bind_tools([other])


def test_streamed_text_wraps_at_words_without_trailing_spaces() -> None:
    out = io.StringIO()
    report = Report(out, width=20)
    with report.stream(indent="  ") as stream:
        for piece in ["alpha beta ", "gamma delta epsi", "lon zeta"]:
            stream.write(piece)
    assert out.getvalue().splitlines() == ["  alpha beta gamma", "  delta epsilon zeta"]
