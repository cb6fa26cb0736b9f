"""``sync`` against the local server in both modes: first run, re-runs, edits, deletes, dry runs,
names from real file systems and parse failures."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from cli_support import POLL, Run, Wire, corpus, write_files

from ragflow_integrations import Document, RAGFlow
from ragflow_integrations.cli import ExitCode

pytestmark = pytest.mark.live

PATH_KEY = "ragflow_source_path"
HASH_KEY = "ragflow_content_sha256"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def by_path(client: RAGFlow, dataset: str) -> dict[str, list[Document]]:
    found: dict[str, list[Document]] = defaultdict(list)
    for document in client.get_dataset(name=dataset).iter_documents():
        found[str(document.meta_fields.get(PATH_KEY, ""))].append(document)
    return dict(found)


def sync(cli: Run, folder: Path, dataset: str, *extra: str) -> tuple[int, str, str]:
    result = cli("sync", folder, "--dataset", dataset, "--poll-interval", POLL, *extra)
    return result.code, result.out, result.err


def counts(output: str) -> dict[str, int]:
    """The summary table's ``result  files`` column."""
    found = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in (
            "added",
            "replaced",
            "deleted",
            "unchanged",
            "failed",
        ):
            found[words[0]] = int(words[1])
    return found


def sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def test_first_sync_uploads_every_file_with_its_path_and_hash(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    files = corpus(50)
    write_files(tmp_path, files)
    dataset = unique("first")

    code, out, err = sync(cli, tmp_path, dataset, "--create")

    assert code == ExitCode.OK, out + err
    assert counts(out) == {"added": 50, "replaced": 0, "deleted": 0, "unchanged": 0, "failed": 0}
    stored = by_path(client, dataset)
    assert sorted(stored) == sorted(files)
    for path, copies in stored.items():
        [document] = copies
        assert document.meta_fields[HASH_KEY] == sha(files[path])
        assert document.run == "DONE" and document.chunk_count >= 1
        assert document.name == path.rsplit("/", 1)[-1] or "(" in document.name


def test_unchanged_rerun_uploads_nothing_in_a_few_requests(
    cli: Run, client: RAGFlow, tmp_path: Path, wire: Wire
) -> None:
    write_files(tmp_path, corpus(50))
    dataset = unique("rerun")
    assert sync(cli, tmp_path, dataset, "--create")[0] == ExitCode.OK
    before = {d.id for d in client.get_dataset(name=dataset).iter_documents()}
    wire.clear()

    code, out, err = sync(cli, tmp_path, dataset)

    assert code == ExitCode.OK, out + err
    assert counts(out)["unchanged"] == 50 and counts(out)["added"] == 0
    assert wire.writes == [], wire.writes
    # the version probe, the dataset by name, one page of documents
    assert len(wire.requests) <= 4, wire.requests
    assert wire.count("GET", "/documents") == 1
    assert {d.id for d in client.get_dataset(name=dataset).iter_documents()} == before


def test_an_edited_file_replaces_its_old_copy(
    cli: Run, client: RAGFlow, tmp_path: Path, wire: Wire
) -> None:
    files = corpus(10)
    write_files(tmp_path, files)
    dataset = unique("edit")
    assert sync(cli, tmp_path, dataset, "--create")[0] == ExitCode.OK
    [old] = by_path(client, dataset)["guides/note-000.md"]
    edited = "# Note 0\nRewritten: the teapot must be warmed with hot water first.\n"
    write_files(tmp_path, {"guides/note-000.md": edited})
    wire.clear()

    code, out, err = sync(cli, tmp_path, dataset)

    assert code == ExitCode.OK, out + err
    assert counts(out) == {"added": 0, "replaced": 1, "deleted": 0, "unchanged": 9, "failed": 0}
    assert "guides/note-000.md" in out
    assert wire.count("POST", "/documents") == 1  # one upload request, for the one file
    # the new copy was uploaded before the old one was deleted
    methods = [m for m, p in wire.requests if p.endswith("/documents") and m != "GET"]
    assert methods == ["POST", "DELETE"], wire.requests
    stored = by_path(client, dataset)
    [new] = stored["guides/note-000.md"]
    assert new.id != old.id and new.meta_fields[HASH_KEY] == sha(edited)
    assert new.name == "note-000.md"  # stored as note-000(1).md next to the old copy, renamed
    assert sum(len(copies) for copies in stored.values()) == 10
    found = cli("search", "teapot warmed", "--dataset", dataset, "-k", "1", "--json")
    assert json.loads(found.out)["chunks"][0]["document_id"] == new.id


def test_a_removed_file_is_deleted_only_with_delete(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    write_files(tmp_path, corpus(5))
    dataset = unique("remove")
    assert sync(cli, tmp_path, dataset, "--create")[0] == ExitCode.OK
    (tmp_path / "reference" / "note-002.md").unlink()

    code, out, _ = sync(cli, tmp_path, dataset)
    assert code == ExitCode.OK
    assert counts(out)["deleted"] == 0
    assert "kept 1 document(s) whose file is gone" in out and "reference/note-002.md" in out
    assert "reference/note-002.md" in by_path(client, dataset)

    code, out, _ = sync(cli, tmp_path, dataset, "--delete")
    assert code == ExitCode.OK
    assert counts(out) == {"added": 0, "replaced": 0, "deleted": 1, "unchanged": 4, "failed": 0}
    assert "reference/note-002.md" not in by_path(client, dataset)


def test_dry_run_prints_the_plan_and_changes_nothing(
    cli: Run, client: RAGFlow, tmp_path: Path, wire: Wire
) -> None:
    write_files(tmp_path, corpus(6))
    dataset = unique("dry")
    assert sync(cli, tmp_path, dataset, "--create")[0] == ExitCode.OK
    write_files(tmp_path, {"new/added.md": "A brand new page.", "guides/note-000.md": "Changed."})
    (tmp_path / "faq" / "billing" / "note-003.md").unlink()
    before = {d.id: d.meta_fields for d in client.get_dataset(name=dataset).iter_documents()}
    wire.clear()

    code, out, err = sync(cli, tmp_path, dataset, "--dry-run", "--delete")

    assert code == ExitCode.OK, out + err
    assert out.startswith("Dry run, nothing changed")
    assert counts(out) == {"added": 1, "replaced": 1, "deleted": 1, "unchanged": 4, "failed": 0}
    assert "would upload 2 file(s), start parsing 2, delete 2 document(s)" in out
    assert wire.writes == []
    after = {d.id: d.meta_fields for d in client.get_dataset(name=dataset).iter_documents()}
    assert after == before

    missing = unique("dry-missing")
    code, out, _ = sync(cli, tmp_path, missing, "--dry-run", "--create")
    assert code == ExitCode.OK and f"new dataset '{missing}'" in out
    assert missing not in [d.name for d in client.list_datasets()]


def test_non_utf8_names_and_nested_folders_with_the_same_file_name(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    files: dict[str, str | bytes] = {
        "readme.md": "Top level readme about espresso.",
        "a/readme.md": "Readme of folder a about matcha.",
        "a/b/c/d/readme.md": "A deeply nested readme about rooibos.",
        "café/naïve résumé.md": "Accented names work: chai.",
        "日本語/メモ.txt": "Japanese folder and file name: sencha.",
    }
    write_files(tmp_path, files)
    latin1 = os.path.join(os.fsencode(tmp_path), b"latin1-\xe9t\xe9.txt")
    with open(latin1, "wb") as handle:
        handle.write(b"A file whose name is Latin-1 bytes, not UTF-8: yerba mate.")
    dataset = unique("names")

    code, out, err = sync(cli, tmp_path, dataset, "--create")

    assert code == ExitCode.OK, out + err
    assert counts(out)["added"] == 6
    stored = by_path(client, dataset)
    assert sorted(stored) == sorted([*files, "latin1-\\xe9t\\xe9.txt"])
    assert stored["latin1-\\xe9t\\xe9.txt"][0].name == "latin1-\ufffdt\ufffd.txt"
    for path, content in files.items():
        assert stored[path][0].meta_fields[HASH_KEY] == sha(content)
    assert len({copies[0].name for path, copies in stored.items() if "readme" in path}) == 3

    code, out, _ = sync(cli, tmp_path, dataset)
    assert code == ExitCode.OK and counts(out)["unchanged"] == 6


def test_a_parse_failure_names_the_file_and_exits_non_zero(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    write_files(tmp_path, {"good.md": "Fine text about biscuits.", "data/broken.json": "{not json"})
    dataset = unique("parse-fail")

    code, out, err = sync(cli, tmp_path, dataset, "--create")

    assert code == ExitCode.FAILED, out + err
    assert counts(out) == {"added": 1, "replaced": 0, "deleted": 0, "unchanged": 0, "failed": 1}
    assert "data/broken.json: parsing failed: [ERROR]Invalid JSON" in out
    stored = by_path(client, dataset)
    assert stored["good.md"][0].run == "DONE" and stored["data/broken.json"][0].run == "FAIL"

    # fixed and synced again: the failed copy is replaced, nothing is left over
    write_files(tmp_path, {"data/broken.json": '{"fixed": true}'})
    code, out, _ = sync(cli, tmp_path, dataset)
    assert code == ExitCode.OK and counts(out)["replaced"] == 1
    assert [d.run for d in by_path(client, dataset)["data/broken.json"]] == ["DONE"]


def test_include_exclude_and_hidden_files(cli: Run, client: RAGFlow, tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "docs/a.md": "alpha",
            "docs/drafts/b.md": "beta",
            "docs/c.txt": "gamma",
            "notes.log": "delta",
            ".git/HEAD": "ref",
            "docs/.hidden.md": "secret",
        },
    )
    dataset = unique("globs")
    code, out, _ = sync(
        cli,
        tmp_path,
        dataset,
        "--create",
        "--include",
        "*.md",
        "--include",
        "*.txt",
        "--exclude",
        "drafts",
    )
    assert code == ExitCode.OK, out
    assert sorted(by_path(client, dataset)) == ["docs/a.md", "docs/c.txt"]

    code, out, _ = sync(cli, tmp_path, dataset, "--hidden", "--include", "docs/.hidden.md")
    assert code == ExitCode.OK, out
    assert "docs/.hidden.md" in by_path(client, dataset)


def test_no_parse_uploads_without_parsing_and_a_later_run_parses(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    write_files(tmp_path, corpus(3))
    dataset = unique("no-parse")
    code, out, _ = sync(cli, tmp_path, dataset, "--create", "--no-parse")
    assert code == ExitCode.OK and counts(out)["added"] == 3
    assert {d[0].run for d in by_path(client, dataset).values()} == {"UNSTART"}

    code, out, _ = sync(cli, tmp_path, dataset)
    assert code == ExitCode.OK and counts(out)["unchanged"] == 3
    assert {d[0].run for d in by_path(client, dataset).values()} == {"DONE"}


def test_json_summary_lists_every_file(cli: Run, tmp_path: Path) -> None:
    write_files(tmp_path, corpus(4))
    dataset = unique("json")
    result = cli(
        "sync", tmp_path, "--dataset", dataset, "--create", "--json", "--poll-interval", POLL
    )
    summary = json.loads(result.out)
    assert result.code == ExitCode.OK and summary["ok"] is True
    assert summary["counts"]["added"] == 4
    assert sorted(f["path"] for f in summary["files"]) == sorted(corpus(4))
    assert all(f["document_id"] for f in summary["files"])


def test_missing_dataset_and_folder_are_clear_errors(cli: Run, tmp_path: Path) -> None:
    result = cli("sync", tmp_path, "--dataset", unique("absent"))
    assert result.code == ExitCode.NOT_FOUND
    assert result.err.count("\n") == 1 and "add --create" in result.err

    result = cli("sync", tmp_path / "nope", "--dataset", "x", "--create")
    assert result.code == ExitCode.USAGE and "is not a folder" in result.err

    result = cli("sync", tmp_path)
    assert result.code == ExitCode.USAGE and "--dataset" in result.err


def test_delete_refuses_to_empty_a_dataset_from_an_empty_folder(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    write_files(tmp_path / "docs", corpus(3))
    dataset = unique("empty")
    assert sync(cli, tmp_path / "docs", dataset, "--create")[0] == ExitCode.OK
    (tmp_path / "unmounted").mkdir()

    code, out, err = sync(cli, tmp_path / "unmounted", dataset, "--delete")

    assert code == ExitCode.USAGE and out == ""
    assert "has no files to sync, so --delete would delete all 3 synced document(s)" in err
    assert len(by_path(client, dataset)) == 3


def test_chunk_method_chooses_the_created_dataset_s_method(
    cli: Run, client: RAGFlow, tmp_path: Path
) -> None:
    write_files(tmp_path, {"faq.md": "Q: Is it fast?\nA: Yes."})
    dataset = unique("method")
    code, out, _ = sync(cli, tmp_path, dataset, "--create", "--chunk-method", "qa")
    assert code == ExitCode.OK, out
    assert client.get_dataset(name=dataset).chunk_method == "qa"
    assert sync(cli, tmp_path, dataset, "--chunk-method", "qa")[0] == ExitCode.OK

    code, _, err = sync(cli, tmp_path, dataset, "--chunk-method", "book")
    assert code == ExitCode.USAGE and "uses chunk method 'qa'" in err
