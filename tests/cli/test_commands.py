"""``search``, ``ask``, ``datasets`` and ``documents``; connection errors as one line and an exit
code; the installed program run as a real process."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import API_KEY, POLL, Result, Run, write_files
from test_sync import unique

from ragflow_integrations import RAGFlow
from ragflow_integrations.cli import ExitCode, main
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

PAGES = {
    "tea/green.md": "Green tea is brewed at about 80 degrees Celsius for two minutes.",
    "tea/black.md": "Black tea takes boiling water and steeps for four minutes.",
    "coffee.txt": "Cold brew coffee steeps in cold water for 12 to 24 hours.",
}


@pytest.fixture
def dataset(cli: Run, tmp_path: Path) -> str:
    write_files(tmp_path, dict(PAGES))
    name = unique("drinks")
    result = cli("sync", tmp_path, "--dataset", name, "--create", "--poll-interval", POLL)
    assert result.code == ExitCode.OK, result.out + result.err
    return name


def test_search_prints_score_document_and_passage(cli: Run, dataset: str) -> None:
    result = cli("search", "How long does cold brew steep?", "--dataset", dataset, "-k", "2")

    assert result.code == ExitCode.OK, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["score", "document", "passage"]
    score, document, *passage = lines[1].split()
    assert 0 < float(score) <= 1 and document == "coffee.txt"
    assert " ".join(passage).startswith("Cold brew coffee steeps")
    assert len(lines) <= 4 and lines[-1].endswith("matching chunk(s)")


def test_search_json_and_threshold(cli: Run, client: RAGFlow, dataset: str) -> None:
    result = cli("search", "green tea", "--dataset", dataset, "-k", "3", "--json")
    found = json.loads(result.out)
    assert result.code == ExitCode.OK
    assert found["chunks"][0]["document_name"] == "green.md"
    assert found["datasets"] == [{"id": client.get_dataset(name=dataset).id, "name": dataset}]
    scores = [chunk["similarity"] for chunk in found["chunks"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 3

    by_id = cli("search", "green tea", "--dataset", found["datasets"][0]["id"], "--json")
    assert json.loads(by_id.out)["chunks"] == found["chunks"]

    nothing = cli("search", "green tea", "--dataset", dataset, "--threshold", "1")
    assert nothing.code == ExitCode.OK and "no chunk scores 1 or more" in nothing.out

    bad = cli("search", "tea", "--dataset", dataset, "--threshold", "2")
    assert bad.code == ExitCode.USAGE and "between 0 and 1" in bad.err


@pytest.mark.parametrize("stream", [False, True])
def test_ask_prints_the_answer_and_the_cited_documents(
    cli: Run, client: RAGFlow, dataset: str, stream: bool
) -> None:
    chat = client.create_chat(
        unique("assistant"), dataset_ids=[client.get_dataset(name=dataset).id]
    )
    argv = ["ask", "How long does cold brew steep?", "--chat", chat.name]

    result = cli(*argv, *(["--stream"] if stream else []))

    assert result.code == ExitCode.OK, result.err
    answer, _, sources = result.out.partition("\n\n")
    assert "12 to 24 hours" in answer
    if not stream:  # RAGFlow v0.24+ streams the model's text; whole answers carry the markers
        assert "[ID:0]" in answer
    assert sources.splitlines()[0].split() == ["cite", "document", "passage"]
    assert sources.splitlines()[1].split()[:2] == ["[ID:0]", "coffee.txt"]

    as_json = json.loads(
        cli("ask", "How long does cold brew steep?", "--chat", chat.id, "--json").out
    )
    assert "12 to 24 hours" in as_json["answer"]
    assert as_json["sources"][0]["document_name"] == "coffee.txt" and as_json["sources"][0]["cited"]
    assert client.get_chat(chat.id).list_sessions() == []  # asking keeps no session


def test_datasets_and_documents_list_counts_and_parse_status(
    cli: Run, client: RAGFlow, dataset: str
) -> None:
    listed = cli("datasets")
    assert listed.code == ExitCode.OK
    [row] = [line.split() for line in listed.out.splitlines() if line.startswith(dataset + " ")]
    assert row[1:3] == ["3", "3"]  # documents, chunks

    rows = json.loads(cli("datasets", "--json").out)
    mine = next(d for d in rows if d["name"] == dataset)
    assert mine["document_count"] == 3 and mine["id"] == client.get_dataset(name=dataset).id

    documents = cli("documents", "--dataset", dataset)
    assert documents.code == ExitCode.OK
    assert documents.out.splitlines()[-1] == f"3 document(s) in '{dataset}': 3 DONE"
    green = next(line.split() for line in documents.out.splitlines() if line.startswith("green"))
    assert green[1] == "DONE" and green[-1] == "tea/green.md"

    as_json = json.loads(cli("documents", "--dataset", dataset, "--json").out)
    assert sorted(d["meta_fields"]["ragflow_source_path"] for d in as_json) == sorted(PAGES)

    missing = cli("documents", "--dataset", unique("missing"))
    assert missing.code == ExitCode.NOT_FOUND and missing.err.count("\n") == 1


def one_line_error(result: Result) -> str:
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith("ragflow-integrations: error: ")
    assert "Traceback" not in result.err
    return result.err


def test_a_wrong_key_is_one_line_and_exit_code_3(
    monkeypatch: pytest.MonkeyPatch, server: LocalRAGFlowServer
) -> None:
    wrong = "ragflow-wrong-key-0a1b2c3d4e"
    monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
    monkeypatch.setenv("RAGFLOW_API_KEY", wrong)
    for argv in (
        ["datasets"],
        ["search", "tea", "--dataset", "d"],
        ["sync", ".", "--dataset", "d"],
    ):
        out, err = __import__("io").StringIO(), __import__("io").StringIO()
        code = main(argv, stdout=out, stderr=err)
        line = one_line_error(Result(code, out.getvalue(), err.getvalue()))
        assert code == ExitCode.CONNECTION
        assert "rejected the API key" in line and wrong not in line


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_main(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


def test_a_server_that_is_down_is_one_line_and_exit_code_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAGFLOW_BASE_URL", raising=False)
    monkeypatch.setenv("RAGFLOW_API_KEY", API_KEY)
    url = f"http://127.0.0.1:{closed_port()}"

    result = run_main("--base-url", url, "datasets")

    line = one_line_error(result)
    assert result.code == ExitCode.CONNECTION
    assert f"cannot reach RAGFlow at {url} (connection refused" in line
    assert API_KEY not in line


def test_debug_shows_the_traceback_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGFLOW_API_KEY", raising=False)
    url = f"http://127.0.0.1:{closed_port()}"

    result = run_main("datasets", "--base-url", url, "--api-key", API_KEY, "--debug")

    assert result.code == ExitCode.CONNECTION
    assert "Traceback (most recent call last)" in result.err
    assert "debug: " in result.err  # the request log
    assert API_KEY not in result.err and API_KEY not in result.out
    assert result.err.splitlines()[-1].startswith("ragflow-integrations: error: cannot reach")


def test_no_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGFLOW_API_KEY", raising=False)
    result = run_main("datasets")
    assert result.code == ExitCode.USAGE and "no API key: set RAGFLOW_API_KEY" in result.err


def test_version_help_and_unknown_commands() -> None:
    assert run_main("--version").out.startswith("ragflow-integrations ")
    helped = run_main("--help")
    assert helped.code == 0 and "exit codes: 0 success, 1 some files failed" in helped.out
    assert run_main("frobnicate").code == ExitCode.USAGE


def test_the_installed_program_runs_as_a_process(
    server27: LocalRAGFlowServer, tmp_path: Path
) -> None:
    write_files(tmp_path / "docs", {"a.md": "Alpha page.", "sub/b.md": "Beta page."})
    env = {**os.environ, "RAGFLOW_BASE_URL": server27.base_url, "RAGFLOW_API_KEY": API_KEY}
    program = Path(sys.executable).parent / "ragflow-integrations"
    dataset = unique("process")

    first = subprocess.run(
        [program, "sync", "docs", "--dataset", dataset, "--create", "--poll-interval", POLL],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "ragflow_integrations",
            "sync",
            "docs",
            "--dataset",
            dataset,
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    down = subprocess.run(
        [program, "datasets", "--base-url", f"http://127.0.0.1:{closed_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert first.returncode == 0, first.stdout + first.stderr
    assert "added          2  a.md, sub/b.md" in first.stdout
    assert again.returncode == 0 and json.loads(again.stdout)["counts"]["unchanged"] == 2
    assert down.returncode == ExitCode.CONNECTION and down.stdout == ""
    assert down.stderr.count("\n") == 1 and API_KEY not in down.stderr


def test_importing_the_package_does_not_import_the_command_line() -> None:
    code = "import sys, ragflow_integrations; print('ragflow_integrations.cli' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_local_server_prints_export_lines_that_work_when_pasted() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "ragflow_integrations.testing", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            lines.append(server.stdout.readline())
            assert lines[-1], "the server stopped: " + "".join(lines)
        exports = [line for line in lines if line.startswith("export RAGFLOW_")]
        assert [line.split("=")[0] for line in exports] == [
            "export RAGFLOW_BASE_URL",
            "export RAGFLOW_API_KEY",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGFLOW_")}
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        pasted = subprocess.run(
            ["bash", "-c", "".join(exports) + "ragflow-integrations datasets"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert pasted.returncode == 0, pasted.stderr
        assert pasted.stdout.splitlines()[-1] == "0 dataset(s)"
    finally:
        server.terminate()
        server.wait(timeout=30)
