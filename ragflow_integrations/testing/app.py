"""The Starlette application: routes under ``/api/v1``, admin fault routes, error pages."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ._util import read_json
from .faults import FaultMiddleware, FaultRegistry
from .routes import (
    agents,
    chats,
    chunks,
    completions,
    dataset_extras,
    dataset_tasks,
    datasets,
    document_metadata,
    document_parse,
    documents,
    memories,
    models,
    openai_compat,
    retrieval,
    sessions,
    system,
)
from .routes._common import (
    ServerState,
    guarded,
    is_authorised,
    method_not_allowed,
    route_not_found,
    state_of,
)
from .routing import MergeSlashes


async def _admin_add(request: Request) -> Response:
    state = state_of(request)
    if not is_authorised(state, request):
        return JSONResponse({"code": 401, "message": "Unauthorized", "data": None}, 401)
    req = await read_json(request)
    if not req.get("path"):
        return JSONResponse({"code": 101, "message": "`path` is required", "data": None})
    fields = {k: req[k] for k in FaultRegistry.FIELDS if k in req}
    try:
        fault_id = request.app.state.faults.add(**fields)
    except (TypeError, ValueError) as exc:
        return JSONResponse({"code": 101, "message": str(exc), "data": None})
    return JSONResponse({"code": 0, "message": "success", "data": {"id": fault_id}})


async def _admin_clear(request: Request) -> Response:
    state = state_of(request)
    if not is_authorised(state, request):
        return JSONResponse({"code": 401, "message": "Unauthorized", "data": None}, 401)
    request.app.state.faults.clear()
    return JSONResponse({"code": 0, "message": "success", "data": True})


async def _admin_list(request: Request) -> Response:
    state = state_of(request)
    if not is_authorised(state, request):
        return JSONResponse({"code": 401, "message": "Unauthorized", "data": None}, 401)
    return JSONResponse({"code": 0, "message": "success", "data": request.app.state.faults.list()})


def _admin_routes() -> list[BaseRoute]:
    async def add(request: Request) -> Response:
        return await guarded(_admin_add, request)

    return [
        Route("/_admin/faults", add, methods=["POST"]),
        Route("/_admin/faults", _admin_clear, methods=["DELETE"]),
        Route("/_admin/faults", _admin_list, methods=["GET"]),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return method_not_allowed()
    return route_not_found(state_of(request), request.url.path)


def build_app(state: ServerState, faults: FaultRegistry) -> Any:
    """The ASGI app (Starlette wrapped in the fault middleware)."""
    api: list[BaseRoute] = []
    for module in (
        system,
        models,
        datasets,
        dataset_tasks,
        dataset_extras,
        document_metadata,  # before documents: `documents/metadatas` is no document id
        document_parse,
        documents,
        chunks,
        retrieval,
        chats,
        sessions,
        completions,
        openai_compat,
        agents,
        memories,
    ):
        api.extend(module.routes(state))
    api.extend(dataset_tasks.catch_all_routes(state))  # DELETE /datasets/{id}/{type}: last
    api.extend(_admin_routes())
    app = Starlette(
        routes=[Mount("/api/v1", routes=api), *system.web_routes(state), *_admin_routes()],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.server = state
    app.state.faults = faults
    return FaultMiddleware(MergeSlashes(app), faults, state.stand_in)
