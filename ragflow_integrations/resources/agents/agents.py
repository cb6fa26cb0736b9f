"""Agents: list, read, create, update and delete agents (``/agents``); one agent session.

Operations (``id``/``title`` filtered on the client where the server cannot); :class:`Agent` /
:class:`AsyncAgent` (their session and ``ask`` methods come from ``sessions.py``); the client
methods :class:`Agents` / :class:`AsyncAgents`. Methods call the operation of the same name defined
in this module (a module-level function).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..._base_client import AsyncAPIClient, SyncAPIClient
from ..._core.features import ServerFeatures
from ..._core.ops import (
    FEATURES,
    Context,
    Op,
    RawContext,
    call,
    collect,
    data_of,
    object_of,
    seg,
    walk,
)
from ..._core.paging import page_window
from ..._core.request import check_json
from ..._models import AsyncObject, SyncObject, _Model
from ...errors import NotFoundError
from .sessions import AgentSessions, AsyncAgentSessions, get_agent_session
from .versions import AgentVersions, AsyncAgentVersions

if TYPE_CHECKING:
    from ..chats.sessions import AsyncSession, Session

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def _is_agent(item: Mapping[str, Any]) -> bool:
    return item.get("type") != "compilation_template_group"


def walk_agents(
    ctx: Context,
    offset: int = 1,
    limit: int | None = None,
    orderby: str = "update_time",
    desc: bool = True,
    id: str | None = None,
    title: str | None = None,
) -> Op:
    """Agents; ``id``/``title`` filter exactly.

    Servers before v0.25 filter by ``id``/``title`` themselves. Newer ones read neither (they
    would answer every agent): the client sends ``keywords=title`` (a substring match that
    narrows the listing), keeps the exact matches and applies the page window to those.
    """

    def exact(item: Mapping[str, Any]) -> bool:
        return (
            _is_agent(item)
            and (not id or item.get("id") == id)
            and (not title or item.get("title") == title)
        )

    params: dict[str, Any] = {"orderby": orderby, "desc": desc}
    client_filter = False
    if id or title:
        features: ServerFeatures = yield FEATURES
        if features.agent_list_filters:
            params.update(id=id, title=title)
        else:
            params["keywords"] = title or None
            client_filter = True
    return (
        yield from walk(
            ctx,
            "agent",
            "/agents",
            params,
            offset=offset,
            limit=limit,
            keys=("canvas", "agents"),
            keep=exact if client_filter else _is_agent,
            window_after_keep=client_filter,
            filtered=bool(id or title),
        )
    )


def get_agent(ctx: Context, agent_id: str) -> Op:
    seg(agent_id, "agent_id")
    features: ServerFeatures = yield FEATURES
    if features.get_routes:
        response = yield call("GET", f"/agents/{seg(agent_id)}")
        return ctx.wrap("agent", object_of(response, "an agent"))
    items = yield from collect(walk_agents(ctx, id=agent_id))
    if not items:
        raise NotFoundError(f"Agent {agent_id} not found", method="GET", path="/agents")
    return items[0]


def create_agent(
    ctx: Context,
    title: str,
    dsl: Mapping[str, Any],
    description: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    body: dict[str, Any] = {"title": title, "dsl": dict(dsl), **dict(extra or {})}
    if description is not None:
        body["description"] = description
    response = yield call("POST", "/agents", json=body)
    data = data_of(response)
    if isinstance(data, Mapping) and data.get("id"):
        return ctx.wrap("agent", dict(data))
    items = yield from collect(walk_agents(ctx, title=title))
    if not items:
        raise NotFoundError(f"Agent {title!r} was created but cannot be listed")
    return items[0]


def update_agent(
    ctx: Context,
    agent_id: str,
    title: str | None = None,
    description: str | None = None,
    dsl: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    """``PUT /agents/{id}`` with the fields given, then the agent read back.

    RAGFlow v0.26.3+ resets ``canvas_type`` when an update leaves it out, and v0.22 needs the
    title with a new DSL: the current values are read and sent along, so only what the caller
    passed changes.
    """
    seg(agent_id, "agent_id")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise ValueError(f"title must be a non-empty str (got {title!r:.40})")
    if description is not None and not isinstance(description, str):
        raise TypeError(f"description must be a str (got {type(description).__name__})")
    if dsl is not None and not isinstance(dsl, Mapping):
        raise TypeError(f"dsl must be the agent's DSL as a dict (got {type(dsl).__name__})")
    body: dict[str, Any] = {
        key: value
        for key, value in (("title", title), ("description", description), ("dsl", dsl))
        if value is not None
    }
    body.update({k: v for k, v in dict(extra or {}).items() if v is not None})
    if not body:
        raise ValueError("nothing to update: pass title=, description= and/or dsl=")
    check_json(body, "update")
    features: ServerFeatures = yield FEATURES
    keep = ("canvas_type",) if features.get_routes else ("title",) if "dsl" in body else ()
    if any(key not in body for key in keep):
        current = yield from get_agent(RawContext(), agent_id)
        body.update({k: current[k] for k in keep if k not in body and current.get(k)})
    yield call("PUT", f"/agents/{seg(agent_id)}", json=body)
    return (yield from get_agent(ctx, agent_id))


def delete_agent(agent_id: str) -> Op:
    yield call("DELETE", f"/agents/{seg(agent_id)}")


# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class _AgentFields(_Model):
    id: str = ""
    title: str | None = ""
    description: str | None = None
    avatar: str | None = None
    canvas_type: str | None = None
    dsl: Any = None


class Agent(_AgentFields, AgentSessions, AgentVersions, SyncObject):
    """An agent (canvas)."""

    def update(
        self,
        title: str | None = None,
        description: str | None = None,
        dsl: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Agent:
        """Change the title, description and/or DSL; refreshes and returns self."""
        fresh = self._c._run(update_agent(RawContext(), self.id, title, description, dsl, extra))
        self._merge(fresh)
        return self


class AsyncAgent(_AgentFields, AsyncAgentSessions, AsyncAgentVersions, AsyncObject):
    """Async twin of :class:`Agent`."""

    async def update(
        self,
        title: str | None = None,
        description: str | None = None,
        dsl: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncAgent:
        """Change the title, description and/or DSL; refreshes and returns self."""
        fresh = await self._c._run(
            update_agent(RawContext(), self.id, title, description, dsl, extra)
        )
        self._merge(fresh)
        return self


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class Agents(SyncAPIClient):
    """``RAGFlow``'s agent methods."""

    def list_agents(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
        title: str | None = None,
    ) -> list[Agent]:
        """Page ``page`` of size ``page_size`` of agents (template groups left out)."""
        offset, limit = page_window(page, page_size)
        return self._collect(walk_agents(self, offset, limit, orderby, desc, id, title))

    def iter_agents(self, orderby: str = "update_time", desc: bool = True) -> Iterator[Agent]:
        """Every agent, lazily."""
        return self._iterate(walk_agents(self, 1, None, orderby, desc))

    def get_agent(self, agent_id: str) -> Agent:
        """One agent (with its DSL) by id."""
        agent: Agent = self._run(get_agent(self, agent_id))
        return agent

    def create_agent(
        self, title: str, dsl: Mapping[str, Any], description: str | None = None, **extra: Any
    ) -> Agent:
        """Create an agent from its DSL (returns the created agent)."""
        agent: Agent = self._run(create_agent(self, title, dsl, description, extra))
        return agent

    def update_agent(
        self,
        agent_id: str,
        title: str | None = None,
        description: str | None = None,
        dsl: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Agent:
        """Change an agent's title, description and/or DSL; returns the updated agent."""
        agent: Agent = self._run(update_agent(self, agent_id, title, description, dsl, extra))
        return agent

    def get_agent_session(self, agent_id: str, session_id: str) -> Session:
        """One session of an agent, with its messages."""
        session: Session = self._run(get_agent_session(self, agent_id, session_id))
        return session

    def delete_agent(self, agent_id: str) -> None:
        """Delete one agent."""
        self._run(delete_agent(agent_id))


class AsyncAgents(AsyncAPIClient):
    """``AsyncRAGFlow``'s agent methods."""

    async def list_agents(
        self,
        page: int = 1,
        page_size: int = 1024,
        orderby: str = "update_time",
        desc: bool = True,
        id: str | None = None,
        title: str | None = None,
    ) -> list[AsyncAgent]:
        """Page ``page`` of size ``page_size`` of agents (template groups left out)."""
        offset, limit = page_window(page, page_size)
        return await self._collect(walk_agents(self, offset, limit, orderby, desc, id, title))

    def iter_agents(
        self, orderby: str = "update_time", desc: bool = True
    ) -> AsyncIterator[AsyncAgent]:
        """Every agent, lazily."""
        return self._iterate(walk_agents(self, 1, None, orderby, desc))

    async def get_agent(self, agent_id: str) -> AsyncAgent:
        """One agent (with its DSL) by id."""
        agent: AsyncAgent = await self._run(get_agent(self, agent_id))
        return agent

    async def create_agent(
        self, title: str, dsl: Mapping[str, Any], description: str | None = None, **extra: Any
    ) -> AsyncAgent:
        """Create an agent from its DSL (returns the created agent)."""
        agent: AsyncAgent = await self._run(create_agent(self, title, dsl, description, extra))
        return agent

    async def update_agent(
        self,
        agent_id: str,
        title: str | None = None,
        description: str | None = None,
        dsl: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncAgent:
        """Change an agent's title, description and/or DSL; returns the updated agent."""
        agent: AsyncAgent = await self._run(
            update_agent(self, agent_id, title, description, dsl, extra)
        )
        return agent

    async def get_agent_session(self, agent_id: str, session_id: str) -> AsyncSession:
        """One session of an agent, with its messages."""
        session: AsyncSession = await self._run(get_agent_session(self, agent_id, session_id))
        return session

    async def delete_agent(self, agent_id: str) -> None:
        """Delete one agent."""
        await self._run(delete_agent(agent_id))
