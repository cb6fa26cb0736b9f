"""System endpoints (§3.15): ping, version, healthz.

v0.22.1 serves them only on its web API (``/v1/system/ping``, ``/v1/system/healthz``); under
``/api/v1`` it has none. v0.25+ serves ``/api/v1/system/*`` and keeps ``/v1/system/healthz``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .._util import json_result
from ._common import ServerState, public, state_of


@public
async def ping(request: Request) -> Response:
    return HTMLResponse("pong")  # Quart's default for a str return: text/html


@public
async def version(request: Request) -> Response:
    return json_result(state_of(request).version)


@public
async def healthz(request: Request) -> Response:
    state = state_of(request)
    try:
        with state.store.lock:
            state.store.db.execute("SELECT 1").fetchone()
        db = "ok"
    except Exception:
        db = "nok"
    body = {
        "db": db,
        "redis": "ok",
        "doc_engine": db,
        "storage": db,
        "status": "ok" if db == "ok" else "nok",
    }
    return JSONResponse(body, status_code=200 if db == "ok" else 500)


def routes(state: ServerState) -> list[Route]:
    """``/api/v1/system/*`` (v0.25+ only)."""
    if state.old:
        return []
    return [
        Route("/system/ping", ping, methods=["GET"]),
        Route("/system/version", version, methods=["GET"]),
        Route("/system/healthz", healthz, methods=["GET"]),
    ]


def web_routes(state: ServerState) -> list[Route]:
    """The web API's system routes outside ``/api/v1``."""
    out = [Route("/v1/system/healthz", healthz, methods=["GET"])]
    if state.old:
        out.append(Route("/v1/system/ping", ping, methods=["GET"]))
    return out
