"""Writes the example notebooks from the cells below, executed, with their outputs.

Edit a notebook here, then run ``.venv/bin/python notebooks/_build.py``: it builds each notebook,
runs it on the embedded local server (``RAGFLOW_BASE_URL``/``RAGFLOW_API_KEY`` are ignored) and
saves it with its outputs, so the tables and plots show where the notebook is read. ``pytest
--nbmake notebooks`` (part of ``make test``) executes them again from scratch, and
``tests/e2e/test_notebooks.py`` checks that the committed files match this script and hold the
outputs of one clean run.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP_MD = """\
**Where this runs.** With `RAGFLOW_BASE_URL` and `RAGFLOW_API_KEY` set, against that RAGFlow;
otherwise the next cell starts the package's local RAGFlow-compatible server on 127.0.0.1 (it has
no LLM: chat assistants answer by quoting retrieved sentences, cited `[ID:n]`)."""

SETUP = """\
import os

from ragflow_integrations.testing import LocalRAGFlowServer

server = None
if not (os.environ.get("RAGFLOW_BASE_URL") and os.environ.get("RAGFLOW_API_KEY")):
    server = LocalRAGFlowServer().start()
    os.environ["RAGFLOW_BASE_URL"] = server.base_url
    os.environ["RAGFLOW_API_KEY"] = server.api_key
print("RAGFlow at", os.environ["RAGFLOW_BASE_URL"])"""

TABLE = """\
from IPython.display import Markdown, display


def show_table(headers, rows, width=70):
    \"\"\"A small Markdown table; long cells are cut to `width` characters.\"\"\"
    def cell(value):
        text = " ".join(str(value).split()).replace("|", "\\\\|")
        return text if len(text) <= width else text[: width - 1] + "…"
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    display(Markdown("\\n".join(lines)))"""

SAMPLE_DATASET = """\
import uuid

from ragflow_integrations import RAGFlow
from ragflow_integrations.demo import sample_documents

rag = RAGFlow()
dataset = rag.create_dataset(
    name=f"{NOTEBOOK}-{uuid.uuid4().hex[:6]}", parser_config={"chunk_token_num": 64}
)
uploaded = dataset.upload_documents(sample_documents())
parsed = dataset.parse_documents([d.id for d in uploaded], timeout=300, show_progress=True)
show_table(["document", "chunks", "status"], [(d.name, d.chunk_count, d.run) for d in parsed])"""

STOP = """\
if server is not None:
    server.stop()"""


def notebook(name: str, cells: list[tuple[str, str]]) -> None:
    """Write ``name`` from ``(kind, source)`` pairs, kind ``md`` or ``py``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        nb.cells.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{index:02d}"
    execute(nb)
    nbformat.validate(nb)
    nbformat.write(nb, HERE / name)


def execute(nb: nbformat.NotebookNode) -> None:
    """Run ``nb`` top to bottom in a fresh kernel on the local server (raises on a failing cell)."""
    from nbclient import NotebookClient

    saved = {name: os.environ.pop(name, None) for name in ("RAGFLOW_BASE_URL", "RAGFLOW_API_KEY")}
    try:
        NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(HERE)}},
        ).execute()
    finally:
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def common(title: str, intro: str, tag: str) -> list[tuple[str, str]]:
    return [
        ("md", f"# {title}\n\n{intro}"),
        ("md", SETUP_MD),
        ("py", SETUP),
        ("py", TABLE),
        ("py", f'NOTEBOOK = "{tag}"'),
    ]


