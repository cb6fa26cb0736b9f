"""LangChain tools: search RAGFlow datasets, list them, ask a chat assistant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Self

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
)
from langchain_core.documents import Document
from langchain_core.tools import BaseTool, BaseToolkit, ToolException
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ragflow_integrations._tool_descriptions import datasets_description, summarise
from ragflow_integrations.langchain._client import RAGFlowConnection
from ragflow_integrations.langchain.chat_models import ChatRAGFlow, reference_documents
from ragflow_integrations.langchain.retrievers import SEARCH_PARAMS, RAGFlowSearchParams
from ragflow_integrations.mapping import DOCUMENT_ID_KEY, DOCUMENT_NAME_KEY

MAX_SOURCE_CHARS = 1500


class RAGFlowSearchInput(BaseModel):
    """Arguments of :class:`RAGFlowSearchTool`."""

    query: str = Field(description="What to look for, as a natural-language question or keywords.")
    k: int | None = Field(
        default=None, ge=1, le=50, description="How many passages to return (optional)."
    )
    dataset_ids: list[str] | None = Field(
        default=None,
        description="Search only these datasets (ids from the tool description); default: all.",
    )


def describe_invalid_arguments(error: ValidationError | Any) -> str:
    """The text an agent gets back for arguments outside the tool's schema (so it can retry)."""
    try:
        problems = [
            f"{'.'.join(str(part) for part in problem.get('loc', ())) or 'input'}: "
            f"{problem.get('msg', '')}"
            for problem in error.errors()
        ]
    except Exception:  # any other validation error type: its own text
        problems = [str(error)]
    return "Invalid arguments: " + "; ".join(problems)


def format_sources(documents: list[Document], *, max_chars: int = MAX_SOURCE_CHARS) -> str:
    """Numbered passages for a model to read and cite: ``[n] name (chunk id)`` then the text."""
    if not documents:
        return "No matching passages found."
    blocks = []
    for number, doc in enumerate(documents, start=1):
        meta = doc.metadata
        name = meta.get(DOCUMENT_NAME_KEY) or meta.get(DOCUMENT_ID_KEY) or "source"
        text = doc.page_content.strip()
        if len(text) > max_chars:
            text = text[:max_chars].rstrip() + " …"
        blocks.append(f"[{number}] {name} (chunk {doc.id})\n{text}")
    return "\n\n".join(blocks)


class RAGFlowSearchTool(RAGFlowSearchParams, BaseTool):
    """Searches RAGFlow datasets for an agent.

    Returns ``(text, documents)`` (``response_format="content_and_artifact"``): the text lists the
    passages numbered ``[1]``, ``[2]``... for the model to cite, the artifact is the list of
    ``Document``s (as from :class:`RAGFlowRetriever`) for the application. An unknown dataset id
    comes back to the model as an error ``ToolMessage`` (``status="error"``) so it can retry.

    Example:
        .. code-block:: python

            tool = RAGFlowSearchTool(dataset_ids=["<dataset id>"], k=4)
            tool.invoke({"query": "refund policy"})
    """

    model_config = ConfigDict(extra="forbid")  # a misspelled option is an error

    name: str = "ragflow_search"
    description: str = (
        "Search the RAGFlow knowledge base and return numbered passages with their source "
        "documents. Use it to answer questions from the indexed documents."
    )
    args_schema: type[BaseModel] = RAGFlowSearchInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], str] | None = True
    """A bad argument (an unknown dataset id) goes back to the model as an error message."""
    handle_validation_error: bool | str | Callable[[Any], str] | None = describe_invalid_arguments
    """Arguments outside the schema (``k`` above 50) go back to the model as an error message."""

    def _overrides(self, k: int | None, dataset_ids: list[str] | None) -> dict[str, Any]:
        overrides: dict[str, Any] = {}
        if k is not None:
            overrides["k"] = k
        if dataset_ids:
            unknown = sorted(set(dataset_ids) - set(self.dataset_ids))
            if self.dataset_ids and unknown:
                raise ToolException(
                    f"unknown dataset id(s) {unknown}; choose from {self.dataset_ids}"
                )
            overrides["dataset_ids"] = list(dataset_ids)
        return overrides

    def _checked_kwargs(self, overrides: dict[str, Any]) -> None:
        """Turn a parameter problem (no dataset to search) into an error for the model."""
        try:
            self._search_kwargs(overrides)
        except (ValueError, TypeError) as exc:
            raise ToolException(str(exc)) from exc

    def _run(
        self,
        query: str,
        k: int | None = None,
        dataset_ids: list[str] | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[Document]]:
        overrides = self._overrides(k, dataset_ids)
        self._checked_kwargs(overrides)
        documents = self._search(query, overrides)
        return format_sources(documents), documents

    async def _arun(
        self,
        query: str,
        k: int | None = None,
        dataset_ids: list[str] | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[Document]]:
        overrides = self._overrides(k, dataset_ids)
        self._checked_kwargs(overrides)
        documents = await self._asearch(query, overrides)
        return format_sources(documents), documents


