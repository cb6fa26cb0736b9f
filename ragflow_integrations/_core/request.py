"""Request specs: everything a transport needs to send one request, built without I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


def make_params(**values: Any) -> tuple[tuple[str, str], ...]:
    """Query parameters: ``None`` dropped, bools as ``true``/``false``, lists repeated."""
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, bool):
                out.append((key, "true" if item else "false"))
            else:
                out.append((key, str(item)))
    return tuple(out)


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
