"""The local side of ``sync``: which files of a folder take part, their keys, names and hashes.

A file's key is its path relative to the folder, with ``/`` separators and Unicode in NFC form
(so a folder copied between macOS and Linux keeps its keys). Bytes that are not UTF-8 are kept as
``\\xNN`` escapes in the key and shown as U+FFFD in the document name.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

__all__ = ["LocalFile", "Scan", "file_sha256", "matches", "scan_folder"]

_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalFile:
    """One file to sync."""

    path: str
    """The key: relative path with ``/`` separators (recorded as ``ragflow_source_path``)."""
    name: str
    """The document name it is uploaded under (the file name, as valid UTF-8 text)."""
    location: Path
    size: int
    sha256: str


@dataclass
class Scan:
    files: list[LocalFile]
    unreadable: list[tuple[str, str]]
    """``(key, reason)`` of files that matched but could not be read."""


def key_text(raw: bytes) -> str:
    """A path's bytes as key text: UTF-8 in NFC, other bytes as ``\\xNN``."""
    return unicodedata.normalize("NFC", raw.decode("utf-8", "backslashreplace"))


def display_name(raw: bytes) -> str:
    """A file name's bytes as a document name (invalid UTF-8 replaced; no backslashes, which
    the upload would read as folder separators)."""
    text = unicodedata.normalize("NFC", raw.decode("utf-8", "replace"))
    return text.replace("\\", "_")


def _pattern(text: str) -> str:
    return text.strip().removeprefix("./").strip("/")


def matches(path: str, patterns: Iterable[str]) -> bool:
    """Whether a glob matches ``path``, its file name, a folder name in it, or one of its folders
    from the top (``*`` also crosses ``/``; case-sensitive): ``*.md``, ``docs/*``, ``drafts`` and
    ``docs/api`` all work."""
    parts = path.split("/")
    folders = ["/".join(parts[:i]) for i in range(1, len(parts))]
    candidates = [path, *parts, *folders]
    return any(fnmatchcase(c, _pattern(p)) for p in patterns for c in candidates)


def file_sha256(location: Path) -> str:
    digest = hashlib.sha256()
    with location.open("rb") as handle:
        while block := handle.read(_READ_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def scan_folder(
    folder: Path,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    *,
    hidden: bool = False,
) -> Scan:
    """Every regular file below ``folder`` that the globs select, sorted by key.

    Hidden files and folders (names starting with ``.``, such as ``.git``) are skipped unless
    ``hidden``; links to files are followed, links to folders are not.
    """
    files: list[LocalFile] = []
    unreadable: list[tuple[str, str]] = []
    root = os.fsencode(folder)
    for directory, subdirs, names in os.walk(root):
        if not hidden:
            subdirs[:] = [d for d in subdirs if not d.startswith(b".")]
        subdirs.sort()
        for raw_name in sorted(names):
            if not hidden and raw_name.startswith(b"."):
                continue
            raw_path = os.path.join(directory, raw_name)
            key = key_text(os.path.relpath(raw_path, root).replace(os.sep.encode(), b"/"))
            if include and not matches(key, include):
                continue
            if exclude and matches(key, exclude):
                continue
            location = Path(os.fsdecode(raw_path))
            try:
                if not location.is_file():
                    continue  # sockets, fifos, devices
                size = location.stat().st_size
                digest = file_sha256(location)
            except OSError as exc:
                unreadable.append((key, exc.strerror or str(exc)))
                continue
            files.append(LocalFile(key, display_name(raw_name), location, size, digest))
    files.sort(key=lambda f: f.path)
    return Scan(files, unreadable)
