"""Agent versions: the saved DSLs of an agent (``/agents/{id}/versions[/{version_id}]``,
RAGFlow v0.25.1+; an older server gets a ``FeatureNotSupportedError`` naming that release).

Operations; :class:`AgentVersion` (one plain object for both clients); :class:`AgentVersions`
(``Agent.list_versions`` / ``get_version``) and the client methods :class:`AgentVersionsAPI` /
:class:`AsyncAgentVersionsAPI`. Methods call the operation of the same name defined here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.ops import Op, call_feature, data_of, object_of, seg
from ..._models import AsyncObject, SyncObject, _Model

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def list_agent_versions(agent_id: str) -> Op:
    response = yield from call_feature(
        "agent_versions", "listing agent versions", "GET", f"/agents/{seg(agent_id)}/versions"
    )
    data = data_of(response)
    rows = data if isinstance(data, list) else []
    return [AgentVersion.model_validate(row) for row in rows if isinstance(row, Mapping)]


def get_agent_version(agent_id: str, version_id: str) -> Op:
    response = yield from call_feature(
        "agent_versions",
        "reading an agent version",
        "GET",
        f"/agents/{seg(agent_id)}/versions/{seg(version_id, 'version_id')}",
    )
    return AgentVersion.model_validate(object_of(response, "an agent version"))


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class AgentVersion(_Model):
    """One saved version of an agent: its ``dsl``, ``title`` and whether it was released."""

    id: str = ""
    agent_id: str = ""
    title: str | None = ""
    description: str | None = None
    release: bool = False
    dsl: Any = None
    create_time: Any = None
    update_time: Any = None

    @model_validator(mode="before")
    @classmethod
    def _wire_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "user_canvas_id" in data and "agent_id" not in data:
            data = {**data, "agent_id": data["user_canvas_id"]}
        return data


class AgentVersions(SyncObject):
    """``Agent.list_versions`` / ``get_version``."""

    def list_versions(self) -> list[AgentVersion]:
        """This agent's saved versions, newest first (RAGFlow v0.25.1+)."""
        versions: list[AgentVersion] = self._c._run(list_agent_versions(self.id))
        return versions

    def get_version(self, version_id: str) -> AgentVersion:
        """One saved version of this agent, with its DSL (RAGFlow v0.25.1+)."""
        version: AgentVersion = self._c._run(get_agent_version(self.id, version_id))
        return version


class AsyncAgentVersions(AsyncObject):
    """Async twin of :class:`AgentVersions`."""

    async def list_versions(self) -> list[AgentVersion]:
        """This agent's saved versions, newest first (RAGFlow v0.25.1+)."""
        versions: list[AgentVersion] = await self._c._run(list_agent_versions(self.id))
        return versions

    async def get_version(self, version_id: str) -> AgentVersion:
        """One saved version of this agent, with its DSL (RAGFlow v0.25.1+)."""
        version: AgentVersion = await self._c._run(get_agent_version(self.id, version_id))
        return version


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class AgentVersionsAPI(SyncAPIClient):
    """``RAGFlow.list_agent_versions`` / ``get_agent_version``."""

    def list_agent_versions(self, agent_id: str) -> list[AgentVersion]:
        """An agent's saved versions, newest first (RAGFlow v0.25.1+)."""
        versions: list[AgentVersion] = self._run(list_agent_versions(agent_id))
        return versions

    def get_agent_version(self, agent_id: str, version_id: str) -> AgentVersion:
        """One saved version of an agent, with its DSL (RAGFlow v0.25.1+)."""
        version: AgentVersion = self._run(get_agent_version(agent_id, version_id))
        return version


class AsyncAgentVersionsAPI(AsyncAPIClient):
    """Async twin of :class:`AgentVersionsAPI`."""

    async def list_agent_versions(self, agent_id: str) -> list[AgentVersion]:
        """An agent's saved versions, newest first (RAGFlow v0.25.1+)."""
        versions: list[AgentVersion] = await self._run(list_agent_versions(agent_id))
        return versions

    async def get_agent_version(self, agent_id: str, version_id: str) -> AgentVersion:
        """One saved version of an agent, with its DSL (RAGFlow v0.25.1+)."""
        version: AgentVersion = await self._run(get_agent_version(agent_id, version_id))
        return version
