"""A small interpreter for RAGFlow agent canvases (the ``dsl`` of an agent), standing in for
``agent.canvas.Canvas``.

Loading checks what RAGFlow's canvas reads first, so a DSL that is not a canvas fails the same
way (``KeyError('components')``, ``KeyError('path')``, ...). Running walks the components from
``begin`` along ``downstream``:

- ``Begin`` holds the prologue;
- ``Retrieval`` (or an ``Agent``/``LLM`` with a Retrieval tool) searches its ``kb_ids``;
- ``LLM`` / ``Agent`` answer with the extractive responder from what was retrieved;
- ``Message`` renders its first ``content`` template: ``{sys.query}``, ``{sys.user_id}``,
  ``{component_id@output}`` and other globals are substituted;
- any other component passes through.

No language model is involved: the content of a run is deterministic.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .responder import compose_answer

Json = dict[str, Any]
DEFAULT_PROLOGUE = "Hi! I'm your smart assistant. What can I do for you?"
_REF = re.compile(r"\{+\s*([A-Za-z0-9:_.\-]+(?:@[A-Za-z0-9_.\-]+)?)\s*\}+")

# retrieve(question, kb_ids, top_n) -> list of (chunk dict in chunks_format, similarity)
Retriever = Callable[[str, list[str], int], list[Json]]


@dataclass
class RunResult:
    content: str = ""
    messages: list[str] = field(default_factory=list)  # one per Message component reached
    path: list[str] = field(default_factory=list)
    outputs: dict[str, Json] = field(default_factory=dict)
    chunks: list[Json] = field(default_factory=list)  # what the answer drew on

    def reference(self) -> Json:
        """``canvas.get_reference()``: chunks keyed by citation index, doc_aggs by name."""
        aggs: dict[str, Json] = {}
        for chunk in self.chunks:
            name = chunk.get("document_name", "")
            agg = aggs.setdefault(
                name, {"doc_name": name, "doc_id": chunk["document_id"], "count": 0}
            )
            agg["count"] += 1
        return {"chunks": {str(i): c for i, c in enumerate(self.chunks)}, "doc_aggs": aggs}


class Canvas:
    """A loaded canvas DSL."""

    def __init__(self, dsl: Any) -> None:
        if isinstance(dsl, str):
            dsl = json.loads(dsl)
        if not isinstance(dsl, dict):
            raise TypeError("string indices must be integers, not 'str'")
        self.dsl = copy.deepcopy(dsl)
        self.components: Json = self.dsl["components"]
        if not isinstance(self.components, dict):
            raise AttributeError(
                f"'{type(self.components).__name__}' object has no attribute 'values'"
            )
        for component in self.components.values():
            component["obj"]["params"]
            component["obj"]["component_name"]
        self.path: list[str] = self.dsl["path"]
        self.history: list[Any] = self.dsl["history"]
        self.retrieval: list[Any] = self.dsl["retrieval"]
        self.globals: Json = dict(self.dsl.get("globals") or {})

    def prologue(self) -> str:
        params = self.components["begin"]["obj"]["params"]
        return str(params.get("prologue", DEFAULT_PROLOGUE))

    def reset(self) -> Json:
        """The DSL after ``canvas.reset()`` (run state cleared), as sessions store it."""
        dsl = copy.deepcopy(self.dsl)
        dsl["path"], dsl["history"], dsl["retrieval"] = [], [], []
        globals_ = dsl.get("globals")
        if isinstance(globals_, dict):
            for key, value in globals_.items():
                if key.startswith("sys."):
                    globals_[key] = (
                        type(value)()
                        if isinstance(value, str | int | float | list | dict)
                        else None
                    )
        return dsl

    def name_of(self, cpn_id: str) -> str:
        return str(self.components[cpn_id]["obj"].get("component_name", ""))

    def run(self, query: str, user_id: str, retrieve: Retriever) -> RunResult:
        result = RunResult()
        sys_vars = {**self.globals, "sys.query": query, "sys.user_id": user_id}
        sys_vars["sys.conversation_turns"] = int(sys_vars.get("sys.conversation_turns") or 0) + 1
        queue, seen = ["begin"], set()
        while queue:
            cpn_id = queue.pop(0)
            if cpn_id in seen or cpn_id not in self.components:
                continue
            seen.add(cpn_id)
            result.path.append(cpn_id)
            component = self.components[cpn_id]
            result.outputs[cpn_id] = self._invoke(cpn_id, component, sys_vars, result, retrieve)
            queue.extend(str(d) for d in component.get("downstream") or [])
        if result.messages:
            result.content = result.messages[-1]
        return result

    def _invoke(
        self, cpn_id: str, component: Json, sys_vars: Json, result: RunResult, retrieve: Retriever
    ) -> Json:
        name = self.name_of(cpn_id).lower()
        params = component["obj"]["params"] or {}
        if name == "retrieval":
            question = self._render(str(params.get("query") or "{sys.query}"), sys_vars, result)
            chunks = retrieve(question, _kb_ids(params), int(params.get("top_n") or 8))
            result.chunks.extend(c for c in chunks if c not in result.chunks)
            text = "\n\n".join(c["content"] for c in chunks)
            return {"formalized_content": text, "json": chunks}
        if name in ("llm", "agent"):
            for tool in params.get("tools") or []:
                if (
                    isinstance(tool, dict)
                    and str(tool.get("component_name", "")).lower() == "retrieval"
                ):
                    tool_params = tool.get("params") or {}
                    question = str(sys_vars.get("sys.query") or "")
                    chunks = retrieve(
                        question, _kb_ids(tool_params), int(tool_params.get("top_n") or 8)
                    )
                    result.chunks.extend(c for c in chunks if c not in result.chunks)
            question = str(sys_vars.get("sys.query") or "")
            texts = [c["content"] for c in result.chunks]
            content = compose_answer(question, texts, quote=True) if texts else question
            return {"content": content}
        if name == "message":
            templates = params.get("content") or [""]
            template = templates[0] if isinstance(templates, list) else str(templates)
            text = self._render(str(template), sys_vars, result)
            result.messages.append(text)
            return {"content": text}
        return {}

    def _render(self, template: str, sys_vars: Json, result: RunResult) -> str:
        def value(match: re.Match[str]) -> str:
            ref = match.group(1)
            if "@" in ref:
                cpn_id, key = ref.split("@", 1)
                out = result.outputs.get(cpn_id, {}).get(key, "")
                return out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
            if ref in sys_vars:
                return str(sys_vars[ref])
            return match.group(0)

        return _REF.sub(value, template)


def _kb_ids(params: Json) -> list[str]:
    ids = params.get("kb_ids") or params.get("dataset_ids") or []
    return [str(i) for i in ids if isinstance(i, str) and i]


def canvas_error(exc: Exception) -> str:
    """The ``repr`` RAGFlow reports for a DSL its canvas cannot load."""
    return repr(exc)


LOAD_ERRORS = (KeyError, TypeError, AttributeError, ValueError)