LANGCHAIN = common(
    "LangChain: retrieval and a RAG chain",
    "Search RAGFlow datasets with `RAGFlowRetriever`, see how the hybrid score moves with "
    "`vector_similarity_weight`, and answer with an LCEL chain ending in `ChatRAGFlow`.",
    "nb01-langchain",
) + [
    ("md", "## A dataset to search\n\nThe five sample documents shipped with the package "
     "(Markdown, text, HTML, CSV, JSON), parsed into small chunks."),
    ("py", SAMPLE_DATASET),
    ("md", "## The retriever\n\nEach result is a LangChain `Document` whose `id` is the chunk "
     "id; the scores and the source document are in its metadata, under `ragflow_` keys next to "
     "the document's own metadata (which comes back exactly as stored)."),
    ("py", """\
from ragflow_integrations.langchain import RAGFlowRetriever

retriever = RAGFlowRetriever(dataset_ids=[dataset.id], k=4)
docs = retriever.invoke("Which planet is the hottest?")
show_table(
    ["score", "vector", "term", "document", "passage"],
    [(f"{d.metadata['ragflow_similarity']:.3f}",
      f"{d.metadata['ragflow_vector_similarity']:.3f}",
      f"{d.metadata['ragflow_term_similarity']:.3f}",
      d.metadata["ragflow_document_name"],
      d.page_content)
     for d in docs],
)"""),
    ("py", "sorted(docs[0].metadata)"),
    ("md", "Every search parameter can be overridden per call, and the async path is native "
     "(`AsyncRAGFlow` underneath, not a thread):"),
    ("py", """\
strict = retriever.invoke("Which planet is the hottest?", k=10, similarity_threshold=0.5)
batch = await retriever.abatch(["cold brew", "no-store", "Nile"])
print(len(strict), "chunks above 0.5;", [b[0].metadata["ragflow_document_name"] for b in batch])"""),
    ("md", "## Keyword versus vector weight\n\nRAGFlow's score is "
     "`weight * vector_similarity + (1 - weight) * term_similarity`. The plot shows the scores "
     "of every chunk for one question as the weight moves from pure keyword (0) to pure "
     "vector (1)."),
    ("py", """\
%matplotlib inline
import matplotlib.pyplot as plt

question = "How hot should the water be for coffee?"
weights = [0.0, 0.3, 0.7, 1.0]
scores = {
    w: [d.metadata["ragflow_similarity"]
        for d in retriever.invoke(question, k=30, similarity_threshold=0.0,
                                  vector_similarity_weight=w)]
    for w in weights
}
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.boxplot([scores[w] for w in weights], showfliers=False)
for i, w in enumerate(weights, start=1):
    ax.scatter([i] * len(scores[w]), scores[w], s=12, alpha=0.6)
ax.set_xticks(range(1, len(weights) + 1), [f"weight {w}" for w in weights])
ax.set_ylabel("similarity")
ax.set_title(question)
plt.show()"""),
    ("md", "## A RAG chain\n\n`retriever | prompt | ChatRAGFlow`: the chat model is a RAGFlow "
     "chat assistant, so the answer arrives with the assistant's references."),
    ("py", """\
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from ragflow_integrations.langchain import ChatRAGFlow, reference_documents

chat = rag.create_chat(f"{NOTEBOOK}-assistant", dataset_ids=[dataset.id])
prompt = ChatPromptTemplate.from_template("{question}\\n\\nUse these passages:\\n{context}")
chain = (
    {"context": RAGFlowRetriever(dataset_ids=[dataset.id], k=1)
     | (lambda docs: "\\n".join(d.page_content for d in docs)),
     "question": RunnablePassthrough()}
    | prompt
    | ChatRAGFlow(chat_id=chat.id)
)
reply = chain.invoke("Which planet is the hottest, and why?")
print(reply.content)"""),
    ("py", """\
show_table(["cite", "document", "passage"],
           [(f"[ID:{n}]", d.metadata.get("ragflow_document_name"), d.page_content)
            for n, d in enumerate(reference_documents(reply))])"""),
    ("md", "Streaming works through the chain as well:"),
    ("py", """\
for piece in chain.stream("How long does cold brew steep?"):
    print(piece.content, end="")"""),
    ("md", "## Clean up"),
    ("py", """\
rag.delete_chats([chat.id])
rag.delete_datasets([dataset.id])"""),
    ("py", STOP),
]


