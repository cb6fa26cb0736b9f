"""A sync cut short at any point converges when run again: nothing duplicated, nothing lost."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import Run, Wire, corpus, write_files
from test_sync import HASH_KEY, PATH_KEY, by_path, counts, sync, unique

from ragflow_integrations import RAGFlow
from ragflow_integrations.cli import ExitCode
from ragflow_integrations.cli import apply as apply_module
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live


def assert_converged(client: RAGFlow, dataset: str, files: dict[str, str]) -> None:
    """One parsed copy per file, recording the file's path and hash; nothing else."""
    stored = by_path(client, dataset)
    assert sorted(stored) == sorted(files), sorted(set(stored) ^ set(files))
    for path, copies in stored.items():
        assert len(copies) == 1, (path, [c.id for c in copies])
        meta = copies[0].meta_fields
        assert meta[HASH_KEY] == hashlib.sha256(files[path].encode()).hexdigest()
        assert copies[0].run == "DONE"


def on_call(name: str, number: int, act: Callable[[], Any]) -> pytest.MonkeyPatch:
    """Run ``act`` just before the ``number``-th call of ``apply_module.<name>`` (until the
    returned patch is undone)."""
    monkeypatch = pytest.MonkeyPatch()
    real = getattr(apply_module, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == number:
            act()
        return real(*args, **kwargs)

    monkeypatch.setattr(apply_module, name, wrapper)
    return monkeypatch


def test_uploads_whose_metadata_write_failed_are_adopted_not_duplicated(
    cli: Run, client: RAGFlow, server: LocalRAGFlowServer, tmp_path: Path, wire: Wire
) -> None:
    files = corpus(40)  # two upload requests: 32 + 8 files
    write_files(tmp_path, files)
    dataset = unique("meta-lost")
    # every attempt of the first metadata write fails: that batch is stored without metadata
    # (v0.27: the batch metadata update; v0.22: one document update per file)
    if server.emulate == "0.27":
        server.inject_fault("/datasets/*/metadata/update", method="POST", status=500, times=3)
    else:
        server.inject_fault("/datasets/*/documents/*", method="PUT", status=500, times=3)

    code, out, _ = sync(cli, tmp_path, dataset, "--create")

    assert code == ExitCode.FAILED
    assert counts(out)["failed"] == 32 and counts(out)["added"] == 8
    unrecorded = by_path(client, dataset)[""]
    assert len(unrecorded) == 32  # stored, but without path and hash
    wire.clear()

    code, out, err = sync(cli, tmp_path, dataset)

    assert code == ExitCode.OK, out + err
    assert counts(out) == {"added": 32, "replaced": 0, "deleted": 0, "unchanged": 8, "failed": 0}
    assert wire.count("POST", "/documents") == 0  # adopted (bytes compared), not uploaded again
    assert_converged(client, dataset, files)
    assert {d.id for d in unrecorded} <= {
        d.id for d in client.get_dataset(name=dataset).iter_documents()
    }


def test_a_dropped_upload_connection_is_reported_and_the_rerun_uploads_the_rest(
    cli: Run,
    client: RAGFlow,
    server: LocalRAGFlowServer,
    tmp_path: Path,
) -> None:
    files = corpus(70)  # three upload requests
    write_files(tmp_path, files)
    dataset = unique("dropped")
    patch = on_call(
        "ingest_documents",
        2,
        lambda: server.inject_fault(
            "/datasets/*/documents", method="POST", drop_connection=True, times=1
        ),
    )

    code, out, _ = sync(cli, tmp_path, dataset, "--create")

    assert code == ExitCode.FAILED
    assert counts(out)["failed"] == 32 and counts(out)["added"] == 38
    assert "upload failed" in out
    patch.undo()

    code, out, err = sync(cli, tmp_path, dataset)

    assert code == ExitCode.OK, out + err
    assert counts(out)["added"] == 32 and counts(out)["unchanged"] == 38
    assert_converged(client, dataset, files)


@pytest.mark.parametrize("where", ["ingest_documents", "wait_for_parsing"])
def test_ctrl_c_mid_sync_exits_130_and_the_rerun_converges(
    cli: Run,
    client: RAGFlow,
    tmp_path: Path,
    where: str,
) -> None:
    files = corpus(40)
    write_files(tmp_path, files)
    dataset = unique("ctrl-c")

    def interrupt() -> None:
        raise KeyboardInterrupt

    patch = on_call(where, 2 if where == "ingest_documents" else 1, interrupt)

    code, _, err = sync(cli, tmp_path, dataset, "--create")

    assert code == ExitCode.INTERRUPTED
    assert "interrupted" in err and "Traceback" not in err
    patch.undo()

    code, out, err = sync(cli, tmp_path, dataset)

    assert code == ExitCode.OK, out + err
    assert counts(out)["failed"] == 0
    assert_converged(client, dataset, files)


def test_old_copies_left_by_a_failed_delete_are_removed_by_the_rerun(
    cli: Run, client: RAGFlow, server: LocalRAGFlowServer, tmp_path: Path, wire: Wire
) -> None:
    files = corpus(6)
    write_files(tmp_path, files)
    dataset = unique("delete-lost")
    assert sync(cli, tmp_path, dataset, "--create")[0] == ExitCode.OK
    edits = {"guides/note-000.md": "Edited once.", "reference/note-002.md": "Edited too."}
    write_files(tmp_path, edits)
    files.update(edits)
    server.inject_fault("/datasets/*/documents", method="DELETE", status=500, times=3)

    code, out, _ = sync(cli, tmp_path, dataset)

    assert code == ExitCode.FAILED
    assert "could not delete the old copies" in out
    stored = by_path(client, dataset)
    assert [len(stored[path]) for path in edits] == [2, 2]  # new and old: nothing lost
    wire.clear()

    code, out, err = sync(cli, tmp_path, dataset)

    assert code == ExitCode.OK, out + err
    assert counts(out) == {"added": 0, "replaced": 2, "deleted": 0, "unchanged": 4, "failed": 0}
    assert wire.count("POST", "/documents") == 0
    assert_converged(client, dataset, files)


def test_several_copies_of_one_path_keep_the_newest_complete_one(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    current = "The current text of the page."
    write_files(tmp_path, {"page.md": current})
    dataset_name = unique("copies")
    dataset = client.create_dataset(name=dataset_name)
    digest = hashlib.sha256(current.encode()).hexdigest()
    copies = []
    for content, meta in [
        ("An older text.", {PATH_KEY: "page.md", HASH_KEY: "0" * 64}),
        (current, {PATH_KEY: "page.md", HASH_KEY: digest}),
        (current, {PATH_KEY: "page.md", HASH_KEY: digest}),
        (current, {PATH_KEY: "page.md"}),  # no hash: incomplete
    ]:
        [document] = dataset.upload_documents(
            [{"display_name": "page.md", "blob": content.encode(), "meta_fields": meta}]
        )
        copies.append(document)
    dataset.parse_documents([d.id for d in copies[:3]], timeout=30, poll_interval=0.05)

    code, out, err = sync(cli, tmp_path, dataset_name)

    assert code == ExitCode.OK, out + err
    assert counts(out)["replaced"] == 1
    [kept] = by_path(client, dataset_name)["page.md"]
    assert kept.id == copies[2].id  # the newest parsed copy with the file's hash
