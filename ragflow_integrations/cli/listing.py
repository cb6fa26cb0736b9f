"""``datasets`` and ``documents --dataset NAME``: what the server holds, with parse status."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from ..models import Document
from .context import CommandContext
from .output import print_json, print_table
from .plan import SOURCE_PATH_KEY

__all__ = ["add_parsers"]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    datasets = commands.add_parser(
        "datasets",
        parents=[common],
        help="list the datasets with their document and chunk counts",
        description="List the datasets the API key can see.",
    )
    datasets.add_argument("--json", action="store_true", help="print the datasets as JSON")
    datasets.set_defaults(run=run_datasets)
    documents = commands.add_parser(
        "documents",
        parents=[common],
        help="list a dataset's documents with their parse status",
        description="List the documents of a dataset, with parse status, chunks and source path.",
    )
    documents.add_argument("--dataset", required=True, metavar="NAME_OR_ID")
    documents.add_argument("--json", action="store_true", help="print the documents as JSON")
    documents.set_defaults(run=run_documents)


def run_datasets(ctx: CommandContext) -> int:
    datasets = list(ctx.client.iter_datasets())
    if ctx.args.json:
        print_json(ctx.out, [dataset.model_dump(mode="json") for dataset in datasets])
        return 0
    rows = [(d.name, d.document_count, d.chunk_count, d.chunk_method or "", d.id) for d in datasets]
    print_table(ctx.out, ["name", "documents", "chunks", "method", "id"], rows, right=[1, 2])
    ctx.out.write(f"{len(datasets)} dataset(s)\n")
    return 0


def _status(document: Document) -> str:
    run = str(document.run or "UNSTART")
    if run == "RUNNING":
        return f"RUNNING {max(0.0, document.progress) * 100:.0f}%"
    return run


def run_documents(ctx: CommandContext) -> int:
    dataset = ctx.dataset(ctx.args.dataset)
    documents = list(dataset.iter_documents())
    if ctx.args.json:
        print_json(ctx.out, [document.model_dump(mode="json") for document in documents])
        return 0
    rows = [
        (
            d.name,
            _status(d),
            d.chunk_count,
            d.size,
            d.id,
            str((d.meta_fields or {}).get(SOURCE_PATH_KEY, "")),
        )
        for d in documents
    ]
    print_table(
        ctx.out, ["name", "status", "chunks", "bytes", "id", "source path"], rows, right=[2, 3]
    )
    counts = Counter(str(d.run or "UNSTART") for d in documents)
    states = ", ".join(f"{n} {run}" for run, n in sorted(counts.items()))
    ctx.out.write(
        f"{len(documents)} document(s) in {dataset.name!r}"
        + (f": {states}" if states else "")
        + "\n"
    )
    return 0
