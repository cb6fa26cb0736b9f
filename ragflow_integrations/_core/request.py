"""Request specs: everything a transport needs to send one request, built without I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

API_PREFIX = "/api/v1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
USER_AGENT = "ragflow-integrations/0.1.0"

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})

FileTuple = tuple[str, bytes, str]


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request relative to ``<base_url>/api/v1``.

    ``idempotent`` decides whether the request may be retried after it reached the server;
    ``stream`` asks for an SSE body; ``raw`` returns the body bytes instead of decoding JSON;
    ``envelope=False`` decodes JSON without RAGFlow's ``{code, message, data}`` wrapper.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    files: tuple[tuple[str, FileTuple], ...] = ()
    data: tuple[tuple[str, str], ...] = ()
    idempotent: bool | None = None
    stream: bool = False
    raw: bool = False
    envelope: bool = True
    auth: bool = True
    absolute_path: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.json, Mapping):
            for key, value in self.json.items():
                check_json(value, str(key))
        elif self.json is not None:
            check_json(self.json, "body")

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in IDEMPOTENT_METHODS

    def url(self, api_base: str) -> str:
        """Full URL (without query) given ``http://host:port/api/v1``."""
        if self.absolute_path:
            root = api_base[: -len(API_PREFIX)] if api_base.endswith(API_PREFIX) else api_base
            return root + self.path
        return api_base + self.path

    def headers(self, api_key: str | None) -> dict[str, str]:
        """Headers for this request; multipart content types are left to the HTTP library."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.stream:
            headers["Accept"] = "text/event-stream"
        if self.json is not None:
            headers["Content-Type"] = "application/json"
        if self.auth and api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers


def check_text(value: str, name: str) -> str:
    """``value`` if it can be sent as UTF-8, else a ValueError naming the argument."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{name} must be valid Unicode text (it contains a lone surrogate such as "
            f"'\\ud800'); pass a str that encodes as UTF-8"
        ) from None
    return value


def check_json(value: Any, name: str) -> None:
    """Raise a TypeError/ValueError naming ``name`` when ``value`` cannot be sent as JSON.

    Lone surrogates are allowed here: JSON escapes them (``"\\ud800"``) and the server decides.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number (got {value!r})")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name} keys must be str (got {key!r})")
            check_json(item, f"{name}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_json(item, f"{name}[{index}]")
        return
    raise TypeError(
        f"{name} must be JSON data (str, number, bool, None, list or dict), not "
        f"{type(value).__name__}; pass a str or a number instead"
    )


def make_params(**values: Any) -> tuple[tuple[str, str], ...]:
    """Query parameters: ``None`` dropped, bools as ``true``/``false``, lists repeated.

    Raises a TypeError/ValueError naming the parameter for values a URL cannot carry.
    """
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, bool):
                out.append((key, "true" if item else "false"))
            elif isinstance(item, str):
                out.append((key, check_text(item, key)))
            elif isinstance(item, int) or (isinstance(item, float) and math.isfinite(item)):
                out.append((key, str(item)))
            else:
                raise TypeError(
                    f"{key} must be a str, a number or a bool (got {type(item).__name__} "
                    f"{item!r:.40}); pass a str"
                )
    return tuple(out)


def path_segment(value: Any, name: str) -> str:
    """An id as one URL path segment: must be a non-empty str; ``/``, ``?``, ``#`` are escaped."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str id (got {type(value).__name__} {value!r:.40})")
    if not value:
        raise ValueError(f"{name} must be a non-empty id; pass the object's id")
    return quote(check_text(value, name), safe="")


def normalize_base_url(base_url: str) -> str:
    """``http://host:9380``, with a trailing slash or ``/api/v1`` -> ``http://host:9380/api/v1``."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url must look like 'http://host:9380' (got {base_url!r}); "
            "pass base_url= or set RAGFLOW_BASE_URL."
        )
    if url.endswith(API_PREFIX):
        return url
    if url.endswith("/api"):
        return url + "/v1"
    return url + API_PREFIX
