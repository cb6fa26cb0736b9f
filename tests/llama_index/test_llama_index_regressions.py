"""LlamaIndex adapters: regressions found in review, run against the local server (no cassette).

Each test pins one fixed behaviour: bounded tool descriptions, overlapped reads, the connection
kept by pickles, refusals of what RAGFlow cannot do (structured output, ReAct agents).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ragflow_integrations import RAGFlow
from ragflow_integrations.llama_index import RAGFlowToolSpec
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live


def _connection(server: LocalRAGFlowServer) -> dict[str, Any]:
    return {"api_key": server.api_key, "base_url": server.base_url}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer() as local:
        yield local


# ------------------------------------------------------------------------------- tools


def _many_datasets(client: RAGFlow, count: int) -> list[str]:
    return [
        client.create_dataset(
            name=f"kb-{number:03d}-product-line",
            description=(
                f"Knowledge base {number}: manuals, release notes, troubleshooting guides and "
                f"support answers for product line {number}, including warranty terms, spare "
                "parts lists, installation procedures and customers' frequent questions.\n" * 2
            ),
        ).id
        for number in range(count)
    ]


async def test_tool_spec_descriptions_stay_within_llama_index_limit() -> None:
    with LocalRAGFlowServer() as own, RAGFlow(**_connection(own)) as client:
        few = _many_datasets(client, 3)
        spec = RAGFlowToolSpec(few, describe_datasets=True, **_connection(own))
        description = spec.to_tool_list()[0].metadata.description
        assert all(dataset_id in description for dataset_id in few)
        assert "Knowledge base 2: manuals, release notes" in description
        assert "more datasets" not in description

        ids = few + _many_datasets(client, 147)
        spec = RAGFlowToolSpec(ids, describe_datasets=True, **_connection(own))
        for tools in (spec.to_tool_list(), await spec.to_tool_list_async()):
            search = tools[0].metadata
            assert len(search.description) <= 1024, len(search.description)
            search.to_openai_tool()  # LlamaIndex's own check (refuses more than 1,024)
            named = [dataset_id for dataset_id in ids if dataset_id in search.description]
            assert 5 <= len(named) < 150
            assert search.description.endswith(
                f"… and {150 - len(named)} more datasets (call list_datasets to see them all)"
            )
        listed = await spec.alist_datasets()
        assert all(dataset_id in listed for dataset_id in ids)