LLAMA_INDEX = common(
    "LlamaIndex: a query engine and a managed index",
    "`RAGFlowRetriever` inside a `RetrieverQueryEngine` answered by `RAGFlowLLM`, then a RAGFlow "
    "dataset used as a LlamaIndex managed index (`RAGFlowIndex`).",
    "nb02-llama-index",
) + [
    ("md", "## A dataset to search"),
    ("py", SAMPLE_DATASET),
    ("md", "## Retriever\n\nNodes carry RAGFlow's hybrid score; the node id is the chunk id and "
     "the `SOURCE` relationship points at the RAGFlow document."),
    ("py", """\
from ragflow_integrations.llama_index import RAGFlowRetriever

retriever = RAGFlowRetriever(dataset_ids=[dataset.id], similarity_top_k=3)
nodes = retriever.retrieve("What does no-store mean?")
show_table(["score", "document", "node id", "text"],
           [(f"{n.score:.3f}", n.metadata["ragflow_document_name"], n.node.node_id, n.get_content())
            for n in nodes])"""),
    ("py", """\
nodes = await retriever.aretrieve("Who discovered oxygen?")  # native async
nodes[0].metadata["ragflow_document_name"], round(nodes[0].score, 3)"""),
    ("md", "## Query engine\n\n`RAGFlowLLM` is a chat assistant as a LlamaIndex `LLM`; any other "
     "LLM (a hosted model, or `MockLLM` in tests) fits in the same place."),
    ("py", """\
from llama_index.core.query_engine import RetrieverQueryEngine

from ragflow_integrations.llama_index import RAGFlowLLM

chat = rag.create_chat(f"{NOTEBOOK}-assistant", dataset_ids=[dataset.id])
engine = RetrieverQueryEngine.from_args(
    RAGFlowRetriever(dataset_ids=[dataset.id], similarity_top_k=1), llm=RAGFlowLLM(chat_id=chat.id)
)
response = engine.query("What does a 304 Not Modified answer mean?")
print(response)
show_table(["score", "document"],
           [(f"{n.score:.3f}", n.metadata["ragflow_document_name"]) for n in response.source_nodes])"""),
    ("md", "## Managed index\n\n`RAGFlowIndex.from_documents` uploads LlamaIndex documents (their "
     "`id_` and metadata travel along), waits for RAGFlow to parse them, and answers queries "
     "through the retriever. RAGFlow chunks on the server, so `parser_config` replaces "
     "LlamaIndex transformations."),
    ("py", """\
from llama_index.core import Document

from ragflow_integrations.llama_index import RAGFlowIndex

notes = [
    Document(text="Oolong is partly oxidised tea, brewed at 85 to 95 degrees Celsius.",
             id_="oolong", metadata={"topic": "tea"}),
    Document(text="Espresso is brewed in about 25 to 30 seconds at nine bar of pressure.",
             id_="espresso", metadata={"topic": "coffee"}),
]
index = RAGFlowIndex.from_documents(
    notes,
    dataset_name=f"{NOTEBOOK}-notes-{uuid.uuid4().hex[:6]}",
    create_if_missing=True,
    dataset_kwargs={"parser_config": {"chunk_token_num": 64}},
)
show_table(["ref doc id", "nodes"], [(k, len(v.node_ids)) for k, v in index.ref_doc_info.items()])"""),
    ("md", "`refresh_ref_docs` re-uploads only the documents whose text or metadata changed:"),
    ("py", """\
changed = Document(text="Espresso takes 25 to 30 seconds; a ristretto is shorter.",
                   id_="espresso", metadata={"topic": "coffee"})
index.refresh_ref_docs([notes[0], changed])  # [False, True]: only espresso was re-ingested"""),
    ("py", """\
notes_chat = rag.create_chat(f"{NOTEBOOK}-notes", dataset_ids=[index.dataset_id])
engine = index.as_query_engine(llm=RAGFlowLLM(chat_id=notes_chat.id), similarity_top_k=1)
print(engine.query("What is a ristretto?"))"""),
    ("md", "A chat engine on the index talks to a RAGFlow chat assistant in a server-side "
     "session:"),
    ("py", """\
chat_engine = index.as_chat_engine(chat_id=notes_chat.id)
print(chat_engine.chat("At what temperature is oolong brewed?"))
print(len(chat_engine.chat_history), "messages in the history")"""),
    ("py", """\
index.delete_ref_doc("oolong")
sorted(index.ref_doc_info)"""),
    ("md", "## Clean up"),
    ("py", """\
rag.delete_chats([chat.id, notes_chat.id])
rag.delete_datasets([dataset.id, index.dataset_id])"""),
    ("py", STOP),
]


