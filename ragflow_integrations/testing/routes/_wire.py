"""RAGFlow's envelope helpers and request-body readers, as the chat, session, chunk and agent
routes of each emulated version use them.

RAGFlow has four envelope builders; their names here say which one a handler mirrors:

- ``get_result``: ``{"code": 0, "data": ...}`` (no message; ``data`` left out when None), and
  ``{"code": c, "message": m}`` for errors;
- ``get_error_data_result`` / ``get_data_error_result``: ``{"code": 102, "message": m}``;
- ``get_json_result``: ``{"code": c, "message": m, "data": d}`` (always all three keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .._util import ApiError, Json

DATA_ERROR = 102
ARGUMENT_ERROR = 101
EXCEPTION_ERROR = 100
OPERATING_ERROR = 103
AUTHENTICATION_ERROR = 109


def get_result(data: Any = None, *, code: int = 0, message: str = "") -> JSONResponse:
    body: Json = {"code": code}
    if code == 0:
        if data is not None:
            body["data"] = data
    else:
        body["message"] = message or "Error"
    return JSONResponse(body)


def get_json_result(data: Any = None, *, code: int = 0, message: str = "success") -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": data})


def data_error(message: str, code: int = DATA_ERROR) -> ApiError:
    """``get_error_data_result`` / ``get_data_error_result`` raised from inside a handler."""
    return ApiError(code, message)


def json_error(message: str, code: int, data: Any = None) -> ApiError:
    """A ``get_json_result`` error (``data`` included) raised from inside a handler."""
    return ApiError(code, message, data=data)


def server_error(exc: BaseException) -> ApiError:
    """``server_error_response``: code 100 with the exception's ``repr``."""
    return ApiError(EXCEPTION_ERROR, repr(exc), data=None)


def unique_ids(ids: list[Any], kind: str) -> tuple[list[Any], list[str]]:
    """``check_duplicate_ids``: the distinct ids (first-seen order) and one message per
    duplicated id (``Duplicate chunk ids: x``)."""
    counts: dict[Any, int] = {}
    for value in ids:
        counts[value] = counts.get(value, 0) + 1
    duplicates = [f"Duplicate {kind} ids: {value}" for value, n in counts.items() if n > 1]
    return list(counts), duplicates


async def body_v022(request: Request) -> Any:
    """v0.22.1's ``request_json()``: the parsed JSON value (any type), ``{}`` when unreadable."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}


async def body_v027(request: Request) -> Json:
    """v0.27's ``get_request_json()``: an empty body is ``{}``; a JSON string raises
    AttributeError and any other non-object TypeError (both code 100); a malformed JSON
    body is werkzeug's BadRequest; a non-JSON body is read as a form."""
    raw = await request.body()
    if not raw:
        return {}
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("application/json"):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(EXCEPTION_ERROR, "<BadRequest '400: Bad Request'>", data=None) from None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        raise server_error(AttributeError("'str' object has no attribute 'get'"))
    raise server_error(TypeError("JSON payload must be an object."))


async def body_of(request: Request, old: bool) -> Any:
    return await (body_v022(request) if old else body_v027(request))


def as_dict(value: Any) -> Json:
    """What ``req.get(...)`` on a non-dict body raises in RAGFlow (code 100)."""
    if isinstance(value, dict):
        return value
    raise server_error(AttributeError(f"'{type(value).__name__}' object has no attribute 'get'"))


def delete_each(
    ids: Any, kind: str, delete_one: Callable[[Any], str | None]
) -> tuple[int, list[str], list[str]]:
    """A bulk delete: ``check_duplicate_ids``, then ``delete_one`` per distinct id (it answers
    an error message, or None when it deleted). Returns (deleted, errors, duplicate messages)."""
    try:
        distinct, duplicates = unique_ids(list(ids), kind)
    except TypeError as exc:
        raise server_error(exc) from None
    errors: list[str] = []
    for item in distinct:
        problem = delete_one(item)
        if problem is not None:
            errors.append(problem)
    return len(distinct) - len(errors), errors, duplicates


def deleted_json(noun: str, result: tuple[int, list[str], list[str]], success: Any) -> JSONResponse:
    """A bulk delete in ``get_json_result`` envelopes (v0.25+ chats and sessions): errors and
    duplicates together; a partial success says so in the message."""
    deleted, errors, duplicates = result
    problems = errors + duplicates
    if not problems:
        return get_json_result(success)
    if deleted:
        return get_json_result(
            {"success_count": deleted, "errors": problems},
            message=f"Partially deleted {deleted} {noun} with {len(problems)} errors",
        )
    raise data_error("; ".join(problems))


def deleted_result(result: tuple[int, list[str], list[str]]) -> JSONResponse:
    """A bulk delete in ``get_result`` envelopes (v0.22.1, and agent sessions in both
    versions): missing ids first, then duplicates; the partial message is dropped."""
    deleted, errors, duplicates = result
    for problems, separator in ((errors, "; "), (duplicates, ";")):
        if not problems:
            continue
        if deleted:
            return get_result({"success_count": deleted, "errors": problems})
        raise data_error(separator.join(problems))
    return get_result()
