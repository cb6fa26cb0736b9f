"""Adapter overhead: the LangChain and LlamaIndex retrievers against ``RAGFlow.retrieve`` sending
the same request through the same client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from benchmarks._context import PAGE_SIZE, QUESTION, Context, Corpus, RequestRecorder
from benchmarks._harness import Row, cpu_note, measure, per_call
from benchmarks._profile import extra_time

TARGET = 1.3


def _body(request: requests.PreparedRequest) -> Any:
    body = request.body
    return json.loads(body) if body else None


def _compare_adapter(
    context: Context,
    row: Row,
    recorder: RequestRecorder,
    adapter_call: Callable[[], object],
    client_call: Callable[[], object],
) -> Row:
    """Measure ``adapter_call`` against ``client_call`` and check that both send the same body."""
    sent = []
    for call in (adapter_call, client_call):
        recorder.reset()
        call()
        sent.append([_body(request) for request in recorder.requests])
    row.note = (
        "same request body as the adapter"
        if sent[0] == sent[1]
        else f"request bodies differ: adapter {sent[0]} vs client {sent[1]}"
    )
    adapter_round = per_call(adapter_call, context.size.calls)
    client_round = per_call(client_call, context.size.calls)
    measure(row, adapter_round, client_round, context.size.rounds)
    row.note += "; " + cpu_note(adapter_round, client_round)
    if row.met is False:
        row.details = extra_time(adapter_call, client_call, context.size.calls * 4)
    return row


def run(context: Context) -> list[Row]:
    from ragflow_integrations import RAGFlow
    from ragflow_integrations.langchain import RAGFlowRetriever as LangChainRetriever
    from ragflow_integrations.llama_index import RAGFlowRetriever as LlamaIndexRetriever

    corpus: Corpus = context.corpus
    recorder = RequestRecorder()
    client = RAGFlow(
        api_key=corpus.api_key,
        base_url=corpus.base_url,
        session=recorder.attach(requests.Session()),
    )
    datasets = [corpus.dataset_id]
    try:
        langchain = LangChainRetriever(client=client, dataset_ids=datasets, k=PAGE_SIZE)
        langchain_kwargs: dict[str, Any] = langchain._search_kwargs({})
        llama_index = LlamaIndexRetriever(datasets, client=client, similarity_top_k=PAGE_SIZE)
        llama_index_kwargs: dict[str, Any] = llama_index._retrieval_kwargs()
        client.retrieve(QUESTION, **langchain_kwargs)  # settles the version probe
        rows = [
            _compare_adapter(
                context,
                Row(
                    "adapter.langchain",
                    "Adapter overhead",
                    "LangChain `RAGFlowRetriever.invoke`",
                    "`RAGFlow.retrieve`, same arguments",
                    "ms/call",
                    target=TARGET,
                ),
                recorder,
                lambda: langchain.invoke(QUESTION),
                lambda: client.retrieve(QUESTION, **langchain_kwargs),
            ),
            _compare_adapter(
                context,
                Row(
                    "adapter.llama_index",
                    "Adapter overhead",
                    "LlamaIndex `RAGFlowRetriever.retrieve`",
                    "`RAGFlow.retrieve`, same arguments",
                    "ms/call",
                    target=TARGET,
                ),
                recorder,
                lambda: llama_index.retrieve(QUESTION),
                lambda: client.retrieve(QUESTION, **llama_index_kwargs),
            ),
        ]
    finally:
        client.close()
    return rows
