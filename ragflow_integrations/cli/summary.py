"""The end of ``sync``: a table of what happened to which file (or the plan, for ``--dry-run``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models import DataSet
from .context import CommandContext
from .folder import Scan
from .output import print_json, print_table
from .plan import Action, Plan, Step

__all__ = ["SyncReport", "print_summary"]

RESULTS = ("added", "replaced", "deleted", "unchanged", "failed")


def _unreadable(why: str) -> str:
    return f"cannot read the file: {why}"


def _names(paths: list[str]) -> str:
    return ", ".join(paths)


@dataclass
class SyncReport:
    """One ``sync`` run: the plan as applied (or planned, for a dry run) and the scan."""

    plan: Plan
    scan: Scan
    folder: Path
    dataset: DataSet | None
    seconds: float
    dry_run: bool

    def groups(self) -> dict[str, list[str]]:
        """Paths per result (the summary's rows, plus ``stale``)."""
        found: dict[str, list[str]] = {result: [] for result in (*RESULTS, "stale")}
        for step in self.plan.steps:
            found[step.result].append(step.path)
        found["failed"] += [path for path, _ in self.scan.unreadable]
        return found

    def failures(self) -> list[tuple[str, str]]:
        found = [(step.path, step.error or "") for step in self.plan.steps if step.error]
        return found + [(path, _unreadable(why)) for path, why in self.scan.unreadable]


def print_summary(ctx: CommandContext, report: SyncReport) -> None:
    if ctx.args.json:
        print_json(ctx.out, _as_json(report))
        return
    groups, plan, out = report.groups(), report.plan, ctx.out
    if report.dataset is not None:
        target = f"dataset {report.dataset.name!r}"
    else:
        target = f"new dataset {ctx.args.dataset!r}"
    files = len(report.scan.files) + len(report.scan.unreadable)
    if report.dry_run:
        out.write(
            f"Dry run, nothing changed: the plan for {files} file(s) of {report.folder} → "
            f"{target}\n"
        )
    else:
        out.write(
            f"Synced {files} file(s) of {report.folder} → {target} in {report.seconds:.1f} s\n"
        )
    rows = [(result, len(groups[result]), _names(groups[result])) for result in RESULTS]
    print_table(out, ["plan" if report.dry_run else "result", "files", "paths"], rows, right=[1])
    if report.dry_run:
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
    if failures := report.failures():
        out.write("\nfailed:\n")
        for path, reason in failures:
            out.write(f"  {path}: {reason}\n")
    if groups["stale"]:
        out.write(
            f"kept {len(groups['stale'])} document(s) whose file is gone (--delete removes "
            f"them): {_names(groups['stale'])}\n"
        )


def _as_json(report: SyncReport) -> dict[str, Any]:
    groups, dataset = report.groups(), report.dataset
    return {
        "folder": str(report.folder),
        "dataset": {"id": dataset.id, "name": dataset.name} if dataset is not None else None,
        "dry_run": report.dry_run,
        "ok": not groups["failed"],
        "seconds": round(report.seconds, 3),
        "counts": {result: len(paths) for result, paths in groups.items()},
        "files": [_step_json(step) for step in report.plan.steps]
        + [
            {"path": path, "result": "failed", "error": _unreadable(why)}
            for path, why in report.scan.unreadable
        ],
        "unmanaged_documents": report.plan.unmanaged,
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
