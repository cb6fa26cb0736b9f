"""``sync FOLDER --dataset NAME``: make a dataset hold what a folder holds, uploading only changes.

See :mod:`ragflow_integrations.cli.plan` for how files and documents are matched; this module
reads the dataset, applies the plan with the shared ingestion path
(:func:`~ragflow_integrations.ingest.ingest_documents`, then one
:func:`~ragflow_integrations.ingest.wait_for_parsing` with a deadline and a progress bar) and
prints the summary. An unchanged folder costs one listing of the dataset's documents.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import (
    APIConnectionError,
    AuthenticationError,
    DocumentParseError,
    ParseTimeoutError,
    RAGFlowError,
    UploadError,
)
from ..ingest import IngestItem, ingest_documents, wait_for_parsing
from ..models import DataSet, Document
from .codes import CommandError, ExitCode, one_line
from .context import CommandContext
from .folder import Scan, scan_folder
from .options import seconds
from .plan import (
    CONTENT_HASH_KEY,
    SOURCE_PATH_KEY,
    Action,
    Plan,
    Remote,
    Step,
    adoption_candidates,
    base_name,
    make_plan,
)
from .summary import SyncReport, print_summary

__all__ = ["add_parser", "run"]

GROUP_FILES = 32
"""Files per upload request (the ingestion path's batch size)."""
GROUP_BYTES = 32 << 20
"""Bytes per upload request at most (a larger file goes alone)."""


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "sync",
        parents=[common],
        help="upload a folder's new and changed files to a dataset, and parse them",
        description=(
            "Make a dataset hold the files of FOLDER: upload new and changed files (a changed "
            "file's old copy is deleted once the new one is parsed), parse them, and with "
            "--delete remove documents whose file is gone. Each document records its path and "
            "content hash (meta_fields ragflow_source_path, ragflow_content_sha256), so a run "
            "over an unchanged folder uploads nothing, and a run cut short converges when "
            "run again."
        ),
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    parser.add_argument("--dataset", required=True, metavar="NAME_OR_ID")
    parser.add_argument("--create", action="store_true", help="create the dataset if missing")
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="only files whose path, name or folder matches (repeatable; e.g. '*.md', 'docs')",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files whose path, name or folder matches (repeatable; e.g. 'drafts')",
    )
    parser.add_argument(
        "--hidden", action="store_true", help="include hidden files and folders (.git, .env, ...)"
    )
    parser.add_argument(
        "--delete",
        action="store_true",
        help="delete documents whose file is gone (or no longer selected)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    parser.add_argument(
        "--parse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="parse what was uploaded and wait for it (default: --parse)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=600.0,
        metavar="S",
        help="give up waiting for parsing after S seconds (default 600)",
    )
    parser.add_argument(
        "--poll-interval", type=seconds, default=1.0, metavar="S", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--chunk-method",
        metavar="M",
        help="chunk method of the dataset --create makes (naive, book, qa, ...)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def run(ctx: CommandContext) -> int:
    args = ctx.args
    folder: Path = args.folder
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder")
    started = time.monotonic()
    scan = scan_folder(folder, args.include, args.exclude, hidden=args.hidden)
    dataset = _open_dataset(ctx)
    documents = {d.id: d for d in dataset.iter_documents()} if dataset is not None else {}
    remotes = [Remote.of(d) for d in documents.values()]
    plan = make_plan(scan.files, remotes, delete=args.delete, parse=args.parse)
    adopted = _adopt(ctx, plan, remotes, documents)
    if adopted:
        plan = make_plan(scan.files, remotes, delete=args.delete, parse=args.parse, adopted=adopted)
    _refuse_to_empty(plan, scan, folder)
    aborted: RAGFlowError | None = None
    if not args.dry_run and dataset is not None:
        aborted = _Apply(ctx, dataset, documents, plan).run()
    took = time.monotonic() - started
    print_summary(ctx, SyncReport(plan, scan, folder, dataset, took, args.dry_run))
    if aborted is not None:
        raise aborted
    failed = any(step.error for step in plan.steps) or bool(scan.unreadable)
    return ExitCode.FAILED if failed else ExitCode.OK


def _open_dataset(ctx: CommandContext) -> DataSet | None:
    """The dataset to sync into (``None``: a dry run that would create it)."""
    args = ctx.args
    dataset = ctx.find_dataset(args.dataset)
    if dataset is None:
        if not args.create:
            raise CommandError(
                f"no dataset named {args.dataset!r}; add --create to create it",
                ExitCode.NOT_FOUND,
            )
        if args.dry_run:
            return None
        return ctx.client.create_dataset(
            name=args.dataset, chunk_method=args.chunk_method or "naive"
        )
    if args.chunk_method and dataset.chunk_method != args.chunk_method:
        raise CommandError(
            f"dataset {dataset.name!r} uses chunk method {dataset.chunk_method!r}; "
            "--chunk-method only chooses the method of a dataset --create makes (change an "
            "existing dataset's method in RAGFlow)"
        )
    return dataset


def _adopt(
    ctx: CommandContext, plan: Plan, remotes: Sequence[Remote], documents: dict[str, Document]
) -> dict[str, str]:
    """Documents without metadata that hold a file about to be uploaded (same bytes)."""
    adopted: dict[str, str] = {}
    for step, candidates in adoption_candidates(plan, remotes):
        assert step.file is not None
        for remote in candidates:
            if remote.id in adopted:
                continue
            blob = documents[remote.id].download()
            if hashlib.sha256(blob).hexdigest() == step.file.sha256:
                adopted[remote.id] = step.path
                break
    return adopted


def _refuse_to_empty(plan: Plan, scan: Scan, folder: Path) -> None:
    deleting = plan.by_action(Action.DELETED)
    if deleting and not scan.files and not scan.unreadable:
        raise CommandError(
            f"{folder} has no files to sync, so --delete would delete all {len(deleting)} "
            "synced document(s); check the folder and the --include/--exclude globs (to empty "
            "the dataset, delete its documents in RAGFlow)"
        )


def _groups(steps: Sequence[Step]) -> Iterator[list[Step]]:
    """Upload groups: at most GROUP_FILES files and GROUP_BYTES bytes, names unique in each (so
    that every stored document is matched to its file, even when the server renames one)."""
    pending = list(steps)
    while pending:
        group: list[Step] = []
        names: set[str] = set()
        size = 0
        rest: list[Step] = []
        for step in pending:
            assert step.file is not None
            fits = len(group) < GROUP_FILES and (not group or size + step.file.size <= GROUP_BYTES)
            if fits and step.file.name not in names:
                group.append(step)
                names.add(step.file.name)
                size += step.file.size
            else:
                rest.append(step)
        yield group
        pending = rest


def _stops_everything(error: BaseException | None) -> bool:
    """The server is unreachable (nothing was sent) or rejects the key: stop trying."""
    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, APIConnectionError) and not error.request_sent


