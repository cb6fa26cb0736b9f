"""The demo: one dataset, one chat assistant, and every integration surface using them.

Run it with ``python -m ragflow_integrations.demo`` (or ``make demo``). It talks to a live RAGFlow
when both ``RAGFLOW_BASE_URL`` and ``RAGFLOW_API_KEY`` are set, and otherwise starts the embedded
:class:`~ragflow_integrations.testing.LocalRAGFlowServer` on 127.0.0.1. What it creates is deleted
at the end (``--keep`` keeps it on a live server).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TextIO

from ragflow_integrations import Chat, Chunk, DataSet, RAGFlow, RAGFlowError
from ragflow_integrations.demo._report import Report, one_line

__all__ = ["main"]

SEARCH_QUESTION = "What water temperature should I brew coffee with?"
CHAIN_QUESTION = "Which planet is the hottest, and why?"
QUERY_ENGINE_QUESTION = "What does a 304 Not Modified answer mean?"
CHAT_QUESTION = "How long does cold brew steep?"
AGENT_QUESTION = "Who discovered oxygen?"

_CITATION = re.compile(r"\[ID:(\d+)\]")


@dataclass
class Target:
    """Where the demo runs: a client, a description for the output, and whether it is live."""

    client: RAGFlow
    description: str
    live: bool
    api_key: str = field(default="", repr=False)


@contextmanager
def connect(emulate: str, parse_delay: float) -> Iterator[Target]:
    """A live RAGFlow from the environment, or the embedded local server (stopped on exit)."""
    base_url = os.environ.get("RAGFLOW_BASE_URL")
    api_key = os.environ.get("RAGFLOW_API_KEY")
    if base_url and api_key:
        with RAGFlow(api_key=api_key, base_url=base_url) as client:
            description = f"RAGFlow at {base_url} (from RAGFLOW_BASE_URL)"
            yield Target(client, description, live=True, api_key=api_key)
        return
    from ragflow_integrations.testing import LocalRAGFlowServer

    with (
        LocalRAGFlowServer(emulate=emulate, parse_delay=parse_delay) as server,
        RAGFlow(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        description = f"local stand-in server at {server.base_url}, emulating RAGFlow"
        description = f"{description} {server.emulated_version}"
        yield Target(client, description, live=False, api_key=server.api_key)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the demo; returns the process exit code (0 on success)."""
    parser = argparse.ArgumentParser(
        prog="python -m ragflow_integrations.demo",
        description="A tour of ragflow_integrations against a local or live RAGFlow server.",
    )
    parser.add_argument(
        "--emulate",
        choices=["0.27", "0.22"],
        default="0.27",
        help="RAGFlow version the local server emulates (ignored for a live server)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the dataset and chat assistant it creates"
    )
    parser.add_argument(
        "--parse-delay",
        type=float,
        default=0.3,
        help="local server: simulated seconds of parsing per document (shows the progress bar)",
    )
    args = parser.parse_args(argv)
    report = Report(out or sys.stdout)
    started = time.monotonic()
    try:
        with connect(args.emulate, args.parse_delay) as target:
            Tour(target, report, keep=args.keep).run()
    except RAGFlowError as exc:
        report.write(f"\nThe demo failed: {type(exc).__name__}: {exc}")
        return 1
    except ImportError as exc:
        report.write(
            f"\nThe demo needs every extra: pip install 'ragflow-integrations[all]' ({exc})"
        )
        return 1
    report.write(f"\nDone in {time.monotonic() - started:.1f} s.")
    return 0


