"""Deleting the session RAGFlow opens for a stateless agent call (shared by both adapters).

An agent completion without ``session_id`` makes the server create a session; adapters that
present agents as stateless models delete it once the answer or stream has ended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .client import AsyncRAGFlow, RAGFlow
from .errors import RAGFlowError

logger = logging.getLogger("ragflow_integrations")

__all__ = ["adiscard_agent_sessions", "discard_agent_sessions"]


def _ids(session_ids: Iterable[str | None]) -> list[str]:
    return sorted({s for s in session_ids if s})


def discard_agent_sessions(
    client: RAGFlow, agent_id: str, session_ids: Iterable[str | None]
) -> None:
    """Delete these sessions of ``agent_id`` (best effort: a failure is logged, not raised)."""
    ids = _ids(session_ids)
    if not ids:
        return
    try:
        client.wrap("agent", {"id": agent_id}).delete_sessions(ids=ids)  # no GET of the agent
    except RAGFlowError as exc:
        logger.warning("could not delete temporary agent session(s) %s: %s", ids, exc)


async def adiscard_agent_sessions(
    client: AsyncRAGFlow, agent_id: str, session_ids: Iterable[str | None]
) -> None:
    """Async twin of :func:`discard_agent_sessions`."""
    ids = _ids(session_ids)
    if not ids:
        return
    try:
        await client.wrap("agent", {"id": agent_id}).delete_sessions(ids=ids)
    except RAGFlowError as exc:
        logger.warning("could not delete temporary agent session(s) %s: %s", ids, exc)
