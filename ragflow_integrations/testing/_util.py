"""Small shared helpers of the local server: ids, clocks, envelopes, request parsing."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from email.utils import formatdate
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Json = dict[str, Any]

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_clock_lock = threading.Lock()
_last_ms = 0


def new_id() -> str:
    """A 32-char lowercase hex id, like RAGFlow's ``uuid1().hex``."""
    return uuid.uuid1().hex


def chunk_id_for(content: str, document_id: str) -> str:
    """A 16-char hex chunk id derived from content and document (RAGFlow uses xxhash64)."""
    return hashlib.blake2b((content + document_id).encode("utf-8"), digest_size=8).hexdigest()


def normalise_id(value: Any) -> str | None:
    """Accept 32-hex or dashed UUIDs; return the 32-hex form or None when invalid."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace("-", "")
    return text if _HEX32.match(text) else None


def now_ms() -> int:
    """Milliseconds since the epoch, strictly increasing within the process (stable sort order)."""
    global _last_ms
    with _clock_lock:
        value = max(int(time.time() * 1000), _last_ms + 1)
        _last_ms = value
        return value


def http_date(ms: int) -> str:
    """RAGFlow's ``create_date`` style: an RFC 1123 date string."""
    return formatdate(ms / 1000, usegmt=True)


def stamp(obj: Json, *, created: bool) -> None:
    """Set update (and on creation also create) times in ms and as date strings."""
    ms = now_ms()
    if created:
        obj["create_time"] = ms
        obj["create_date"] = http_date(ms)
    obj["update_time"] = ms
    obj["update_date"] = http_date(ms)


def result(data: Any = None, *, total: int | None = None, **extra: Any) -> JSONResponse:
    """``get_result`` success: ``{"code":0,"data":...}`` without a message key."""
    body: Json = {"code": 0}
    if data is not None:
        body["data"] = data
    if total is not None:
        body["total_datasets"] = total
    body.update(extra)
    return JSONResponse(body)


def json_result(data: Any = None, message: str = "success", **extra: Any) -> JSONResponse:
    """``get_json_result`` success: ``{"code":0,"message":"success","data":...}``."""
    body: Json = {"code": 0, "message": message, "data": data}
    body.update(extra)
    return JSONResponse(body)


def error(code: int, message: str, *, data: Any = ..., status: int = 200) -> JSONResponse:
    """An error envelope; ``data`` is omitted unless given (``get_result`` style)."""
    body: Json = {"code": code, "message": message}
    if data is not ...:
        body["data"] = data
    return JSONResponse(body, status_code=status)


class ApiError(Exception):
    """Raised inside handlers; turned into an error envelope by the app."""

    def __init__(self, code: int, message: str, data: Any = ..., status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.status = status

    def response(self) -> JSONResponse:
        return error(self.code, self.message, data=self.data, status=self.status)


def page_size_error(message_code: int) -> ApiError:
    """The error RAGFlow gives for page_size > 100 (101 on pydantic lists, 100 elsewhere)."""
    if message_code == 101:
        return ApiError(
            101,
            "Field: <page_size> - Message: <Input should be less than or equal to 100>",
        )
    return ApiError(100, "ValueError('page_size must be less than or equal to 100')")


def paging(params: Any, *, cap: bool, error_code: int = 100) -> tuple[int, int]:
    """Normalise page/page_size per §2.5; page_size > 100 raises when ``cap`` is on."""
    try:
        page = int(params.get("page", 1))
    except (TypeError, ValueError):
        page = 1
    page = max(page, 1)
    try:
        size = int(params.get("page_size", 30))
    except (TypeError, ValueError):
        size = 30
    if size < 1:
        size = 30
    if cap and size > 100:
        raise page_size_error(error_code)
    return page, size


def slice_page(items: list[Any], page: int, size: int) -> list[Any]:
    start = (page - 1) * size
    return items[start : start + size]


def is_desc(value: Any, default: bool = True) -> bool:
    """Any value other than ``false`` means descending (datasets accept pydantic bools)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in {"false", "0", "no", "off", "f", "n"}


def multi(request: Request, name: str) -> list[str]:
    """A repeatable and/or comma-separated query parameter (also ``name[]``)."""
    values: list[str] = []
    for key in (name, name + "[]"):
        for raw in request.query_params.getlist(key):
            values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


async def read_json(request: Request, *, strict_content_type: bool = False) -> Json:
    """The JSON object body; errors as RAGFlow's validation messages (code 101)."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if strict_content_type and raw and "application/json" not in content_type:
        raise ApiError(
            101, f"Unsupported content type: Expected application/json, got {content_type}"
        )
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
        # A lone surrogate ("\ud800") decodes but can never be stored: refuse it like bad encoding.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError):
        raise ApiError(
            101, "Malformed JSON syntax: Missing commas/brackets or invalid encoding"
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(101, f"Invalid request payload: expected object, got {type(value).__name__}")
    return value


def raw_response(content: bytes, media_type: str, filename: str) -> Response:
    """File bytes with an attachment Content-Disposition."""
    from urllib.parse import quote

    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    ascii_name = filename.encode("ascii", "ignore").decode() or "file"
    disposition = f'attachment; filename="{ascii_name}"; ' + disposition.split("; ", 1)[1]
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


async def read_json_object(request: Request) -> Json:
    """The JSON object body of a route RAGFlow validates with pydantic (errors: code 101).

    The media type must be ``application/json`` (checked first, also for an empty body); an
    empty or unparsable body is "Malformed JSON syntax", ``null`` is an empty object.
    """
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(
            101, f"Unsupported content type: Expected application/json, got {content_type}"
        )
    try:
        value = json.loads(await request.body())
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError):
        raise ApiError(
            101, "Malformed JSON syntax: Missing commas/brackets or invalid encoding"
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(101, f"Invalid request payload: expected object, got {type(value).__name__}")
    return value


async def read_any_json(request: Request) -> Any:
    """v0.22's ``request_json``: whatever JSON value the body holds, ``{}`` when it holds none."""
    try:
        return json.loads(await request.body())
    except ValueError:
        return {}


async def read_request_json(request: Request) -> Json:
    """v0.27's ``get_request_json``: ``{}`` for an empty body, a JSON object for a JSON body,
    form fields otherwise; other JSON values fail like RAGFlow does (code 100)."""
    raw = await request.body()
    if not raw:
        return {}
    content_type = (request.headers.get("content-type") or "").lower()
    if not content_type.startswith("application/json"):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(100, "<BadRequest '400: Bad Request'>", data=None) from None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        raise ApiError(100, "AttributeError(\"'str' object has no attribute 'get'\")", data=None)
    raise ApiError(100, "TypeError('JSON payload must be an object.')", data=None)
