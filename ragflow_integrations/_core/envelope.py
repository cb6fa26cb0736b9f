"""Decode one HTTP answer: success iff the JSON body's ``code == 0``; everything else raises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import APIError, ResponseDecodeError, ServerError, map_error
from .request import RequestSpec

SNIPPET_CHARS = 200


def snippet_of(body: bytes) -> str:
    """The first ~200 characters of a body, whitespace collapsed, for error messages."""
    text = body[: SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _parse_json(status: int, body: bytes, spec: RequestSpec, attempts: int) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        snippet = snippet_of(body)
        where = {
            "status_code": status,
            "method": spec.method,
            "path": spec.path,
            "attempts": attempts,
        }
        if status >= 500:
            raise ServerError(
                f"The server (or a proxy in front of it) answered HTTP {status} with a non-JSON "
                f"body: {snippet!r}. Retry later or check the server logs.",
                **where,
            ) from None
        raise ResponseDecodeError(
            f"Expected a JSON body from RAGFlow but got HTTP {status} with: {snippet!r}. "
            "Check that base_url points at the RAGFlow API (port 9380).",
            snippet=snippet,
            **where,
        ) from None


def error_from_body(status: int, body: Any, spec: RequestSpec, attempts: int = 1) -> APIError:
    """Build the error for an unsuccessful JSON body."""
    if isinstance(body, Mapping):
        code = body.get("code")
        message = str(body.get("message") or body.get("error") or "")
        data = body.get("data")
    else:
        code, message, data = None, str(body)[:SNIPPET_CHARS], None
    return map_error(
        status,
        code if isinstance(code, int) else None,
        message,
        spec.method,
        spec.path,
        data=data,
        attempts=attempts,
    )


def is_success(status: int, body: Any) -> bool:
    """RAGFlow's success rule (plus the legacy ``code 0, data false, "Authorization…"`` trap)."""
    if status >= 400 or not isinstance(body, Mapping) or body.get("code") != 0:
        return False
    message = str(body.get("message") or "")
    return not (body.get("data") is False and "authorization" in message.lower())


def decode(
    status: int, headers: Mapping[str, str], body: bytes, spec: RequestSpec, attempts: int = 1
) -> Any:
    """Decode an answer to ``spec``: the whole envelope dict, raw bytes, or plain JSON.

    Raises the mapped :class:`~ragflow_integrations.errors.APIError` subclass on failure.
    """
    if spec.raw:
        content_type = _header(headers, "content-type").lower()
        disposition = _header(headers, "content-disposition")
        if status < 400 and (disposition or "json" not in content_type):
            return body
        try:
            parsed = json.loads(body)
        except ValueError:
            if status < 400:
                return body
            parsed = None
        if status < 400 and not (
            isinstance(parsed, Mapping) and "code" in parsed and parsed.get("code") != 0
        ):
            return body
        if parsed is None:
            _parse_json(status, body, spec, attempts)
        raise error_from_body(status, parsed, spec, attempts)
    parsed = _parse_json(status, body, spec, attempts)
    if not spec.envelope:
        if status >= 400 or (isinstance(parsed, Mapping) and parsed.get("code") not in (None, 0)):
            raise error_from_body(status, parsed, spec, attempts)
        return parsed
    if is_success(status, parsed):
        return parsed
    if status < 400 and not isinstance(parsed, Mapping):
        raise ResponseDecodeError(
            f"Expected a RAGFlow envelope {{code, message, data}}, got: {snippet_of(body)!r}",
            status_code=status,
            method=spec.method,
            path=spec.path,
            attempts=attempts,
            snippet=snippet_of(body),
        )
    raise error_from_body(status, parsed, spec, attempts)
