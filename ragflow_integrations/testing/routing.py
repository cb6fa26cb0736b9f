"""RAGFlow's router merges repeated slashes by redirecting (werkzeug's ``merge_slashes``)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")


class MergeSlashes:
    """Answer a path with ``//`` with a 308 redirect to the path with single slashes, so
    ``/datasets//documents`` lands where RAGFlow sends it (usually a 405 or 404 there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        path = scope.get("path", "")
        if scope["type"] == "http" and "//" in path:
            target = _SLASHES.sub("/", path)
            query = scope.get("query_string", b"").decode("latin-1")
            response = RedirectResponse(target + (f"?{query}" if query else ""), status_code=308)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
