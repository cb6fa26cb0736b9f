"""What a chat "says": retrieval with the chat's settings, then the extractive responder in place
of RAGFlow's LLM call (``dialog_service.chat`` / ``async_chat``).

The wire shapes built from a ``Turn`` (native stream events, OpenAI chunks) live with their
routes; this module only decides the content: the retrieved chunks (``reference``), the answer
with citations (what RAGFlow's ``decorate_answer`` returns), the same answer without them (what
the model "streamed"), and the prompt RAGFlow reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._util import Json
from ..responder import NO_CONTENT_ANSWER, NO_DATASET_ANSWER, compose_answer, pieces
from ..store import Hit
from ._common import ServerState
from ._wire import server_error
from .chunks import document_metadata, run_retrieval


@dataclass
class Turn:
    """One answer of the stand-in responder."""

    answer: str  # with ``[ID:n]`` citations when quoting (RAGFlow's decorated answer)
    plain: str  # what the "model" streamed: no citations
    reference: Json = field(default_factory=dict)  # {"total", "chunks", "doc_aggs"} or {}
    prompt: str = ""
    solo: bool = False  # no datasets: RAGFlow's chat_solo path (no retrieval, no reference)
    empty: bool = False  # nothing retrieved: the chat's empty_response

    def deltas(self) -> list[str]:
        return list(pieces(self.plain)) or [""]


def chunk_format(state: ServerState, hit: Hit, metadata: Json | None = None) -> Json:
    """``chunks_format`` of one retrieved chunk (v0.22.1 has no ``row_id`` / metadata)."""
    chunk = hit.chunk
    doc = state.store.get("document", chunk["document_id"]) or {}
    out: Json = {
        "id": chunk["id"],
        "content": chunk["content"],
        "document_id": chunk["document_id"],
        "document_name": doc.get("name", ""),
        "dataset_id": chunk["dataset_id"],
        "image_id": chunk.get("image_id") or "",
        "positions": [list(p) for p in chunk.get("positions") or []],
        "url": None,
        "similarity": hit.similarity,
        "vector_similarity": hit.vector_similarity,
        "term_similarity": hit.term_similarity,
    }
    if not state.old:
        out["row_id"] = None
    out["doc_type"] = chunk.get("doc_type_kwd") or ""
    if not state.old:
        out["document_metadata"] = metadata
    return out


def doc_aggs(state: ServerState, hits: list[Hit]) -> list[Json]:
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.chunk["document_id"]] = counts.get(hit.chunk["document_id"], 0) + 1
    out = []
    for doc_id, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        doc = state.store.get("document", doc_id) or {}
        out.append({"doc_name": doc.get("name", ""), "doc_id": doc_id, "count": count})
    return out


def reference_of(
    state: ServerState, hits: list[Hit], metadata: tuple[bool, list[str] | None] = (False, None)
) -> Json:
    include, fields = metadata
    chunks = [
        chunk_format(
            state,
            hit,
            document_metadata(state, hit.chunk["document_id"], fields) if include else None,
        )
        for hit in hits
    ]
    return {"total": len(hits), "chunks": chunks, "doc_aggs": doc_aggs(state, hits)}


def _doc_scope(state: ServerState, chat: Json, kwargs: Json, last: Json) -> list[str] | None:
    scope: list[str] | None = None
    raw = kwargs.get("doc_ids")
    if isinstance(raw, str):
        scope = [d for d in raw.split(",") if d]
    elif isinstance(raw, list):
        scope = [str(d) for d in raw if d]
    if isinstance(last.get("doc_ids"), list):
        scope = [str(d) for d in last["doc_ids"] if d]
    return scope or None


def _metadata_condition(chat: Json) -> Json | None:
    """A chat's ``meta_data_filter`` as a ``metadata_condition`` (manual filters only)."""
    spec = chat.get("meta_data_filter")
    if not isinstance(spec, dict):
        return None
    if "conditions" in spec:
        return spec
    if spec.get("method") in ("manual", "semi_auto") and isinstance(spec.get("manual"), list):
        return {"logic": spec.get("logic", "and"), "conditions": spec["manual"]}
    return None


