"""A scripted tool-calling chat model and a minimal agent loop, for running agents offline.

No LLM runs in the demo, so the "agent" model is scripted: on a user question it emits one call to
the tool it was bound to, and once the tool's output is in the conversation it answers by quoting
the start of that output. Everything around it (tool binding, ``ToolCall`` / ``ToolMessage``
plumbing, the tool itself talking to RAGFlow) is real LangChain and real RAGFlow traffic.
"""

from __future__ import annotations

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
            reply = AIMessage(content=self._answer_from(last))
        else:
            question = _text(last)
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            call = {"name": self.tool_name, "args": {self.argument: question}, "id": call_id}
            reply = AIMessage(content="", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _answer_from(self, tool_message: ToolMessage) -> str:
        output = _text(tool_message).strip()
        if not output:
            return "The search tool found nothing, so I cannot answer from the knowledge base."
        if len(output) > self.max_answer_chars:
            output = output[: self.max_answer_chars].rsplit(" ", 1)[0] + " ..."
        return f"According to the knowledge base: {output}"


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


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = [part if isinstance(part, str) else str(part.get("text", "")) for part in content]
    return "".join(parts)
