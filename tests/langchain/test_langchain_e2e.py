"""End-to-end LangChain flows over RAGFlow: an LCEL RAG chain, a tool-calling agent loop,
the toolkit, and ingestion read back by the loader (sync and async)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import (
    Runnable,
    RunnableLambda,
    RunnableParallel,
    RunnablePassthrough,
)
from langchain_core.tools import BaseTool
from langchain_corpus import QUERY, build_corpus

from ragflow_integrations import RAGFlow
from ragflow_integrations.langchain import (
    ChatRAGFlow,
    RAGFlowLoader,
    RAGFlowRetriever,
    RAGFlowSearchTool,
    RAGFlowToolkit,
    RAGFlowVectorStore,
    format_sources,
)


class ScriptedToolCaller(BaseChatModel):
    """A stand-in LLM: asks for one search, then answers by quoting the first source it got."""

    tool_name: str = "ragflow_search"

    @property
    def _llm_type(self) -> str:
        return "scripted-tool-caller"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedToolCaller:  # type: ignore[override]
        assert self.tool_name in {t.name for t in tools}
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            first_source = str(last.content).split("\n\n")[0]
            message = AIMessage(content=f"According to the knowledge base: {first_source}")
        else:
            call = {
                "name": self.tool_name,
                "args": {"query": str(last.content), "k": 2},
                "id": "call-1",
                "type": "tool_call",
            }
            message = AIMessage(content="", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)])


def run_agent(model: BaseChatModel, tools: list[BaseTool], question: str) -> list[BaseMessage]:
    """A minimal tool-calling loop (what an agent framework does), langchain_core only."""
    bound = model.bind_tools(tools)
    by_name = {tool.name: tool for tool in tools}
    messages: list[BaseMessage] = [HumanMessage(question)]
    for _ in range(4):
        reply = bound.invoke(messages)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            return messages
        for call in reply.tool_calls:
            messages.append(by_name[call["name"]].invoke(call))
    raise AssertionError("the agent did not finish")


@pytest.mark.vcr
def test_lcel_rag_chain_answers_with_sources(ragflow_server: Any, poll_interval: float) -> None:
    corpus = build_corpus(ragflow_server, poll_interval, chat=True)
    client = RAGFlow(**corpus.connection)
    retriever = RAGFlowRetriever(dataset_ids=[corpus.dataset_id], k=2, client=client)
    model = ChatRAGFlow(chat_id=corpus.chat_id, client=client)
    prompt = ChatPromptTemplate.from_messages(
        [("human", "Answer from these sources.\n\n{context}\n\nQuestion: {question}")]
    )

    def to_prompt_input(x: dict[str, Any]) -> dict[str, str]:
        return {"context": format_sources(x["docs"]), "question": x["question"]}

    answer: Runnable[dict[str, Any], str] = (
        RunnableLambda(to_prompt_input) | prompt | model | StrOutputParser()
    )
    chain = RunnableParallel(docs=retriever, question=RunnablePassthrough()) | (
        RunnablePassthrough.assign(answer=answer)
    )
    result = chain.invoke(QUERY)
    assert result["question"] == QUERY
    assert result["docs"][0].metadata["ragflow_document_name"] == "passwords.txt"
    assert "reset" in result["answer"].lower()


@pytest.mark.vcr
async def test_agent_calls_the_search_tool_and_uses_its_result(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    tool = RAGFlowSearchTool(dataset_ids=[corpus.dataset_id], **corpus.connection)
    messages = run_agent(ScriptedToolCaller(), [tool], QUERY)
    tool_message = messages[2]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.tool_call_id == "call-1"
    sources: list[Document] = tool_message.artifact
    assert len(sources) == 2
    assert sources[0].metadata["ragflow_document_name"] == "passwords.txt"
    assert str(tool_message.content).startswith(f"[1] passwords.txt (chunk {sources[0].id})")
    final = messages[-1]
    assert final.content == (
        "According to the knowledge base: " + str(tool_message.content).split("\n\n")[0]
    )

    call = {"name": tool.name, "args": {"query": QUERY, "k": 2}, "id": "c", "type": "tool_call"}
    async_message = await tool.ainvoke(call)
    assert async_message.content == tool_message.content
    assert [d.id for d in async_message.artifact] == [d.id for d in sources]


@pytest.mark.vcr
async def test_toolkit_describes_datasets_and_asks_the_assistant(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus = build_corpus(ragflow_server, poll_interval, chat=True)
    toolkit = RAGFlowToolkit(chat_id=corpus.chat_id, **corpus.connection)
    search, listing, ask = toolkit.get_tools()
    assert f"langchain_corpus (id {corpus.dataset_id}): Customer help pages" in search.description
    assert ask.description.startswith("Ask the RAGFlow chat assistant 'Help desk'")
    assert listing.invoke({}) == (
        f"Datasets:\n- langchain_corpus (id {corpus.dataset_id}): Customer help pages"
    )
    call = {"name": ask.name, "args": {"question": QUERY}, "id": "ask-1", "type": "tool_call"}
    answer = ask.invoke(call)
    assert "reset" in str(answer.content).lower()
    assert answer.artifact[0].metadata["ragflow_document_name"] == "passwords.txt"
    async_answer = await ask.ainvoke(call)
    assert async_answer.content == answer.content
    assert async_answer.artifact == answer.artifact
    assert await listing.ainvoke({}) == listing.invoke({})
    bad = {
        "name": search.name,
        "args": {"query": "refund", "dataset_ids": ["unknown"]},
        "id": "bad-1",
        "type": "tool_call",
    }
    error = search.invoke(bad)
    assert error.status == "error"
    assert error.content == (
        f"unknown dataset id(s) ['unknown']; choose from ['{corpus.dataset_id}']"
    )


@pytest.mark.vcr
async def test_loader_reads_back_what_the_sink_wrote(
    ragflow_server: Any, poll_interval: float
) -> None:
    connection = {"api_key": ragflow_server.api_key, "base_url": ragflow_server.base_url}
    client = RAGFlow(**connection)
    dataset = client.create_dataset("langchain_round_trip")
    store = RAGFlowVectorStore(
        dataset.id, **connection, show_progress=False, poll_interval=poll_interval
    )
    written = [
        Document(
            page_content="Lighthouses guide ships along dangerous coasts.",
            metadata={"source": "sea.md", "tags": ["coast", "ships"]},
        ),
        Document(
            page_content="Glaciers carve valleys over thousands of years.",
            metadata={"source": "ice.md", "nested": {"a": 1}},
        ),
    ]
    await store.aadd_documents(written, ids=["sea", "ice"])
    loader = RAGFlowLoader(dataset.id, mode="documents", **connection)
    read = sorted(loader.load(), key=lambda d: d.metadata["source"])
    assert [d.page_content for d in read] == [written[1].page_content, written[0].page_content]
    assert read[1].metadata["tags"] == ["coast", "ships"]
    assert read[0].metadata["nested"] == '{"a": 1}'
    assert {d.metadata["ragflow_langchain_id"] for d in read} == {"sea", "ice"}
    async_read = [d async for d in loader.alazy_load()]
    assert sorted((d.id, d.page_content) for d in async_read) == sorted(
        (d.id, d.page_content) for d in read
    )