class RAGFlowListDatasetsTool(BaseTool):
    """Lists the datasets an agent can search (id, name, description, size)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "ragflow_list_datasets"
    description: str = "List the RAGFlow datasets that can be searched, with their descriptions."
    catalogue: str = ""
    """The text returned (built once by the toolkit)."""

    def _run(self, run_manager: CallbackManagerForToolRun | None = None) -> str:
        return self.catalogue

    async def _arun(self, run_manager: AsyncCallbackManagerForToolRun | None = None) -> str:
        return self.catalogue


class RAGFlowAskInput(BaseModel):
    """Arguments of :class:`RAGFlowAskTool`."""

    question: str = Field(description="A self-contained question for the chat assistant.")


class RAGFlowAskTool(BaseTool):
    """Asks a RAGFlow chat assistant a one-off question; the artifact is its references."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "ragflow_ask"
    description: str = "Ask the RAGFlow chat assistant a question and get a sourced answer."
    args_schema: type[BaseModel] = RAGFlowAskInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_validation_error: bool | str | Callable[[Any], str] | None = describe_invalid_arguments
    """Arguments outside the schema go back to the model as an error message."""
    model: ChatRAGFlow
    """The chat model answering (stateless)."""

    def _run(
        self, question: str, run_manager: CallbackManagerForToolRun | None = None
    ) -> tuple[str, list[Document]]:
        reply = self.model.invoke(question)
        return str(reply.content), reference_documents(reply)

    async def _arun(
        self, question: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> tuple[str, list[Document]]:
        reply = await self.model.ainvoke(question)
        return str(reply.content), reference_documents(reply)


class RAGFlowToolkit(RAGFlowConnection, BaseToolkit):
    """Tools for an agent over RAGFlow: search, list datasets and (with ``chat_id``) ask.

    The datasets (``dataset_ids``, or every dataset the key can see) are fetched once. The search
    tool's description names them with a one-line summary each in at most 2,000 characters (it
    is sent with every model call): summaries get shorter, then are left out, until all fit; past
    that the rest are counted and the agent is pointed at ``ragflow_list_datasets``, which
    returns every dataset with its full description.

    Example:
        .. code-block:: python

            tools = RAGFlowToolkit(dataset_ids=["<id>"], chat_id="<chat id>").get_tools()
    """

    dataset_ids: list[str] | None = None
    """Datasets the tools may use; None = all datasets visible to the API key."""
    chat_id: str | None = None
    """Chat assistant for the ask tool (no ask tool when None)."""
    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Default search parameters (``k``, ``similarity_threshold``...). ``dataset_ids`` given
    here is the same as the toolkit's ``dataset_ids`` (giving two different lists is an error)."""

    _datasets: list[tuple[str, str, str]] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_search_kwargs(self) -> Self:
        unknown = sorted(set(self.search_kwargs) - set(SEARCH_PARAMS))
        if unknown:
            raise ValueError(
                f"search_kwargs takes search parameters only, not {unknown}: pass any of "
                f"{[name for name in SEARCH_PARAMS if name != 'dataset_ids']}"
            )
        if "dataset_ids" in self.search_kwargs:
            search_kwargs = dict(self.search_kwargs)
            ids = search_kwargs.pop("dataset_ids")
            ids = None if ids is None else list(ids)
            if self.dataset_ids is not None and ids is not None and ids != self.dataset_ids:
                raise ValueError(
                    f"dataset_ids={self.dataset_ids} and search_kwargs['dataset_ids']={ids} "
                    "differ: pass the datasets once, as RAGFlowToolkit(dataset_ids=...)"
                )
            self.search_kwargs = search_kwargs
            if self.dataset_ids is None:
                self.dataset_ids = ids
        return self

    def datasets(self) -> list[tuple[str, str, str]]:
        """``(id, name, description)`` of the datasets, fetched once."""
        if self._datasets is None:
            client = self._sync_client
            if self.dataset_ids is None:
                found = list(client.iter_datasets())
            else:
                found = [client.get_dataset(id=dataset_id) for dataset_id in self.dataset_ids]
            self._datasets = [(d.id, d.name, d.description or "") for d in found]
        return self._datasets

    def _catalogue(self) -> str:
        lines = [
            f"- {name} (id {dataset_id})" + (f": {description}" if description else "")
            for dataset_id, name, description in self.datasets()
        ]
        return "\n".join(lines) if lines else "(no datasets)"

    def _connection(self) -> dict[str, Any]:
        return {"client": self._sync_client, "async_client": self.async_client}

    def get_tools(self) -> list[BaseTool]:
        """The search and list tools, plus the ask tool when ``chat_id`` is set."""
        catalogue = self._catalogue()
        ids = [dataset_id for dataset_id, _, _ in self.datasets()]
        connection = {
            **self._connection(),
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "verify": self.verify,
        }
        search = RAGFlowSearchTool(
            dataset_ids=ids,
            description=datasets_description(
                "Search these RAGFlow datasets and return numbered passages with their sources. "
                "Pass dataset_ids to search only some of them.\nDatasets:",
                self.datasets(),
                listing_tool=RAGFlowListDatasetsTool.model_fields["name"].default,
            ),
            **self.search_kwargs,
            **connection,
        )
        tools: list[BaseTool] = [
            search,
            RAGFlowListDatasetsTool(catalogue="Datasets:\n" + catalogue),
        ]
        if self.chat_id is not None:
            chat = self._sync_client.get_chat(self.chat_id)
            about = summarise(chat.description)
            about = f" ({about})" if about else ""
            tools.append(
                RAGFlowAskTool(
                    model=ChatRAGFlow(chat_id=self.chat_id, **connection),
                    description=(
                        f"Ask the RAGFlow chat assistant '{summarise(chat.name)}'{about} a "
                        "self-contained question; it answers from its datasets and cites its "
                        "sources."
                    ),
                )
            )
        return tools
