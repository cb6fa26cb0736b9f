"""Agents: the agents themselves (``agents.py``), their sessions and runs (``sessions.py``)."""

from .agents import Agent, Agents, AsyncAgent, AsyncAgents
from .sessions import AgentCompletions, AsyncAgentCompletions, agent_completion

__all__ = [
    "Agent",
    "AgentCompletions",
    "Agents",
    "AsyncAgent",
    "AsyncAgentCompletions",
    "AsyncAgents",
    "agent_completion",
]