class Tour:
    """The demo's steps, sharing one dataset and one chat assistant."""

    def __init__(self, target: Target, report: Report, *, keep: bool) -> None:
        self.rag = target.client
        self.target = target
        self.report = report
        self.keep = keep
        self.dataset: DataSet | None = None
        self.chat: Chat | None = None

    @property
    def dataset_id(self) -> str:
        assert self.dataset is not None
        return self.dataset.id

    @property
    def chat_id(self) -> str:
        assert self.chat is not None
        return self.chat.id

    def run(self) -> None:
        report = self.report
        report.title("ragflow-integrations demo")
        report.field("Server", self.target.description)
        features = self.rag.features
        form = {"auto": "stream form detected per stream"}.get(
            features.stream_mode, f"streams {features.stream_mode} events"
        )
        report.field("Version", f"{features.version_text} ({form})")
        if not self.target.live:
            report.note(
                "The local server has no LLM: its chat assistants answer extractively, quoting "
                "the best-matching sentences of the retrieved chunks, each cited [ID:n]. A real "
                "RAGFlow answers with the assistant's configured model."
            )
        try:
            self.ingest()
            self.search()
            self.langchain_chain()
            self.llama_index_query_engine()
            self.streaming_chat()
            self.agent_with_search_tool()
        finally:
            self.clean_up()

    # ------------------------------------------------------------------------------- steps
    def ingest(self) -> None:
        self.report.section("Ingest: sync the sample folder into a new dataset (command line)")
        name = f"ragflow-integrations-demo-{uuid.uuid4().hex[:8]}"
        self.dataset = self.rag.create_dataset(
            name=name,
            description="Sample documents of the ragflow-integrations demo",
            chunk_method="naive",
            parser_config={"chunk_token_num": 64},
        )
        self.report.field("Dataset", f"{name} (id {self.dataset.id})")
        data = resources.files("ragflow_integrations.demo").joinpath("data")
        with resources.as_file(data) as location:
            folder = min(str(location), os.path.relpath(location), key=len)
            self.report.write(f"$ ragflow-integrations sync {folder} --dataset {name}")
            summary = self._sync(folder, name)
            for line in summary.splitlines():
                self.report.write("  " + line)
            again = json.loads(self._sync(folder, name, "--json"))
        self.report.write(
            f"Run again over the unchanged folder: {again['counts']['unchanged']} unchanged, "
            f"nothing uploaded, in {again['seconds']:.2f} s."
        )
        documents = self.dataset.list_documents()
        rows = [
            (document.name, f"{document.size} B", document.chunk_count, document.run)
            for document in sorted(documents, key=lambda document: document.name)
        ]
        self.report.table(["document", "size", "chunks", "status"], rows)

    def _sync(self, folder: str, dataset: str, *extra: str) -> str:
        """``ragflow-integrations sync`` in this process (its parse progress bar on stderr)."""
        from ragflow_integrations.cli import main as command_line

        out = io.StringIO()
        argv = ["sync", folder, "--dataset", dataset, "--poll-interval", "0.2", *extra]
        if not extra:
            argv.append("--progress")  # the parse progress bar, on stderr
        connection = ["--base-url", self.rag.base_url, "--api-key", self.target.api_key]
        code = command_line([*argv, *connection], stdout=out)
        if code != 0:
            raise RuntimeError(f"ragflow-integrations sync failed ({code}):\n{out.getvalue()}")
        return out.getvalue()

    def search(self) -> None:
        self.report.section("Search with the client: RAGFlow.retrieve_page()")
        result = self.rag.retrieve_page(
            SEARCH_QUESTION, [self.dataset_id], page_size=3, similarity_threshold=0.2
        )
        self.report.field("Question", SEARCH_QUESTION)
        self.report.field("Matches", f"{result.total} chunk(s) above the threshold; top 3:")
        self.report.table(["score", "vector", "term", "document", "passage"], _score_rows(result))

    def langchain_chain(self) -> None:
        from langchain_core.documents import Document
        from langchain_core.prompts import ChatPromptTemplate
        from langchain_core.runnables import RunnablePassthrough

        from ragflow_integrations.langchain import (
            ChatRAGFlow,
            RAGFlowRetriever,
            reference_documents,
        )

        self.report.section("LangChain: retriever | prompt | ChatRAGFlow (an LCEL chain)")
        self.chat = self.rag.create_chat(
            name=f"ragflow-integrations-demo-{uuid.uuid4().hex[:8]}", dataset_ids=[self.dataset_id]
        )
        self.report.field("Assistant", f"{self.chat.name} (id {self.chat.id})")

        def join_passages(documents: list[Document]) -> str:
            return "\n".join(document.page_content for document in documents)

        retriever = RAGFlowRetriever(client=self.rag, dataset_ids=[self.dataset_id], k=1)
        prompt = ChatPromptTemplate.from_messages(
            [("human", "{question}\n\nAnswer from these passages:\n{context}")]
        )
        model = ChatRAGFlow(client=self.rag, chat_id=self.chat_id)
        chain = {"context": retriever | join_passages, "question": RunnablePassthrough()} | prompt
        reply = (chain | model).invoke(CHAIN_QUESTION)
        self.report.field("Question", CHAIN_QUESTION)
        self.report.field("Answer", "")
        self.report.paragraph(str(reply.content), indent="  ")
        sources = reference_documents(reply)
        rows = [
            (f"[ID:{n}]", source.metadata.get("ragflow_document_name", ""), source.page_content)
            for n, source in enumerate(sources)
            if f"[ID:{n}]" in str(reply.content)
        ]
        self.report.write("Cited references (response_metadata['references']):")
        self.report.table(["cite", "document", "passage"], rows)

    def llama_index_query_engine(self) -> None:
        from llama_index.core.query_engine import RetrieverQueryEngine

        from ragflow_integrations.llama_index import RAGFlowLLM, RAGFlowRetriever

        self.report.section("LlamaIndex: RetrieverQueryEngine(RAGFlowRetriever, RAGFlowLLM)")
        retriever = RAGFlowRetriever(
            dataset_ids=[self.dataset_id], similarity_top_k=1, client=self.rag
        )
        llm = RAGFlowLLM(chat_id=self.chat_id, client=self.rag)
        engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
        response = engine.query(QUERY_ENGINE_QUESTION)
        self.report.field("Question", QUERY_ENGINE_QUESTION)
        self.report.field("Answer", "")
        self.report.paragraph(str(response), indent="  ")
        self.report.write("Source nodes:")
        rows = [
            (
                f"{node.score or 0.0:.3f}",
                node.metadata.get("ragflow_document_name", ""),
                node.get_content(),
            )
            for node in response.source_nodes
        ]
        self.report.table(["score", "document", "passage"], rows)

    def streaming_chat(self) -> None:
        assert self.chat is not None
        self.report.section("Streaming chat with citations: Session.ask(stream=True)")
        session = self.chat.create_session(name="demo session")
        self.report.field("Question", CHAT_QUESTION)
        self.report.write("Answer (streamed as it arrives):")
        final = None
        with self.report.stream(indent="  ") as stream:
            for message in session.ask(CHAT_QUESTION, stream=True):
                stream.write(message.delta)
                final = message
        if final is None:
            raise RuntimeError("the chat stream ended without any message")
        if final.final_content:
            # RAGFlow before v0.24 rewrites the answer in its last event (citation markers
            # inserted): the deltas cannot express that, the rewritten text is final_content
            self.report.write("The server's last event rewrote the answer (final_content):")
            self.report.paragraph(final.final_content, indent="  ")
        cited = {int(n) for n in _CITATION.findall(final.final_content or final.content)}
        rows = [
            (f"[ID:{n}]" if n in cited else "", chunk.document_name or "", chunk.content)
            for n, chunk in enumerate(final.reference)
        ]
        self.report.write(
            f"Sources ({len(final.reference)} reference chunk(s) came with the last message; "
            "[ID:n] where the answer cites one):"
        )
        self.report.table(["cite", "document", "passage"], rows)

    def agent_with_search_tool(self) -> None:
        from ragflow_integrations.demo.agent import ScriptedToolCallingModel, run_tool_agent
        from ragflow_integrations.langchain import RAGFlowSearchTool

        self.report.section("Agent: a tool-calling loop with RAGFlowSearchTool")
        self.report.note(
            "The agent's model is SCRIPTED (no LLM runs offline): it always calls the search "
            "tool once with the question, then answers with the line of the first returned "
            "passage that shares the most words with the question. The tool call and the "
            "search against RAGFlow are real."
        )
        tool = RAGFlowSearchTool(client=self.rag, dataset_ids=[self.dataset_id], k=2)
        model = ScriptedToolCallingModel(tool_name=tool.name)
        trace = run_tool_agent(model, [tool], AGENT_QUESTION)
        self.report.field("Question", AGENT_QUESTION)
        for call in trace.tool_calls:
            self.report.field("Tool call", f"{call['name']}({call['args']})")
        for output in trace.tool_outputs:
            self.report.field("Tool said", "")
            for line in output.splitlines()[:4]:
                self.report.write("  " + one_line(line, self.report.width - 2))
        self.report.field("Answer", "")
        self.report.paragraph(trace.answer, indent="  ")

    def clean_up(self) -> None:
        if self.keep and self.target.live:
            self.report.section("Clean-up skipped (--keep)")
            return
        self.report.section("Clean up what the demo created")
        if self.chat is not None:
            self.rag.delete_chats([self.chat.id])
            self.report.write(f"  deleted chat assistant {self.chat.id}")
        if self.dataset is not None:
            self.rag.delete_datasets([self.dataset.id])
            self.report.write(f"  deleted dataset {self.dataset.id}")
        if not self.target.live:
            self.report.write("  the local server stops and removes its temporary directory")


def _score_rows(result: Any) -> list[tuple[str, str, str, str, str]]:
    chunks: list[Chunk] = list(result.chunks)
    return [
        (
            f"{chunk.similarity or 0.0:.3f}",
            f"{chunk.vector_similarity or 0.0:.3f}",
            f"{chunk.term_similarity or 0.0:.3f}",
            chunk.document_name or "",
            chunk.content,
        )
        for chunk in chunks
    ]
