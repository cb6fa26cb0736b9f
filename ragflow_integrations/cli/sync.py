"""``sync FOLDER --dataset NAME``: make a dataset hold what a folder holds, uploading only changes.

See :mod:`~ragflow_integrations.cli.plan` for how files and documents are matched and
:mod:`~ragflow_integrations.cli.apply` for how a plan is carried out (the shared ingestion path:
:func:`~ragflow_integrations.ingest.ingest_documents`, then one
:func:`~ragflow_integrations.ingest.wait_for_parsing` with a deadline and a progress bar). This
module reads the folder and the dataset, plans, applies, and prints the summary. An unchanged
folder costs one listing of the dataset's documents.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import RAGFlowError
from ..models import DataSet, Document
from .apply import Apply, stops_everything
from .codes import CommandError, ExitCode
from .context import CommandContext
from .folder import Scan, scan_folder
from .options import seconds
from .plan import Action, Plan, Remote, adoption_candidates, make_plan
from .summary import SyncReport, print_summary

__all__ = ["add_parser", "run"]


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
    adopted = _adopt(plan, remotes, documents)
    if adopted:
        plan = make_plan(scan.files, remotes, delete=args.delete, parse=args.parse, adopted=adopted)
    _refuse_to_empty(plan, scan, folder)
    aborted: RAGFlowError | None = None
    if not args.dry_run and dataset is not None:
        aborted = Apply(ctx, dataset, documents, plan).run()
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


def _adopt(plan: Plan, remotes: Sequence[Remote], documents: dict[str, Document]) -> dict[str, str]:
    """Documents without metadata that hold a file about to be uploaded (same bytes)."""
    adopted: dict[str, str] = {}
    for step, candidates in adoption_candidates(plan, remotes):
        assert step.file is not None
        for remote in candidates:
            if remote.id in adopted:
                continue
            try:
                blob = documents[remote.id].download()
            except RAGFlowError as exc:  # unreadable: not adopted, the file is uploaded
                if stops_everything(exc):
                    raise
                continue
            if hashlib.sha256(blob).hexdigest() == step.file.sha256:
                adopted[remote.id] = step.path
                break
    return adopted


def _refuse_to_empty(plan: Plan, scan: Scan, folder: Path) -> None:
    deleting = sum(len(step.obsolete) for step in plan.by_action(Action.DELETED))
    if deleting and not scan.files and not scan.unreadable:
        raise CommandError(
            f"{folder} has no files to sync, so --delete would delete all {deleting} "
            "synced document(s); check the folder and the --include/--exclude globs (to empty "
            "the dataset, delete its documents in RAGFlow)"
        )