def _reason(error: RAGFlowError, name: str) -> str:
    """The server's words about one file (a batch's message names each failed file)."""
    cause = error.__cause__ if isinstance(error.__cause__, RAGFlowError) else error
    for line in cause.message.splitlines():
        if line.startswith(f"{name}:"):
            return line[len(name) + 1 :].strip()
    return one_line(str(cause))


def _parse_message(document: Document) -> str:
    """The gist of a failed parse's log (RAGFlow keeps the whole log in ``progress_msg``)."""
    lines = [line.strip() for line in str(document.progress_msg or "").splitlines()]
    lines = [line for line in lines if line]
    errors = [line[line.index("[ERROR]") :] for line in lines if "[ERROR]" in line]
    return (errors or lines or [f"parsing ended as {document.run}"])[-1]


class _Apply:
    """Applies a plan; each step ends ready or with its error."""

    def __init__(
        self,
        ctx: CommandContext,
        dataset: DataSet,
        documents: dict[str, Document],
        plan: Plan,
    ) -> None:
        self.ctx = ctx
        self.args = ctx.args
        self.dataset = dataset
        self.documents = documents
        self.plan = plan
        self.uploaded: dict[str, Document] = {}

    def run(self) -> RAGFlowError | None:
        """Apply every step; returns the error that stopped it early (server down, bad key)."""
        steps = self.plan.steps
        try:
            self._adopt([s for s in steps if s.adopt])
            self._upload([s for s in steps if s.upload])
            for step in steps:
                if step.keeper is not None and not step.error:
                    step.document_id = step.keeper.id
                    step.ready = step.parse == "none"
            self._parse([s for s in steps if s.document_id and not s.error and not s.ready])
            deleted = self._delete(steps)
            self._restore_names(steps, deleted)
        except RAGFlowError as exc:
            for step in steps:
                if step.action is not Action.STALE and not step.ready and not step.error:
                    step.error = f"not done: {one_line(str(exc))}"
            return exc
        return None

    def _adopt(self, steps: list[Step]) -> None:
        for step in steps:
            assert step.keeper is not None and step.file is not None
            meta = {
                **step.keeper.meta,
                SOURCE_PATH_KEY: step.path,
                CONTENT_HASH_KEY: step.file.sha256,
            }
            try:
                self.documents[step.keeper.id].update({"meta_fields": meta})
            except RAGFlowError as exc:
                if _stops_everything(exc):
                    raise
                step.error = f"could not record its path and hash: {one_line(str(exc))}"

    def _upload(self, steps: list[Step]) -> None:
        if not steps:
            return
        bar = _bar(self.ctx, len(steps), "Uploading")
        try:
            for group in _groups(steps):
                self._upload_group(group)
                if bar is not None:
                    bar.update(len(group))
        finally:
            if bar is not None:
                bar.close()

    def _upload_group(self, group: list[Step]) -> None:
        items: list[IngestItem] = []
        sending: list[Step] = []
        for step in group:
            assert step.file is not None
            try:
                blob = step.file.location.read_bytes()
            except OSError as exc:
                step.error = f"cannot read the file: {exc.strerror or exc}"
                continue
            meta = {SOURCE_PATH_KEY: step.path, CONTENT_HASH_KEY: hashlib.sha256(blob).hexdigest()}
            items.append(IngestItem(step.file.name, blob, meta))
            sending.append(step)
        if not items:
            return
        error: UploadError | None = None
        try:
            stored = ingest_documents(
                self.dataset,
                items,
                parse=self.args.parse,
                wait=False,
                batch_size=len(items),
            )
            unparsed: list[Any] = []
        except UploadError as exc:
            error, stored, unparsed = exc, list(exc.uploaded), list(exc.unparsed)
        by_name: dict[str, Step] = {s.file.name: s for s in sending if s.file is not None}
        for document in stored:
            name = document.name if document.name in by_name else base_name(document.name)
            if name in by_name:
                uploaded = by_name.pop(name)
                uploaded.document_id = document.id
                uploaded.ready = not self.args.parse
                self.uploaded[document.id] = document
        not_started = {document.id for document in unparsed}
        for step in sending:
            if step.document_id is None:
                assert error is not None and step.file is not None
                step.error = f"upload failed: {_reason(error, step.file.name)}"
            elif step.document_id in not_started:
                assert error is not None
                step.error = f"uploaded, but parsing did not start: {one_line(str(error))}"
        cause = error.__cause__ if error is not None else None
        if isinstance(cause, RAGFlowError) and _stops_everything(cause):
            raise cause

    def _parse(self, steps: list[Step]) -> None:
        if not steps:
            return
        start = [s.document_id for s in steps if s.parse == "start" and s.keeper is not None]
        if start:
            try:
                self.dataset.async_parse_documents([i for i in start if i])
            except RAGFlowError as exc:
                if _stops_everything(exc):
                    raise
                for step in steps:
                    if step.document_id in start:
                        step.error = f"parsing did not start: {one_line(str(exc))}"
        waiting = {s.document_id: s for s in steps if s.document_id and not s.error}
        if not waiting:
            return
        latest: dict[str, Document] = {}

        def remember(documents: Sequence[Document]) -> None:
            latest.update({document.id: document for document in documents})

        timed_out = False
        try:
            wait_for_parsing(
                self.dataset,
                list(waiting),
                timeout=self.args.timeout,
                poll_interval=self.args.poll_interval,
                show_progress=self.ctx.show_progress,
                on_progress=remember,
            )
        except DocumentParseError:
            pass  # each failure is read from the last poll below
        except ParseTimeoutError:
            timed_out = True
        for document_id, step in waiting.items():
            document = latest.get(document_id)
            if document is None:
                step.error = "the document disappeared while parsing"
            elif document.run == "DONE":
                step.ready = True
            elif timed_out and document.run not in ("FAIL", "CANCEL"):
                step.error = (
                    f"still parsing after {self.args.timeout:g} s (run sync again later, or "
                    "raise --timeout)"
                )
            else:
                step.error = f"parsing failed: {_parse_message(document)}"

    def _delete(self, steps: list[Step]) -> set[str]:
        """Delete the obsolete copies of ready steps and of gone files; returns their ids."""
        doomed: dict[str, Step] = {}
        for step in steps:
            if step.error or step.action is Action.STALE:
                continue
            if step.action is Action.DELETED or step.ready:
                doomed.update({remote.id: step for remote in step.obsolete})
        if not doomed:
            return set()
        try:
            self.dataset.delete_documents(list(doomed))
        except RAGFlowError as exc:
            if _stops_everything(exc):
                raise
            for step in {id(step): step for step in doomed.values()}.values():
                step.error = f"could not delete the old copies: {one_line(str(exc))}"
            return set()
        for step in doomed.values():
            if step.action is Action.DELETED:
                step.ready = True
        return set(doomed)

    def _restore_names(self, steps: list[Step], deleted: set[str]) -> None:
        """A new copy uploaded next to its old one was stored as ``name(1).ext``; with the old
        one gone, give it the file's name back (best effort: the name is cosmetic)."""
        names = {d.name for i, d in self.documents.items() if i not in deleted}
        names |= {d.name for d in self.uploaded.values()}
        for step in steps:
            document = self.uploaded.get(step.document_id or "")
            if document is None or step.file is None or step.error or not step.ready:
                continue
            if document.name != step.file.name and step.file.name not in names:
                try:
                    document.update({"name": step.file.name})
                except RAGFlowError as exc:
                    if _stops_everything(exc):
                        raise
                    continue
                names.add(step.file.name)


def _bar(ctx: CommandContext, total: int, label: str) -> Any:
    if not ctx.show_progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="file", file=ctx.err)
