"""The end of ``sync``: a table of what happened to which file (or the plan, for ``--dry-run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models import DataSet
from .context import CommandContext
from .folder import Scan
from .output import print_json, print_table
from .plan import Action, Plan, Step

__all__ = ["print_summary"]

RESULTS = ("added", "replaced", "deleted", "unchanged", "failed")


def _names(paths: list[str]) -> str:
    return ", ".join(paths)


def print_summary(
    ctx: CommandContext,
    plan: Plan,
    scan: Scan,
    *,
    folder: Path,
    dataset: DataSet | None,
    seconds: float,
    dry_run: bool,
) -> None:
    groups: dict[str, list[str]] = {result: [] for result in (*RESULTS, "stale")}
    for step in plan.steps:
        groups[step.result].append(step.path)
    groups["failed"] += [path for path, _ in scan.unreadable]
    failures = [(step.path, step.error or "") for step in plan.steps if step.error]
    failures += [(path, f"cannot read the file: {reason}") for path, reason in scan.unreadable]
    if ctx.args.json:
        print_json(ctx.out, _as_json(plan, scan, folder, dataset, seconds, dry_run, groups))
        return
    out = ctx.out
    target = (
        f"dataset {dataset.name!r}" if dataset is not None else f"new dataset {ctx.args.dataset!r}"
    )
    files = len(scan.files) + len(scan.unreadable)
    if dry_run:
        out.write(
            f"Dry run, nothing changed: the plan for {files} file(s) of {folder} → {target}\n"
        )
    else:
        out.write(f"Synced {files} file(s) of {folder} → {target} in {seconds:.1f} s\n")
    rows = [(result, len(groups[result]), _names(groups[result])) for result in RESULTS]
    print_table(out, ["plan" if dry_run else "result", "files", "paths"], rows, right=[1])
    if dry_run:
        uploads = sum(1 for step in plan.steps if step.upload)
        parses = sum(1 for step in plan.steps if step.parse == "start")
        deletes = sum(len(step.obsolete) for step in plan.steps if step.action is not Action.STALE)
        adopted = sum(1 for step in plan.steps if step.adopt)
        out.write(
            f"would upload {uploads} file(s), start parsing {parses}, delete {deletes} "
            f"document(s)"
            + (f", and record the path of {adopted} earlier upload(s)" if adopted else "")
            + "\n"
        )
    if failures:
        out.write("\nfailed:\n")
        for path, reason in failures:
            out.write(f"  {path}: {reason}\n")
    if groups["stale"]:
        out.write(
            f"kept {len(groups['stale'])} document(s) whose file is gone (--delete removes "
            f"them): {_names(groups['stale'])}\n"
        )


def _as_json(
    plan: Plan,
    scan: Scan,
    folder: Path,
    dataset: DataSet | None,
    seconds: float,
    dry_run: bool,
    groups: dict[str, list[str]],
) -> dict[str, Any]:
    return {
        "folder": str(folder),
        "dataset": {"id": dataset.id, "name": dataset.name} if dataset is not None else None,
        "dry_run": dry_run,
        "ok": not groups["failed"],
        "seconds": round(seconds, 3),
        "counts": {result: len(paths) for result, paths in groups.items()},
        "files": [_step_json(step) for step in plan.steps]
        + [
            {"path": path, "result": "failed", "error": f"cannot read the file: {reason}"}
            for path, reason in scan.unreadable
        ],
        "unmanaged_documents": plan.unmanaged,
    }


def _step_json(step: Step) -> dict[str, Any]:
    return {
        "path": step.path,
        "result": step.result,
        "planned": str(step.action),
        "upload": step.upload,
        "parse": step.parse,
        "adopt": step.adopt,
        "document_id": step.document_id or (step.keeper.id if step.keeper else None),
        "obsolete_document_ids": [remote.id for remote in step.obsolete],
        "error": step.error,
    }
