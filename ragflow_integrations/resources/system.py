"""System: liveness (``/system/ping``), health (``/system/healthz``) and the server version.

The version probe itself (``GET /system/version``, answered once per client into
:class:`ServerFeatures`) is :func:`~ragflow_integrations._core.ops.probe_features`, run by the
drivers for every operation that asks for ``FEATURES``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._base_client import AsyncAPIClient, SyncAPIClient
from .._core.features import ServerFeatures
from .._core.ops import FEATURES, Call, Op, call
from .._core.request import RequestSpec
from ..errors import APIError, RAGFlowError, RouteNotFoundError

# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def ping() -> Op:
    """``GET /api/v1/system/ping``, or the web API's ``/v1/system/ping`` on servers before v0.25
    (their API has no ping route)."""
    try:
        body = yield call("GET", "/system/ping", raw=True, auth=False)
    except RouteNotFoundError:
        body = yield call("GET", "/v1/system/ping", raw=True, auth=False, absolute_path=True)
    return bytes(body).strip().strip(b'"').lower() == b"pong"


def health() -> Op:
    features: ServerFeatures = yield FEATURES
    body = b""
    for path in dict.fromkeys([features.health_path, "/system/healthz"]):
        spec = RequestSpec(
            "GET",
            path,
            raw=True,
            auth=False,
            idempotent=False,
            absolute_path=path.startswith("/v1/"),
        )
        try:
            body = yield Call(spec)
            break
        except RouteNotFoundError:
            continue
        except APIError as exc:
            return {"status": "unhealthy", "status_code": exc.status_code, "message": exc.message}
    else:
        return {"status": "unknown", "message": "this server has no health route"}
    try:
        parsed = json.loads(bytes(body))
    except ValueError:
        return {"status": bytes(body).decode("utf-8", errors="replace")[:200]}
    return dict(parsed) if isinstance(parsed, Mapping) else {"status": parsed}


# ----------------------------------------------------------------------------------------------
# client methods
# ----------------------------------------------------------------------------------------------


class System(SyncAPIClient):
    """``RAGFlow.ping`` / ``version`` / ``health``."""

    def ping(self) -> bool:
        """True when ``/system/ping`` answers ``pong``; False when unreachable or wrong."""
        try:
            return bool(self.with_options(max_retries=0)._run(ping()))
        except RAGFlowError:
            return False

    def version(self) -> str:
        """The server's version text (``"<0.25 …"`` for old servers without the route)."""
        return self.get_features().version_text

    def health(self) -> dict[str, Any]:
        """``/system/healthz`` as a dict (``{"status": "unhealthy", …}`` on HTTP 500)."""
        result: dict[str, Any] = self._run(health())
        return result


class AsyncSystem(AsyncAPIClient):
    """``AsyncRAGFlow.ping`` / ``version`` / ``health``."""

    async def ping(self) -> bool:
        """True when ``/system/ping`` answers ``pong``; False when unreachable or wrong."""
        try:
            return bool(await self.with_options(max_retries=0)._run(ping()))
        except RAGFlowError:
            return False

    async def version(self) -> str:
        """The server's version text (``"<0.25 …"`` for old servers without the route)."""
        return (await self.get_features()).version_text

    async def health(self) -> dict[str, Any]:
        """``/system/healthz`` as a dict (``{"status": "unhealthy", …}`` on HTTP 500)."""
        result: dict[str, Any] = await self._run(health())
        return result
