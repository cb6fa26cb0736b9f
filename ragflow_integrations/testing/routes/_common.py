"""State shared by the route modules, authentication and error handling."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._util import ApiError, Json
from ..store import Store
from ..worker import ParseWorker

Handler = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("ragflow_integrations.testing")

TENANT_ID = "0000000000000000000000000000a11c"
NICKNAME = "local"


@dataclass
class ServerState:
    """Everything a request handler needs."""

    store: Store
    worker: ParseWorker
    api_key: str
    emulate: str
    version: str
    stand_in: str
    parse_delay: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    llms: frozenset[str] = frozenset()

    def has_llm(self, name: str) -> bool:
        """Whether ``name`` (``model@factory`` or the bare model name) is a configured model."""
        return name in self.llms or any(name == m.split("@", 1)[0] for m in self.llms)

    @property
    def old(self) -> bool:
        """True when emulating a ≤ v0.24 server (0.22 mode)."""
        return self.emulate == "0.22"


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def auth_failure(state: ServerState, header: str | None) -> Response:
    if state.old:  # v0.22.1's token_required: HTTP 200 envelopes
        if not header:
            return JSONResponse(
                {"code": 0, "data": False, "message": "`Authorization` can't be empty"}
            )
        if len(header.split()) < 2:
            return JSONResponse(
                {"code": 0, "data": False, "message": "Please check your authorization format."}
            )
        return JSONResponse(
            {"code": 109, "data": False, "message": "Authentication error: API key is invalid!"}
        )
    return JSONResponse(
        {"code": 401, "message": "<Unauthorized '401: Unauthorized'>", "data": None},
        status_code=401,
    )


def token_of(header: str | None, *, old: bool = False) -> str:
    """The API key of an ``Authorization`` header as the emulated version reads it: v0.22.1
    takes the second word whatever the scheme; v0.25+ strips a ``Bearer `` prefix, if any."""
    if not header:
        return ""
    if old:
        words = header.split()
        return words[1] if len(words) >= 2 else ""
    if header[:7].lower() == "bearer ":
        parts = header.split(maxsplit=1)
        return parts[1] if len(parts) == 2 else ""
    return header


def is_authorised(state: ServerState, request: Request) -> bool:
    return token_of(request.headers.get("authorization"), old=state.old) == state.api_key


def endpoint(fn: Handler) -> Handler:
    """Require the API key and turn ApiError / unexpected exceptions into envelopes."""

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        state = state_of(request)
        if not is_authorised(state, request):
            return auth_failure(state, request.headers.get("authorization"))
        return await guarded(fn, request)

    return wrapper


def public(fn: Handler) -> Handler:
    """No authentication, same error handling."""

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        return await guarded(fn, request)

    return wrapper


async def guarded(fn: Handler, request: Request) -> Response:
    try:
        return await fn(request)
    except ApiError as exc:
        return exc.response()
    except Exception as exc:  # RAGFlow's server_error_response: HTTP 200, code 100, repr
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return JSONResponse({"code": 100, "message": repr(exc), "data": None})


def public_view(obj: Json) -> Json:
    """A stored object without internal (underscore) keys."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def method_not_allowed() -> JSONResponse:
    """What RAGFlow answers for a wrong method on an existing path (code 100, HTTP 200)."""
    return JSONResponse(
        {"code": 100, "message": "<MethodNotAllowed '405: Method Not Allowed'>", "data": None}
    )


def route_not_found(state: ServerState, path: str) -> JSONResponse:
    """What the emulated version answers for an unknown route: v0.22.1 had no 404 handler, so
    its catch-all error handler turned werkzeug's NotFound into HTTP 200 code 100."""
    if state.old:
        return JSONResponse({"code": 100, "message": "<NotFound '404: Not Found'>", "data": None})
    return not_found_body(path)


def not_found_body(path: str) -> JSONResponse:
    return JSONResponse(
        {"code": 404, "message": f"Not Found: {path}", "data": None, "error": "Not Found"},
        status_code=404,
    )
