"""RAGFlowToolSpec inside a real llama-index agent, against recorded traffic of the local server."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentOutput, FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms import MockFunctionCallingLLM
from llama_index_corpus import DESCRIPTION, Corpus

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index import RAGFlowToolSpec

QUESTION = "How fast does the Zephyr-9 rotor turn?"


def _scripted_model(tool_name: str, tool_kwargs: dict[str, Any]) -> MockFunctionCallingLLM:
    """Calls ``tool_name`` once, then answers by quoting the tool's output."""

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        tool_outputs = [m for m in messages if m.role == MessageRole.TOOL]
        if not tool_outputs:
            call = ToolCallBlock(
                tool_call_id="call-1", tool_name=tool_name, tool_kwargs=tool_kwargs
            )
            return ChatMessage(role=MessageRole.ASSISTANT, blocks=[call])
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            content=f"From the knowledge base: {tool_outputs[-1].content}",
        )

    return MockFunctionCallingLLM(response_generator=respond, is_chat_model=True)


@pytest.mark.vcr
@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")  # the agent workflow's own
async def test_function_agent_calls_search_and_uses_its_output(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    spec = RAGFlowToolSpec([corpus.dataset_id], client=client, async_client=aclient)
    model = _scripted_model("search_knowledge_base", {"query": QUESTION})
    agent = FunctionAgent(tools=spec.to_tool_list(), llm=model, system_prompt="Use the tools.")

    handler = agent.run(user_msg=QUESTION)
    tool_results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer: AgentOutput = await handler

    assert [r.tool_name for r in tool_results] == ["search_knowledge_base"]
    assert tool_results[0].tool_kwargs == {"query": QUESTION}
    output = str(tool_results[0].tool_output.content)
    assert "4200 rpm" in output and "zephyr.txt" in output
    assert "4200 rpm" in str(answer.response)
    assert output in str(answer.response)


@pytest.mark.vcr
async def test_tools_sync_async_and_assistant(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    chat = client.create_chat(name="li-tools-assistant", dataset_ids=[corpus.dataset_id])
    spec = RAGFlowToolSpec(
        [corpus.dataset_id], chat_id=chat.id, client=client, async_client=aclient
    )
    tools = {tool.metadata.name: tool for tool in spec.to_tool_list()}

    assert set(tools) == {"search_knowledge_base", "list_datasets", "ask_assistant"}
    search = tools["search_knowledge_base"]
    sync_text = search.call(query="Quillmark orchid pollinator").content
    async_text = (await search.acall(query="Quillmark orchid pollinator")).content
    assert sync_text == async_text
    assert "violet nightjar moth" in sync_text and "orchid.txt" in sync_text

    listing = tools["list_datasets"].call(name_contains=corpus.dataset.name).content
    assert corpus.dataset_id in listing and "documents: 3" in listing
    assert DESCRIPTION in listing
    alisting = (await tools["list_datasets"].acall(name_contains=corpus.dataset.name)).content
    assert alisting == listing

    answer = await tools["ask_assistant"].acall(question="Who led the Ledgerline migration?")
    assert "Ines Albrecht" in answer.content
    assert "Sources: ledger.txt" in answer.content


def test_tool_descriptions_are_agent_prompts() -> None:
    spec = RAGFlowToolSpec(["ds-1"], api_key="k", base_url="http://127.0.0.1:1")
    tools = spec.to_tool_list()

    assert [t.metadata.name for t in tools] == ["search_knowledge_base", "list_datasets"]
    for tool in tools:
        assert inspect.iscoroutinefunction(tool.async_fn)  # native async, not a thread
        assert len(tool.metadata.description) > 150
    search = tools[0]
    assert "query" in search.metadata.get_parameters_dict()["properties"]
    assert "search" in search.metadata.description.lower()
    assert "knowledge base" in search.metadata.description


@pytest.mark.vcr
def test_search_description_names_the_datasets(client: RAGFlow, corpus: Corpus) -> None:
    spec = RAGFlowToolSpec([corpus.dataset_id], describe_datasets=True, client=client)

    search = spec.to_tool_list()[0]

    assert search.metadata.name == "search_knowledge_base"
    assert search.metadata.description.endswith(
        f"Default knowledge bases:\n- {corpus.dataset.name} (id {corpus.dataset_id}): {DESCRIPTION}"
    )
