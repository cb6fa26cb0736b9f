"""``ask QUESTION --chat NAME``: a chat assistant's answer and the documents it cites."""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..models import Chunk
from .context import CommandContext
from .output import print_json, print_table

__all__ = ["add_parser", "run"]

_CITATION = re.compile(r"\[ID:(\d+)\]")


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "ask",
        parents=[common],
        help="ask a chat assistant; print its answer and cited documents",
        description=(
            "Ask a chat assistant one question (no session is kept) and print the answer, "
            "then the documents its [ID:n] markers cite."
        ),
    )
    parser.add_argument("question", metavar="QUESTION")
    parser.add_argument("--chat", required=True, metavar="NAME_OR_ID")
    parser.add_argument("--stream", action="store_true", help="print the answer as it comes")
    parser.add_argument("--json", action="store_true", help="print answer and sources as JSON")
    parser.set_defaults(run=run)


def _chunks(reference: Any) -> list[Chunk]:
    return [r if isinstance(r, Chunk) else Chunk.model_validate(r) for r in reference or []]


def run(ctx: CommandContext) -> int:
    args = ctx.args
    chat = ctx.chat(args.chat)
    messages = [{"role": "user", "content": args.question}]
    if args.stream and not args.json:
        answer, reference = "", list[Chunk]()
        for event in ctx.client.chat_completion(chat.id, messages, stream=True):
            ctx.out.write(event.delta)
            ctx.out.flush()
            # servers before v0.24 rewrite the final answer to insert the [ID:n] markers
            answer = event.final_content or event.content or answer
            reference = _chunks(event.reference) or reference
        ctx.out.write("\n")
    else:
        message = ctx.client.chat_completion(chat.id, messages)
        answer, reference = message.content, _chunks(message.reference)
        if not args.json:
            ctx.out.write(answer.rstrip() + "\n")
    cited = {int(n) for n in _CITATION.findall(answer)}
    sources = [
        (index, chunk)
        for index, chunk in enumerate(reference)
        if index in cited or not cited  # no markers: every reference is a source
    ]
    if args.json:
        print_json(
            ctx.out,
            {
                "chat": {"id": chat.id, "name": chat.name},
                "question": args.question,
                "answer": answer,
                "sources": [
                    {
                        "id": index,
                        "cited": index in cited,
                        "document_name": chunk.document_name,
                        "document_id": chunk.document_id,
                        "content": chunk.content,
                    }
                    for index, chunk in enumerate(reference)
                ],
            },
        )
        return 0
    if sources:
        ctx.out.write("\n")
        rows = [(f"[ID:{index}]", chunk.document_name, chunk.content) for index, chunk in sources]
        print_table(ctx.out, ["cite", "document", "passage"], rows)
    return 0
