"""``RAGFlowToolSpec``: RAGFlow search, dataset listing and chat assistants as agent tools."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from llama_index.core.tools import FunctionTool
from llama_index.core.tools.tool_spec.base import SPEC_FUNCTION_TYPE, BaseToolSpec
from llama_index.core.tools.types import ToolMetadata

from ragflow_integrations import AsyncDataSet, AsyncRAGFlow, Chunk, DataSet, Message, RAGFlow
from ragflow_integrations._tool_descriptions import DatasetAbout, datasets_description
from ragflow_integrations.llama_index._clients import ClientPair
from ragflow_integrations.mapping import chunk_to_record

_MAX_PASSAGE_CHARS = 2000
MAX_DESCRIPTION_CHARS = 1024
"""LlamaIndex's limit (``ToolMetadata.to_openai_tool`` refuses longer tool descriptions)."""


class RAGFlowToolSpec(BaseToolSpec):
    """Tools an agent uses to search RAGFlow knowledge bases and ask RAGFlow chat assistants.

    ``to_tool_list()`` returns ``search_knowledge_base`` and ``list_datasets``, plus
    ``ask_assistant`` when a ``chat_id`` is given. Each tool has a sync and a native async function.

    Args:
        dataset_ids: Datasets searched by default (the agent may pass its own).
        chat_id: Chat assistant behind ``ask_assistant``.
        similarity_top_k: Passages returned per search.
        retrieval_kwargs: Extra ``retrieve`` options (``similarity_threshold``, ``rerank_id``, ...).
        describe_datasets: Fetch the default datasets' names and descriptions once, in
            ``to_tool_list()``, and add them to the search tool's description so the agent knows
            what the knowledge base covers: one summarised line per dataset within LlamaIndex's
            1,024-character tool description limit (summaries get shorter, then are left out,
            until all fit; past that the rest are counted, and ``list_datasets`` shows them all).
    """

    spec_functions: list[SPEC_FUNCTION_TYPE] = ["search_knowledge_base", "list_datasets"]

    def __init__(
        self,
        dataset_ids: Sequence[str] | None = None,
        *,
        chat_id: str | None = None,
        similarity_top_k: int = 5,
        retrieval_kwargs: dict[str, Any] | None = None,
        describe_datasets: bool = False,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
    ) -> None:
        self.dataset_ids = list(dataset_ids or [])
        self.chat_id = chat_id
        self.similarity_top_k = similarity_top_k
        self.retrieval_kwargs = dict(retrieval_kwargs or {})
        self.describe_datasets = describe_datasets
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )
        self.spec_functions = ["search_knowledge_base", "list_datasets"]
        if chat_id:
            self.spec_functions.append("ask_assistant")

    def to_tool_list(
        self,
        spec_functions: list[SPEC_FUNCTION_TYPE] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[FunctionTool]:
        """One ``FunctionTool`` per spec function, with its sync and native async implementation."""
        names = self._tool_names(spec_functions)
        about = []
        if self._describes(names):
            about = [_about(self._clients.sync.get_dataset(id=i)) for i in self.dataset_ids]
        return self._build_tools(names, func_to_metadata_mapping, about)

    async def to_tool_list_async(
        self,
        spec_functions: list[SPEC_FUNCTION_TYPE] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[FunctionTool]:
        """Async twin of :meth:`to_tool_list`: the dataset descriptions (``describe_datasets``)
        come through the async client, so nothing blocks the event loop or needs a thread."""
        names = self._tool_names(spec_functions)
        about = []
        if self._describes(names):
            client = self._clients.async_
            about = [_about(await client.get_dataset(id=i)) for i in self.dataset_ids]
        return self._build_tools(names, func_to_metadata_mapping, about)

    def _tool_names(self, spec_functions: list[SPEC_FUNCTION_TYPE] | None) -> list[str]:
        return [s if isinstance(s, str) else s[0] for s in spec_functions or self.spec_functions]

    def _describes(self, names: list[str]) -> bool:
        """Whether the tools need the default datasets' descriptions (fetched once per list)."""
        return self.describe_datasets and "search_knowledge_base" in names

    def _build_tools(
        self,
        names: list[str],
        func_to_metadata_mapping: dict[str, ToolMetadata] | None,
        about: list[DatasetAbout],
    ) -> list[FunctionTool]:
        mapping = func_to_metadata_mapping or {}
        tools = []
        for name in names:
            function = getattr(self, name)
            tools.append(
                FunctionTool.from_defaults(
                    fn=function,
                    async_fn=getattr(self, f"a{name}", None),
                    name=name,
                    description=self._describe(name, function, about),
                    tool_metadata=mapping.get(name),
                )
            )
        return tools

    def _describe(self, name: str, function: Callable[..., Any], about: list[DatasetAbout]) -> str:
        """Signature plus dedented docstring (and ``about`` the default datasets, if asked for)."""
        signature = inspect.signature(function, eval_str=True)
        description = f"{name}{signature}\n{inspect.getdoc(function)}"
        if name != "search_knowledge_base" or not about:
            return description
        return datasets_description(
            description + "\nDefault knowledge bases:",
            about,
            listing_tool="list_datasets",
            max_chars=MAX_DESCRIPTION_CHARS,
        )

    # ----- search -----------------------------------------------------------------------------
    def search_knowledge_base(self, query: str, dataset_ids: list[str] | None = None) -> str:
        """Search the RAGFlow knowledge base for passages relevant to a question.

        Use this whenever the answer may be in the organisation's documents. Write `query` as a
        short, specific search phrase or question. Leave `dataset_ids` empty to search the default
        knowledge bases, or pass ids obtained from list_datasets. Returns numbered passages, each
        with its source document name and relevance score; cite the document names you use.
        """
        chunks = self._clients.sync.retrieve(query, **self._search_kwargs(dataset_ids))
        return _format_passages(chunks[: self.similarity_top_k])

    async def asearch_knowledge_base(self, query: str, dataset_ids: list[str] | None = None) -> str:
        """Search the RAGFlow knowledge base for passages relevant to a question."""
        chunks = await self._clients.async_.retrieve(query, **self._search_kwargs(dataset_ids))
        return _format_passages(chunks[: self.similarity_top_k])

    def _search_kwargs(self, dataset_ids: list[str] | None) -> dict[str, Any]:
        targets = list(dataset_ids or self.dataset_ids)
        if not targets:
            raise ValueError("no knowledge base to search: call list_datasets and pass dataset_ids")
        return {**self.retrieval_kwargs, "dataset_ids": targets, "limit": self.similarity_top_k}

    # ----- datasets ---------------------------------------------------------------------------
    def list_datasets(self, name_contains: str | None = None) -> str:
        """List the RAGFlow knowledge bases (datasets) you can search.

        Use this to find which knowledge base covers a topic before searching, or when a search
        needs dataset ids. Optionally pass `name_contains` to keep only datasets whose name contains
        that text. Returns one line per dataset: id, name, document count and description.
        """
        return _format_datasets(self._clients.sync.iter_datasets(), name_contains)

    async def alist_datasets(self, name_contains: str | None = None) -> str:
        """List the RAGFlow knowledge bases (datasets) you can search."""
        datasets = [d async for d in self._clients.async_.iter_datasets()]
        return _format_datasets(datasets, name_contains)

    # ----- chat assistant ---------------------------------------------------------------------
    def ask_assistant(self, question: str) -> str:
        """Ask the RAGFlow chat assistant a complete, self-contained question.

        The assistant searches its own knowledge bases and writes an answer with citations. Use it
        for questions that need a synthesised answer rather than raw passages. Include all needed
        context in `question`: the assistant does not see this conversation. Returns the answer
        followed by the names of its source documents.
        """
        message = self._clients.sync.chat_completion(
            self._require_chat(), [{"role": "user", "content": question}]
        )
        return _format_answer(message)

    async def aask_assistant(self, question: str) -> str:
        """Ask the RAGFlow chat assistant a complete, self-contained question."""
        message = await self._clients.async_.chat_completion(
            self._require_chat(), [{"role": "user", "content": question}]
        )
        return _format_answer(message)

    def _require_chat(self) -> str:
        if not self.chat_id:
            raise ValueError("ask_assistant needs RAGFlowToolSpec(chat_id=...)")
        return self.chat_id


def _about(dataset: DataSet | AsyncDataSet) -> DatasetAbout:
    """``(id, name, description)`` of a default dataset, for the search tool's description."""
    return dataset.id, dataset.name, dataset.description


def _format_passages(chunks: Sequence[Chunk]) -> str:
    if not chunks:
        return "No relevant passages found."
    lines = []
    for number, chunk in enumerate(chunks, start=1):
        record = chunk_to_record(chunk)
        name = record.document_name or record.document_id or "?"
        score = f"{record.score:.2f}" if record.score is not None else "n/a"
        text = (
            record.text
            if len(record.text) <= _MAX_PASSAGE_CHARS
            else (record.text[:_MAX_PASSAGE_CHARS] + " …")
        )
        lines.append(f"[{number}] (source: {name}; score: {score})\n{text}")
    return "\n\n".join(lines)


def _format_datasets(datasets: Iterable[DataSet | AsyncDataSet], name_contains: str | None) -> str:
    needle = (name_contains or "").lower()
    lines = []
    for dataset in datasets:
        if needle and needle not in (dataset.name or "").lower():
            continue
        description = (dataset.description or "").strip().replace("\n", " ")
        line = f"- id: {dataset.id} | name: {dataset.name} | documents: {dataset.document_count}"
        lines.append(line + (f" | description: {description}" if description else ""))
    return "\n".join(lines) if lines else "No datasets found."


def _format_answer(message: Message) -> str:
    answer = (message.content or "").strip()
    names: list[str] = []
    for chunk in message.reference or []:
        name = chunk_to_record(chunk).document_name
        if name and name not in names:
            names.append(str(name))
    return answer + (f"\n\nSources: {', '.join(names)}" if names else "")
