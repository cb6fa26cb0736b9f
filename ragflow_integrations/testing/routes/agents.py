"""Agents (§3.12): placeholder until the agent endpoints land."""

from __future__ import annotations

from starlette.routing import Route

from ._common import ServerState


def routes(state: ServerState) -> list[Route]:
    return []
