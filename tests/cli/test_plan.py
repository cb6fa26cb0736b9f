"""The sync plan, decided without a server: which copy is kept, what is uploaded, parsed, deleted,
adopted; and which files the globs select."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragflow_integrations.cli.folder import LocalFile, matches, scan_folder
from ragflow_integrations.cli.plan import Action, Remote, adoption_candidates, make_plan


def local(path: str, sha: str = "h1", size: int = 10) -> LocalFile:
    return LocalFile(path, path.rsplit("/", 1)[-1], Path("/dev/null"), size, sha)


def remote(
    id: str,
    path: str | None = "a.md",
    sha: str | None = "h1",
    run: str = "DONE",
    created: float = 1.0,
    name: str = "a.md",
    size: int = 10,
) -> Remote:
    return Remote(id, name, size, run, created, path, sha)


def test_unchanged_file_keeps_its_copy_and_needs_nothing() -> None:
    [step] = make_plan([local("a.md")], [remote("d1")], delete=False, parse=True).steps
    assert (step.action, step.keeper and step.keeper.id, step.upload, step.parse) == (
        Action.UNCHANGED,
        "d1",
        False,
        "none",
    )
    assert step.obsolete == []


def test_changed_file_is_uploaded_and_its_old_copies_become_obsolete() -> None:
    [step] = make_plan(
        [local("a.md", sha="new")], [remote("d1"), remote("d2", sha=None)], delete=False, parse=True
    ).steps
    assert step.action is Action.REPLACED and step.upload and step.parse == "start"
    assert [r.id for r in step.obsolete] == ["d1", "d2"]


def test_of_several_matching_copies_the_newest_parsed_one_is_kept() -> None:
    copies = [
        remote("old-version", sha="h0", created=9),
        remote("parsed-older", created=2),
        remote("parsed-newer", created=3),
        remote("failed-newest", run="FAIL", created=5),
    ]
    [step] = make_plan([local("a.md")], copies, delete=False, parse=True).steps
    assert step.keeper is not None and step.keeper.id == "parsed-newer"
    assert sorted(r.id for r in step.obsolete) == ["failed-newest", "old-version", "parsed-older"]
    assert step.action is Action.REPLACED  # an older version among them: a replacement finishing


def test_duplicates_of_the_same_content_are_unchanged_with_cleanup() -> None:
    [step] = make_plan(
        [local("a.md")],
        [remote("d1", created=1), remote("d2", created=2)],
        delete=False,
        parse=True,
    ).steps
    assert step.action is Action.UNCHANGED and step.keeper and step.keeper.id == "d2"
    assert [r.id for r in step.obsolete] == ["d1"]


@pytest.mark.parametrize(
    ("run", "parse", "mode"),
    [
        ("UNSTART", True, "start"),
        ("FAIL", True, "start"),
        ("CANCEL", True, "start"),
        ("RUNNING", True, "wait"),
        ("DONE", True, "none"),
        ("UNSTART", False, "none"),
    ],
)
def test_a_kept_copy_is_parsed_when_it_is_not_yet(run: str, parse: bool, mode: str) -> None:
    [step] = make_plan([local("a.md")], [remote("d1", run=run)], delete=False, parse=parse).steps
    assert step.parse == mode and not step.upload


def test_gone_files_are_deleted_only_with_delete_and_unmanaged_documents_never() -> None:
    remotes = [remote("gone", path="b.md"), remote("user-upload", path=None, sha=None)]
    kept = make_plan([], remotes, delete=False, parse=True)
    assert [(s.path, s.action) for s in kept.steps] == [("b.md", Action.STALE)]
    assert kept.unmanaged == 1
    deleted = make_plan([], remotes, delete=True, parse=True)
    assert [(s.path, s.action, [r.id for r in s.obsolete]) for s in deleted.steps] == [
        ("b.md", Action.DELETED, ["gone"])
    ]


def test_uploads_without_metadata_are_candidates_and_adopted() -> None:
    files = [local("docs/a.md", sha="h1", size=10), local("b.md", sha="h2", size=20)]
    orphans = [
        remote("same-name-size", path=None, sha=None, name="a(1).md", size=10, created=2),
        remote("other-size", path=None, sha=None, name="a.md", size=11),
        remote("other-name", path=None, sha=None, name="c.md", size=20),
    ]
    plan = make_plan(files, orphans, delete=True, parse=True)
    found = adoption_candidates(plan, orphans)
    assert [(step.path, [r.id for r in rs]) for step, rs in found] == [
        ("docs/a.md", ["same-name-size"])
    ]

    adopted = make_plan(
        files, orphans, delete=True, parse=True, adopted={"same-name-size": "docs/a.md"}
    )
    step = adopted.steps[0]
    assert step.path == "docs/a.md" and step.adopt and not step.upload
    assert step.action is Action.ADDED and step.parse == "none"
    assert adopted.unmanaged == 2  # the others stay the user's


def test_globs_match_paths_names_and_folders() -> None:
    assert matches("docs/api/x.md", ["*.md"])
    assert matches("docs/api/x.md", ["docs/*"])
    assert matches("docs/api/x.md", ["api"])
    assert matches("docs/api/x.md", ["./docs/api/"])
    assert not matches("docs/api/x.md", ["*.txt"])
    assert not matches("docs/api/x.md", ["DOCS"])


def test_scan_skips_hidden_entries_and_keys_use_nfc(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / "cafe\u0301.md").write_text("decomposed é")  # NFD, as macOS writes it
    (tmp_path / ".env").write_text("SECRET=1")
    scan = scan_folder(tmp_path)
    assert [f.path for f in scan.files] == ["caf\u00e9.md"]
    assert {f.path for f in scan_folder(tmp_path, hidden=True).files} == {
        ".git/HEAD",
        ".env",
        "caf\u00e9.md",
    }
