"""Agents: the agents themselves (``agents.py``), their sessions and runs (``sessions.py``),
their saved versions (``versions.py``)."""

from .agents import Agent, Agents, AsyncAgent, AsyncAgents
from .sessions import AgentCompletions, AsyncAgentCompletions, agent_completion
from .versions import AgentVersion, AgentVersionsAPI, AsyncAgentVersionsAPI

__all__ = [
    "Agent",
    "AgentCompletions",
    "AgentVersion",
    "AgentVersionsAPI",
    "Agents",
    "AsyncAgent",
    "AsyncAgentCompletions",
    "AsyncAgentVersionsAPI",
    "AsyncAgents",
    "agent_completion",
]
