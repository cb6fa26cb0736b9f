"""System endpoints (§3.15): ping, version, healthz."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .._util import json_result
from ._common import ServerState, public, state_of


@public
async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


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
        "_meta": {"stand_in": state.stand_in},
    }
    return JSONResponse(body, status_code=200 if db == "ok" else 500)


def routes(state: ServerState) -> list[Route]:
    out = [
        Route("/system/ping", ping, methods=["GET"]),
        Route("/system/healthz", healthz, methods=["GET"]),
    ]
    if not state.old:  # servers ≤ v0.24 have no /api/v1/system/version: it 404s there
        out.append(Route("/system/version", version, methods=["GET"]))
    return out
