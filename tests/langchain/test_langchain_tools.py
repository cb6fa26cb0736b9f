"""RAGFlowSearchTool and RAGFlowToolkit: the langchain-tests tool suites plus toolkit behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_corpus import QUERY, CorpusMixin
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from ragflow_integrations.langchain import RAGFlowSearchTool


class TestRAGFlowSearchToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[RAGFlowSearchTool]:
        return RAGFlowSearchTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {
            "dataset_ids": ["dataset-1"],
            "api_key": "unit-test-key",
            "base_url": "http://ragflow.test:9380",
        }

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": QUERY, "k": 2}


@pytest.mark.vcr
class TestRAGFlowSearchToolIntegration(CorpusMixin, ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> type[RAGFlowSearchTool]:
        return RAGFlowSearchTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {
            "dataset_ids": [self.corpus.dataset_id],
            "similarity_threshold": 0.0,
            **self.corpus.connection,
        }

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": QUERY, "k": 2}
