"""A scripted tool-calling chat model and a minimal agent loop, for running agents offline.

No LLM runs in the demo, so the "agent" model is scripted: on a user question it emits one call to
the tool it was bound to, and once the tool's output is in the conversation it answers by quoting
the start of that output. Everything around it (tool binding, ``ToolCall`` / ``ToolMessage``
plumbing, the tool itself talking to RAGFlow) is real LangChain and real RAGFlow traffic.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

__all__ = ["AgentTrace", "ScriptedToolCallingModel", "run_tool_agent"]

_PASSAGE = re.compile(
    r"^\[(?P<number>\d+)\] (?P<source>[^\n(]+?)(?: \([^\n]*\))?\n(?P<body>.*?)(?=\n\n\[\d+\] |\Z)",
    re.MULTILINE | re.DOTALL,
)
_WORD = re.compile(r"\w+")


class ScriptedToolCallingModel(BaseChatModel):
    """Calls ``tool_name`` once with the latest question, then answers from the tool's output.

    ``argument`` names the tool's input field that receives the question.
    """

    tool_name: str
    argument: str = "query"
    max_answer_chars: int = 400

    @property
    def _llm_type(self) -> str:
        return "scripted-tool-caller"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Accept the tools like a real model would; the script already knows which to call."""
        names = {tool.name for tool in tools if isinstance(tool, BaseTool)}
        if names and self.tool_name not in names:
            raise ValueError(f"{self.tool_name!r} is not a bound tool: {sorted(names)}")
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            question = next(
                (_text(m) for m in reversed(messages) if isinstance(m, HumanMessage)), ""
            )
            reply = AIMessage(content=self._answer_from(last, question))
        else:
            question = _text(last)
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            call = {"name": self.tool_name, "args": {self.argument: question}, "id": call_id}
            reply = AIMessage(content="", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _answer_from(self, tool_message: ToolMessage, question: str) -> str:
        """The line of the first passage sharing most words with the question, with its source.

        Passages are expected as ``[n] source ...`` header lines followed by text (the format of
        ``RAGFlowSearchTool``); any other output is quoted from its start.
        """
        output = _text(tool_message).strip()
        match = _PASSAGE.search(output)
        if match is None:
            if not output:
                return "The search tool found nothing, so I cannot answer from the knowledge base."
            return f"According to the search tool: {_cut(output, self.max_answer_chars)}"
        number, source, body = match.group("number"), match.group("source"), match.group("body")
        wanted = _words(question)
        lines = [line.strip() for line in body.splitlines() if line.strip()] or [body.strip()]
        best = max(lines, key=lambda line: len(wanted & _words(line)))
        return f"{_cut(best, self.max_answer_chars)} [{number}: {source}]"


@dataclass
class AgentTrace:
    """What happened in one agent run: the messages in order and the final answer."""

    messages: list[BaseMessage] = field(default_factory=list)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [
            dict(call)
            for message in self.messages
            if isinstance(message, AIMessage)
            for call in message.tool_calls
        ]

    @property
    def tool_outputs(self) -> list[str]:
        return [_text(message) for message in self.messages if isinstance(message, ToolMessage)]

    @property
    def answer(self) -> str:
        return _text(self.messages[-1]) if self.messages else ""


def run_tool_agent(
    model: BaseChatModel, tools: Sequence[BaseTool], question: str, *, max_steps: int = 4
) -> AgentTrace:
    """The classic loop: ask the model, run the tool calls it makes, repeat until it answers."""
    by_name = {tool.name: tool for tool in tools}
    bound = model.bind_tools(list(tools))
    trace = AgentTrace(messages=[HumanMessage(content=question)])
    for _ in range(max_steps):
        reply = bound.invoke(trace.messages)
        if not isinstance(reply, AIMessage):
            raise TypeError(f"the model returned {type(reply).__name__}, expected AIMessage")
        trace.messages.append(reply)
        if not reply.tool_calls:
            return trace
        for call in reply.tool_calls:
            tool_message = by_name[call["name"]].invoke(call)
            if not isinstance(tool_message, ToolMessage):
                tool_message = ToolMessage(content=str(tool_message), tool_call_id=call["id"] or "")
            trace.messages.append(tool_message)
    raise RuntimeError(f"the agent did not answer within {max_steps} steps")


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if len(word) > 2}


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " ..."


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [part if isinstance(part, str) else str(part.get("text", "")) for part in content]
    return "".join(parts)
