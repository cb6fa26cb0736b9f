"""``search QUERY --dataset NAME``: the chunks a question retrieves, best first."""

from __future__ import annotations

import argparse
from typing import Any

from ..models import Chunk
from .context import CommandContext
from .options import count, fraction
from .output import print_json, print_table

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "search",
        parents=[common],
        help="show the chunks a question retrieves",
        description="Retrieve the chunks that best match QUERY (hybrid keyword + vector score).",
    )
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument(
        "--dataset", action="append", required=True, metavar="NAME_OR_ID", help="repeatable"
    )
    parser.add_argument(
        "-k", "--top-k", dest="k", type=count, default=5, metavar="N", help="chunks (default 5)"
    )
    parser.add_argument(
        "--threshold",
        type=fraction,
        default=0.2,
        metavar="X",
        help="minimum similarity, 0 to 1 (default 0.2)",
    )
    parser.add_argument("--json", action="store_true", help="print the chunks as JSON")
    parser.set_defaults(run=run)


def chunk_json(chunk: Chunk) -> dict[str, Any]:
    return {
        "similarity": chunk.similarity,
        "vector_similarity": chunk.vector_similarity,
        "term_similarity": chunk.term_similarity,
        "document_name": chunk.document_name,
        "document_id": chunk.document_id,
        "dataset_id": chunk.dataset_id,
        "chunk_id": chunk.id,
        "content": chunk.content,
    }


def run(ctx: CommandContext) -> int:
    args = ctx.args
    datasets = [ctx.dataset(name) for name in dict.fromkeys(args.dataset)]
    result = ctx.client.retrieve_page(
        args.query,
        [dataset.id for dataset in datasets],
        page_size=args.k,
        similarity_threshold=args.threshold,
    )
    if args.json:
        print_json(
            ctx.out,
            {
                "query": args.query,
                "datasets": [{"id": d.id, "name": d.name} for d in datasets],
                "total": result.total,
                "chunks": [chunk_json(chunk) for chunk in result.chunks],
            },
        )
        return 0
    if not result.chunks:
        ctx.out.write(f"no chunk scores {args.threshold:g} or more for this query\n")
        return 0
    rows = [
        (f"{chunk.similarity or 0.0:.3f}", chunk.document_name, chunk.content)
        for chunk in result.chunks
    ]
    print_table(ctx.out, ["score", "document", "passage"], rows)
    ctx.out.write(f"{len(result.chunks)} of {result.total} matching chunk(s)\n")
    return 0
