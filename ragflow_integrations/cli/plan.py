"""What ``sync`` will do, decided from the folder and the dataset's documents (no I/O here).

Every document ``sync`` uploads records two ``meta_fields``: the file's key
(:data:`SOURCE_PATH_KEY`) and the SHA-256 of its bytes (:data:`CONTENT_HASH_KEY`). For each key:

* copies whose hash matches the file: the best one is kept (parsed first, then the newest); every
  other copy of that key (older versions, duplicates, copies without a hash) becomes obsolete;
* no copy matches: the file is uploaded, and the old copies become obsolete;
* obsolete copies are deleted only once the copy kept (or uploaded) is ready, so a run cut short at
  any point leaves the document searchable, and the next run finishes the job;
* keys with copies but no file any more are deleted with ``--delete`` (else reported as stale).

Documents without :data:`SOURCE_PATH_KEY` are not ``sync``'s and are left alone, with one
exception: an upload cut off before its metadata was written leaves such a document behind, so
one with the same name, size and bytes as a file about to be uploaded is adopted instead
(:func:`adoption_candidates`; the bytes are compared by the caller).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..models import Document
from .folder import LocalFile

__all__ = [
    "CONTENT_HASH_KEY",
    "SOURCE_PATH_KEY",
    "Action",
    "Plan",
    "Remote",
    "Step",
    "adoption_candidates",
    "make_plan",
]

SOURCE_PATH_KEY = "ragflow_source_path"
CONTENT_HASH_KEY = "ragflow_content_sha256"

_DUPLICATE_SUFFIX = re.compile(r"\(\d+\)(?=\.[^.]*$|$)")
_IN_PROGRESS = frozenset({"RUNNING", "SCHEDULE"})


class Action(StrEnum):
    """What happens to one key (the summary's rows)."""

    ADDED = "added"
    REPLACED = "replaced"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    STALE = "stale"
    """Copies of a file that is gone, kept because ``--delete`` was not given."""


@dataclass(frozen=True)
class Remote:
    """A document of the dataset, as ``sync`` sees it."""

    id: str
    name: str
    size: int
    run: str
    created: float
    path: str | None
    sha256: str | None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, document: Document) -> Remote:
        meta = dict(document.meta_fields or {})
        path, digest = meta.get(SOURCE_PATH_KEY), meta.get(CONTENT_HASH_KEY)
        try:
            created = float(document.create_time or 0)
        except (TypeError, ValueError):
            created = 0.0
        return cls(
            id=document.id,
            name=document.name,
            size=int(document.size or 0),
            run=str(document.run or "UNSTART").upper(),
            created=created,
            path=path if isinstance(path, str) and path else None,
            sha256=digest if isinstance(digest, str) and digest else None,
            meta=meta,
        )

    @property
    def parsed(self) -> bool:
        return self.run == "DONE"


@dataclass
class Step:
    """What ``sync`` does for one key."""

    path: str
    action: Action
    file: LocalFile | None = None
    keeper: Remote | None = None
    """The document kept for the file; ``None``: the file is uploaded."""
    obsolete: list[Remote] = field(default_factory=list)
    """Copies deleted once the kept or uploaded document is ready (for DELETED: at once)."""
    adopt: bool = False
    """The keeper is an upload whose metadata was never written: write it."""
    parse: str = "none"
    """``"start"`` parsing, ``"wait"`` for a parse already running, or ``"none"``."""
    # filled in while applying
    document_id: str | None = None
    ready: bool = False
    error: str | None = None

    @property
    def upload(self) -> bool:
        return self.file is not None and self.keeper is None

    @property
    def result(self) -> str:
        return "failed" if self.error else str(self.action)


@dataclass
class Plan:
    steps: list[Step]
    unmanaged: int = 0
    """Documents of the dataset that ``sync`` did not upload (no source path)."""

    def by_action(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action is action]


def _preference(remote: Remote) -> tuple[bool, bool, float, str]:
    return (remote.parsed, remote.run in _IN_PROGRESS, remote.created, remote.id)


def make_plan(
    files: Sequence[LocalFile],
    remotes: Iterable[Remote],
    *,
    delete: bool,
    parse: bool,
    adopted: Mapping[str, str] | None = None,
) -> Plan:
    """The steps for ``files`` against the dataset's documents.

    ``adopted`` maps the ids of documents without metadata to the key of the file they were found
    to hold (see :func:`adoption_candidates`).
    """
    adopted = adopted or {}
    local = {f.path: f for f in files}
    by_path: dict[str, list[Remote]] = defaultdict(list)
    unmanaged = 0
    for remote in remotes:
        if remote.id in adopted and adopted[remote.id] in local:
            key = adopted[remote.id]
            remote = replace(remote, path=key, sha256=local[key].sha256)
        if remote.path is None:
            unmanaged += 1
            continue
        by_path[remote.path].append(remote)
    steps = [
        _file_step(file, by_path.pop(file.path, []), set(adopted), parse=parse) for file in files
    ]
    for path in sorted(by_path):
        action = Action.DELETED if delete else Action.STALE
        steps.append(Step(path, action, obsolete=sorted(by_path[path], key=lambda r: r.id)))
    return Plan(steps, unmanaged)


def _file_step(file: LocalFile, copies: list[Remote], adopted: set[str], *, parse: bool) -> Step:
    same = [remote for remote in copies if remote.sha256 == file.sha256]
    keeper = max(same, key=_preference) if same else None
    obsolete = sorted((r for r in copies if r is not keeper), key=lambda r: r.id)
    adopt = keeper is not None and keeper.id in adopted
    if keeper is None:
        action = Action.REPLACED if copies else Action.ADDED
    elif any(r.sha256 != file.sha256 for r in obsolete):
        action = Action.REPLACED  # an earlier run uploaded the new copy; finish the replacement
    elif adopt and not obsolete:
        action = Action.ADDED
    else:
        action = Action.UNCHANGED
    if not parse or (keeper is not None and keeper.parsed):
        mode = "none"
    elif keeper is not None and keeper.run in _IN_PROGRESS:
        mode = "wait"
    else:
        mode = "start"
    return Step(file.path, action, file, keeper, obsolete, adopt, mode)


def base_name(name: str) -> str:
    """A document name without the ``(n)`` RAGFlow adds to a duplicate name."""
    return _DUPLICATE_SUFFIX.sub("", name)


def adoption_candidates(plan: Plan, remotes: Iterable[Remote]) -> list[tuple[Step, list[Remote]]]:
    """For each file to upload, the documents without metadata that may hold it already (same
    name, bar a duplicate suffix, and same size), newest first."""
    orphans = [r for r in remotes if r.path is None]
    found = []
    for step in plan.steps:
        if not step.upload or step.file is None:
            continue
        file = step.file
        same = [
            r
            for r in orphans
            if r.size == file.size and (r.name == file.name or base_name(r.name) == file.name)
        ]
        if same:
            found.append((step, sorted(same, key=lambda r: (r.created, r.id), reverse=True)))
    return found