def _system_prompt(config: Json, kwargs: Json) -> str:
    system = str(config.get("system") or "")
    for parameter in config.get("parameters") or []:
        if not isinstance(parameter, dict) or parameter.get("key") == "knowledge":
            continue
        key = parameter.get("key")
        if key in kwargs:
            system = system.replace("{" + str(key) + "}", str(kwargs[key]))
        else:
            system = system.replace("{" + str(key) + "}", " ")
    return system


def check_parameters(config: Json, kwargs: Json) -> None:
    """A required prompt parameter missing from the request: ``KeyError`` as RAGFlow raises."""
    for parameter in config.get("parameters") or []:
        if not isinstance(parameter, dict) or parameter.get("key") in ("knowledge", "date"):
            continue
        if parameter.get("key") not in kwargs and not parameter.get("optional"):
            raise server_error(KeyError("Miss parameter: " + str(parameter.get("key"))))


def _knowledge(state: ServerState, hits: list[Hit]) -> str:
    blocks = []
    for n, hit in enumerate(hits):
        doc = state.store.get("document", hit.chunk["document_id"]) or {}
        blocks.append(
            f"\nID: {n}\n├── Title: {doc.get('name', '')}\n└── Content:\n{hit.chunk['content']}"
        )
    return "\n------\n" + "\n\n------\n\n".join(blocks)


def answer_chat(
    state: ServerState,
    chat: Json,
    messages: list[Json],
    kwargs: Json,
    *,
    quote: bool = True,
    metadata: tuple[bool, list[str] | None] = (False, None),
) -> Turn:
    """Answer the last user message of ``messages`` as the chat would."""
    config = chat.get("prompt_config") or {}
    question = query_of(messages, refine=bool(config.get("refine_multiturn")))
    kb_ids = [k for k in chat.get("kb_ids") or [] if state.store.get("dataset", k) is not None]
    if not chat.get("kb_ids"):
        text = NO_DATASET_ANSWER
        return Turn(text, text, solo=True)
    check_parameters(config, kwargs)
    hits: list[Hit] = []
    if (
        question.strip()
        and kb_ids
        and any(
            isinstance(p, dict) and p.get("key") == "knowledge"
            for p in config.get("parameters") or []
        )
    ):
        hits = run_retrieval(
            state,
            question=question,
            dataset_ids=kb_ids,
            document_ids=_doc_scope(state, chat, kwargs, messages[-1] if messages else {}),
            top_k=int(chat.get("top_k") or 1024),
            threshold=float(chat.get("similarity_threshold") or 0.0),
            weight=float(chat.get("vector_similarity_weight") or 0.0),
            metadata_condition=_metadata_condition(chat),
        )[: max(0, int(chat.get("top_n") or 0))]
    query = f"\n\n### Query:\n{question}"
    if not hits and config.get("empty_response"):
        text = str(config["empty_response"])
        return Turn(text, text, reference_of(state, [], metadata), query, empty=True)
    texts = [h.chunk["content"] for h in hits]
    quoting = bool(hits) and quote and config.get("quote", True) is not False
    plain = compose_answer(question, texts, quote=False) if hits else NO_CONTENT_ANSWER
    answer = compose_answer(question, texts, quote=True) if quoting else plain
    system = _system_prompt(config, kwargs).replace("{knowledge}", _knowledge(state, hits))
    prompt = re.sub(r"\n", "  \n", system + query)
    return Turn(answer, plain, reference_of(state, hits, metadata), prompt)


def query_of(messages: list[Json], *, refine: bool) -> str:
    """The search query: the last question; with ``refine_multiturn`` and earlier questions,
    RAGFlow has the LLM rewrite the last three into one (here: they are joined)."""
    questions = [text_of(m.get("content")) for m in messages if m.get("role") == "user"][-3:]
    if len(questions) > 1 and refine:
        return " ".join(q for q in questions if q.strip())
    return questions[-1] if questions else ""


def text_of(content: Any) -> str:
    """A message's text (OpenAI content parts joined)."""
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return "" if content is None else str(content)