INGESTION = common(
    "Ingestion: sinks, loaders, progress and metadata filters",
    "Upload documents with metadata and watch them parse, filter by metadata when searching and "
    "loading, and use RAGFlow as a LangChain vector store (with the indexing API) and as a "
    "source for LangChain loaders and LlamaIndex readers.",
    "nb03-ingestion",
) + [
    ("md", "## Upload with metadata, and watch the parsing\n\n`parse_documents` waits with a "
     "deadline; `on_progress` receives the documents after every poll (here, to plot them). On "
     "the local server each document takes a simulated 0.3 s."),
    ("py", """\
import time
import uuid

from ragflow_integrations import RAGFlow
from ragflow_integrations.demo import sample_documents

if server is not None:
    server.parse_delay = 0.3
TOPICS = {"coffee_brewing.txt": "food", "elements.csv": "science", "http_caching.html": "web",
          "rivers.json": "geography", "solar_system.md": "science"}
rag = RAGFlow()
dataset = rag.create_dataset(name=f"{NOTEBOOK}-{uuid.uuid4().hex[:6]}",
                             parser_config={"chunk_token_num": 64})
uploads = [{**doc, "meta_fields": {"topic": TOPICS[doc["display_name"]]}}
           for doc in sample_documents()]
uploaded = dataset.upload_documents(uploads)"""),
    ("py", """\
started, timeline = time.monotonic(), []


def record(documents):
    done = sum(d.run == "DONE" for d in documents)
    timeline.append((time.monotonic() - started, done, sum(d.progress for d in documents)))


parsed = dataset.parse_documents([d.id for d in uploaded], poll_interval=0.1, on_progress=record)
show_table(["document", "topic", "chunks", "status"],
           [(d.name, d.meta_fields["topic"], d.chunk_count, d.run) for d in parsed])"""),
    ("py", """\
%matplotlib inline
import matplotlib.pyplot as plt

seconds, done, progress = zip(*timeline)
fig, ax = plt.subplots(figsize=(7, 3))
ax.step(seconds, done, where="post", label="documents DONE")
ax.plot(seconds, progress, label="sum of progress")
ax.set_xlabel("seconds since parsing started")
ax.set_ylim(0, len(parsed) + 0.2)
ax.legend()
plt.show()"""),
    ("md", "A document the server cannot parse raises `DocumentParseError` naming it and "
     "quoting the server's message:"),
    ("py", """\
from ragflow_integrations import DocumentParseError

[broken] = dataset.upload_documents([{"display_name": "broken.json", "blob": b"{not json"}])
try:
    dataset.parse_documents([broken.id], poll_interval=0.1)
except DocumentParseError as exc:
    for failure in exc.failures:
        print(failure.name, "->", failure.progress_msg.splitlines()[-1])
dataset.delete_documents([broken.id])"""),
    ("md", "## Metadata filters\n\nThe same condition works for retrieval, for listing documents "
     "and in the loaders."),
    ("py", """\
science = {"logic": "and",
           "conditions": [{"name": "topic", "comparison_operator": "is", "value": "science"}]}
chunks = rag.retrieve("temperature", dataset_ids=[dataset.id], metadata_condition=science,
                      similarity_threshold=0.0, limit=10)
show_table(["score", "document", "passage"],
           [(f"{c.similarity:.3f}", c.document_name, c.content) for c in chunks])"""),
    ("py", "sorted(d.name for d in dataset.list_documents(metadata_condition=science))"),
    ("md", "## Loaders: read the parsed content back\n\nLangChain's `RAGFlowLoader` and "
     "LlamaIndex's `RAGFlowReader` page through a dataset lazily, per chunk or per document."),
    ("py", """\
from ragflow_integrations.langchain import RAGFlowLoader

loader = RAGFlowLoader(dataset.id, mode="documents", metadata_condition=science)
show_table(["document", "topic", "chunks", "characters"],
           [(d.metadata["ragflow_document_name"], d.metadata["topic"], d.metadata["ragflow_chunk_count"],
             len(d.page_content)) for d in loader.lazy_load()])"""),
    ("py", """\
from ragflow_integrations.llama_index import RAGFlowReader

chunks = RAGFlowReader(dataset_id=dataset.id, mode="chunks").load_data()
show_table(["document", "text"], [(c.metadata["ragflow_document_name"], c.text) for c in chunks[:6]])"""),
    ("md", "## A sink: `RAGFlowVectorStore`\n\n`add_documents` uploads, parses and waits; an id "
     "that already exists replaces its document. RAGFlow embeds on the server, so there is no "
     "`Embeddings` object."),
    ("py", """\
from langchain_core.documents import Document

from ragflow_integrations.langchain import RAGFlowVectorStore

store = RAGFlowVectorStore(dataset.id, show_progress=False, poll_interval=0.1)
ids = store.add_documents(
    [Document(page_content="Matcha is whisked, not steeped, at about 75 degrees.",
              metadata={"topic": "food", "source": "tea-notes"})],
    ids=["matcha"],
)
found = store.similarity_search_with_score("How is matcha prepared?", k=1)
[(doc.page_content, round(score, 3)) for doc, score in found]"""),
    ("md", "It works with LangChain's indexing API: a second run with the same content does "
     "nothing, and changed content replaces the old version."),
    ("py", """\
from langchain_core.indexing import InMemoryRecordManager, index

records = InMemoryRecordManager(namespace=f"ragflow/{dataset.id}")
records.create_schema()
notes = [Document(page_content="Sencha is steeped at 70 to 80 degrees.",
                  metadata={"source": "sencha.md"})]
first = index(notes, records, store, cleanup="incremental", source_id_key="source")
second = index(notes, records, store, cleanup="incremental", source_id_key="source")
notes[0].page_content = "Sencha is steeped at 70 to 80 degrees for one minute."
third = index(notes, records, store, cleanup="incremental", source_id_key="source")
show_table(["run", "added", "skipped", "deleted"],
           [(n, r["num_added"], r["num_skipped"], r["num_deleted"])
            for n, r in [("first", first), ("same again", second), ("changed", third)]])"""),
    ("md", "## Clean up"),
    ("py", "rag.delete_datasets([dataset.id])"),
    ("py", STOP),
]


