"""Argument checks of the memory routes: RAGFlow v0.27's validation order, codes and messages."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .._util import ApiError, Json

MEMORY_TYPES = ("raw", "semantic", "episodic", "procedural")  # bit flags 1, 2, 4, 8
NAME_LIMIT = 128
SIZE_LIMIT = 10 * 1024 * 1024
DEFAULT_SIZE = 5 * 1024 * 1024
MAX_PAGE_SIZE = 100
MAX_IDS = 100


def argument_error(message: str) -> ApiError:
    """``get_error_argument_result``: code 101, no data key."""
    return ApiError(101, message)


INTERNAL = ApiError(500, "Internal server error", data=None)


async def body_of(request: Request, *, validated: bool) -> Json:
    """The JSON object body. Routes with required fields see a bad body as an empty one."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        if validated:
            return {}
        raise ApiError(100, "<BadRequest '400: Bad Request'>", data=None) from None
    if isinstance(value, dict):
        return value
    if validated:
        return {}
    raise ApiError(100, "TypeError('JSON payload must be an object.')", data=None)


def require(req: Json, *names: str) -> None:
    missing = [n for n in names if n not in req]
    if missing:
        raise ApiError(101, f"required argument are missing: {','.join(missing)}; ", data=None)


def page_number(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 1 else default


def page_size(value: Any, default: int = 30) -> int:
    """RAGFlow's REST page size: bad or < 1 means 30, > 100 raises ValueError."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 30
    if number < 1:
        return 30
    if number > MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be less than or equal to {MAX_PAGE_SIZE}")
    return number


def page_size_or_100(value: Any) -> int:
    """A page size read outside RAGFlow's try block: the ValueError is a code 100 answer."""
    try:
        return page_size(value)
    except ValueError as exc:
        raise ApiError(100, repr(exc), data=None) from None


def check_ids(values: list[Any], field: str) -> None:
    if len(values) > MAX_IDS:
        raise argument_error(f"{field} must contain at most {MAX_IDS} IDs")


def split_values(values: Any) -> list[Any]:
    """Ids given as a list and/or comma-separated strings."""
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[Any] = []
    for value in values:
        if not value:
            continue
        if isinstance(value, str):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        else:
            out.append(value)
    return out


def query_ids(request: Request, name: str) -> list[str]:
    values = request.query_params.getlist(name)
    if len(values) == 1 and "," in values[0]:
        values = values[0].split(",")
    return values


def check_name(name: Any) -> str:
    clean = str(name.strip())  # a non-string name fails here, as in RAGFlow (a code 500)
    if not clean:
        raise argument_error("Memory name cannot be empty or whitespace.")
    if len(clean) > NAME_LIMIT:
        raise argument_error(f"Memory name '{clean}' exceeds limit of {NAME_LIMIT}.")
    return clean


def check_types(value: Any) -> list[str]:
    wanted = set(value)
    invalid = wanted - set(MEMORY_TYPES)
    if invalid:
        raise argument_error(f"Memory type '{invalid}' is not supported.")
    return [t for t in MEMORY_TYPES if t in wanted]


def settings_of(new: Json, memory: Json) -> Json:
    """Validate an update (RAGFlow's order and messages); returns the fields it sets."""
    out: Json = {}
    if "name" in new:
        out["name"] = check_name(new["name"])
    if new.get("permissions"):
        if new["permissions"] not in ("me", "team"):
            raise argument_error(f"Unknown permission '{new['permissions']}'.")
        out["permissions"] = new["permissions"]
    for key in ("llm_id", "embd_id"):
        if new.get(key):
            out[key] = new[key]
    if new.get("memory_type"):
        out["memory_type"] = check_types(new["memory_type"])
    if new.get("memory_size"):
        if not 0 < int(new["memory_size"]) <= SIZE_LIMIT:
            raise argument_error(f"Memory size should be in range (0, {SIZE_LIMIT}] Bytes.")
        out["memory_size"] = int(new["memory_size"])
    if new.get("forgetting_policy"):
        if new["forgetting_policy"] != "FIFO":
            policy = new["forgetting_policy"]
            raise argument_error(f"Forgetting policy '{policy}' is not supported.")
        out["forgetting_policy"] = new["forgetting_policy"]
    if "temperature" in new:
        temperature = float(new["temperature"])
        if not 0 <= temperature <= 1:
            raise argument_error("Temperature should be in range [0, 1].")
        out["temperature"] = temperature
    for key in ("avatar", "description", "system_prompt", "user_prompt"):
        if key in new:
            out[key] = new[key]
    changed: Json = {}
    for key, value in out.items():
        current = memory.get(key)
        if key == "embd_id":
            if str(current or "").strip() != str(value).strip():
                changed[key] = str(value).strip()
        elif isinstance(value, list) and isinstance(current, list):
            if sorted(map(str, current)) != sorted(map(str, value)):
                changed[key] = value
        elif current != value:
            changed[key] = value
    return changed


def float_arg(request: Request, name: str, default: float) -> float:
    try:
        return float(request.query_params.get(name, default))
    except ValueError as exc:
        raise ApiError(100, repr(exc), data=None) from None