CHAT = common(
    "Chat models, sessions and agents with tools",
    "RAGFlow chat assistants through the client (`Session.ask`), LangChain (`ChatRAGFlow`) and "
    "LlamaIndex (`RAGFlowChatEngine`); RAGFlow agents; and tools for agents "
    "(`RAGFlowToolkit`, `RAGFlowToolSpec`).",
    "nb04-chat",
) + [
    ("md", "## A dataset and a chat assistant"),
    ("py", SAMPLE_DATASET),
    ("py", """\
chat = rag.create_chat(f"{NOTEBOOK}-assistant", dataset_ids=[dataset.id])
chat.name, chat.dataset_ids == [dataset.id]"""),
    ("md", "## Sessions with the client\n\n`ask(stream=True)` yields messages whose `delta` is "
     "the new text and `content` the answer so far, whatever the server's stream format; the "
     "last one carries the references."),
    ("py", """\
session = chat.create_session(name="tour")
for message in session.ask("How long does cold brew steep?", stream=True):
    print(message.delta, end="")
print()
show_table(["cite", "document", "passage"],
           [(f"[ID:{n}]", c.document_name, c.content) for n, c in enumerate(message.reference)])"""),
    ("py", """\
follow_up = session.ask("And how hot should the water be for filter coffee?")
print(follow_up.content)
[m["role"] for m in chat.list_sessions(id=session.id)[0].messages]"""),
    ("md", "## LangChain: `ChatRAGFlow`\n\nStateless by default (the whole history is sent, "
     "nothing is stored); `from_session` uses the server's memory instead."),
    ("py", """\
from langchain_core.messages import HumanMessage

from ragflow_integrations.langchain import ChatRAGFlow, reference_documents

model = ChatRAGFlow(chat_id=chat.id)
reply = model.invoke([HumanMessage("Which planet is the hottest?")])
print(reply.content)
sorted({d.metadata["ragflow_document_name"] for d in reference_documents(reply)})"""),
    ("py", """\
remembering = ChatRAGFlow.from_session(chat_id=chat.id)
remembering.invoke("Who discovered oxygen?")
print(remembering.session_id, len(chat.list_sessions()), "sessions on the server")"""),
    ("py", """\
async for piece in model.astream("What does no-store mean?"):
    print(piece.content, end="")"""),
    ("md", "`api='openai'` goes through RAGFlow's OpenAI-compatible endpoint, which also "
     "reports token usage:"),
    ("py", """\
usage_reply = ChatRAGFlow(chat_id=chat.id, api="openai").invoke("Where does the Nile flow?")
usage_reply.usage_metadata"""),
    ("md", "## LlamaIndex: `RAGFlowChatEngine`"),
    ("py", """\
from ragflow_integrations.llama_index import RAGFlowChatEngine

engine = RAGFlowChatEngine(chat.id)
response = engine.chat("Which planet is the smallest?")
print(response.response)
show_table(["score", "document"],
           [(f"{n.score or 0:.3f}", n.metadata.get("ragflow_document_name")) for n in response.source_nodes])"""),
    ("md", "## RAGFlow agents\n\nAgents are built in RAGFlow's UI as canvases; the client lists, "
     "fetches and runs them. On the local server this notebook creates one from a minimal canvas "
     "(Begin, Retrieval over the dataset, LLM, Message), which its small canvas interpreter runs "
     "(it answers extractively, it has no language model)."),
    ("py", """\
def node(name, params, downstream, upstream):
    return {"obj": {"component_name": name, "params": params},
            "downstream": downstream, "upstream": upstream}

canvas = {
    "components": {
        "begin": node("Begin", {"prologue": "Hi!"}, ["Retrieval:0"], []),
        "Retrieval:0": node("Retrieval", {"kb_ids": [dataset.id]}, ["LLM:0"], ["begin"]),
        "LLM:0": node("LLM", {}, ["Message:0"], ["Retrieval:0"]),
        "Message:0": node("Message", {"content": ["{LLM:0@content}"]}, [], ["LLM:0"]),
    },
    "history": [], "retrieval": [], "path": [], "globals": {},
}
created_agent = None
if server is not None:
    created_agent = rag.create_agent(f"{NOTEBOOK}-agent", dsl=canvas)
agents = rag.list_agents()
show_table(["title", "id"], [(a.title, a.id) for a in agents])"""),
    ("py", """\
agent = agents[0]
agent_session = agent.create_session()
answer = agent_session.ask("How hot is Venus?")
print(answer.content)
ChatRAGFlow(agent_id=agent.id).invoke("How hot is Venus?").content == answer.content"""),
    ("md", "## Tools for agents\n\n`RAGFlowToolkit` returns a search tool (its description lists "
     "the datasets), a list-datasets tool and, with a `chat_id`, an ask tool. A real agent "
     "would give them to a tool-calling LLM; no LLM runs here, so a **scripted** model (from the "
     "package's demo) makes the tool call and answers from the result."),
    ("py", """\
from ragflow_integrations.demo.agent import ScriptedToolCallingModel, run_tool_agent
from ragflow_integrations.langchain import RAGFlowToolkit

tools = RAGFlowToolkit(dataset_ids=[dataset.id], chat_id=chat.id).get_tools()
show_table(["tool", "description"], [(t.name, t.description) for t in tools])"""),
    ("py", """\
scripted = ScriptedToolCallingModel(tool_name="ragflow_search")
trace = run_tool_agent(scripted, tools, "Who discovered oxygen?")
for message in trace.messages:
    print(f"{type(message).__name__:>12}: {str(message.content or message.tool_calls)[:120]}")"""),
    ("md", "LlamaIndex agents get the same tools from `RAGFlowToolSpec`:"),
    ("py", """\
from ragflow_integrations.llama_index import RAGFlowToolSpec

li_tools = RAGFlowToolSpec(dataset_ids=[dataset.id], chat_id=chat.id).to_tool_list()
print([t.metadata.name for t in li_tools])
print(li_tools[0].call(query="What does max-age mean?").content[:300])"""),
    ("md", "## Clean up"),
    ("py", """\
if created_agent is not None:
    rag.delete_agent(created_agent.id)
rag.delete_chats([chat.id])
rag.delete_datasets([dataset.id])"""),
    ("py", STOP),
]

NOTEBOOKS = {
    "01_langchain_retrieval.ipynb": LANGCHAIN,
    "02_llama_index.ipynb": LLAMA_INDEX,
    "03_ingestion.ipynb": INGESTION,
    "04_chat_and_agents.ipynb": CHAT,
}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        notebook(name, cells)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
