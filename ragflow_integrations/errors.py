"""The exception tree, and the one place that maps server answers onto it.

Every error carries ``message``, ``status_code`` (HTTP status, ``None`` when no response arrived),
``code`` (RAGFlow's body code, ``None`` when absent), ``method``, ``path`` (relative to ``/api/v1``)
and ``attempts`` (how many times the request was sent). The API key never appears in any of them:
the clients pass every error through :meth:`RAGFlowError.hide` before it reaches the caller, so
even a server or proxy that echoes the ``Authorization`` header cannot put the key into a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DataError",
    "DocumentParseError",
    "FeatureNotSupportedError",
    "IndexBuildError",
    "IndexTimeoutError",
    "IngestionError",
    "NotFoundError",
    "ParseFailure",
    "ParseTimeoutError",
    "PermissionDeniedError",
    "RAGFlowError",
    "RateLimitError",
    "ResponseDecodeError",
    "RouteNotFoundError",
    "ServerError",
    "StreamError",
    "UploadError",
    "map_error",
]


class RAGFlowError(Exception):
    """Base class of every error raised by this package."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.method = method
        self.path = path
        self.attempts = attempts

    def context(self) -> dict[str, Any]:
        """``status_code``, ``code``, ``method``, ``path``, ``attempts``: to raise a wrapping error
        that points at the same request."""
        return {
            "status_code": self.status_code,
            "code": self.code,
            "method": self.method,
            "path": self.path,
            "attempts": self.attempts,
        }

    def about(self, subject: str) -> RAGFlowError:
        """Name what the failed request was about (``"Chat <id>"``) when the server's message
        does not: RAGFlow v0.27 answers an unknown chat id sent in the body with a bare "no
        authorization". Returns self, for ``raise exc.about(...)``."""
        if subject.split()[-1] not in self.message:
            self.message = f"{subject}: {self.message}"
            self.args = (self.message,)
        return self

    def hide(self, secret: str) -> None:
        """Mask ``secret`` as ``***`` in every text this error (and each error it holds) carries.

        See :func:`mask_secret` for where a key is found (a short key is masked as a whole token
        only, so ordinary words that contain it stay readable).
        """
        if not secret:
            return
        for name, value in list(vars(self).items()):
            setattr(self, name, _without(value, secret))
        self.args = tuple(_without(arg, secret) for arg in self.args)
        if isinstance(self.__cause__, RAGFlowError):
            self.__cause__.hide(secret)

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        parts = []
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        detail = f" [{', '.join(parts)}]" if parts else ""
        message = self.message
        if len(message) > _SHOWN_MESSAGE_CHARS:
            rest = len(message) - _SHOWN_MESSAGE_CHARS
            message = f"{message[:_SHOWN_MESSAGE_CHARS]}… ({rest} more characters in .message)"
        return f"{message}{where}{detail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"code={self.code!r}, method={self.method!r}, path={self.path!r}, "
            f"attempts={self.attempts!r})"
        )


_SHOWN_MESSAGE_CHARS = 2000  # str() shortens a longer server message; .message keeps it whole


LONG_SECRET_CHARS = 16
"""A key at least this long is masked wherever it appears, even inside a longer token."""


def mask_secret(text: str, secret: str) -> str:
    """``text`` with every appearance of ``secret`` replaced by ``***``.

    The key is looked for as sent and as a server or proxy may echo it: JSON-escaped (an echoed
    ``{"Authorization": "Bearer <key>"}``) and URL-encoded (``?api_key=<key>``). A key of
    :data:`LONG_SECRET_CHARS` characters or more is masked anywhere; a shorter one only where it
    stands as a whole token (not inside a longer word): with the key ``"dev"``, ``Bearer dev``,
    ``api_key=dev``, ``Authorization: dev`` and ``"dev"`` are masked, ``my-devices-list`` is not.
    """
    if not secret or not text:
        return text
    return _secret_pattern(secret).sub("***", text)


@lru_cache(maxsize=32)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    whole_token = len(secret) < LONG_SECRET_CHARS
    alternatives = []
    for form in sorted(forms, key=len, reverse=True):  # the longest form wins at one position
        pattern = re.escape(form)
        if whole_token and _WORD.match(form[0]):
            pattern = r"(?<!\w)" + pattern
        if whole_token and _WORD.match(form[-1]):
            pattern += r"(?!\w)"
        alternatives.append(pattern)
    return re.compile("|".join(alternatives))


_WORD = re.compile(r"\w")


def _without(value: Any, secret: str) -> Any:
    """``value`` with ``secret`` masked in its strings (lists, tuples, dicts and errors walked)."""
    if isinstance(value, str):
        return mask_secret(value, secret)
    if isinstance(value, RAGFlowError):
        value.hide(secret)
        return value
    if isinstance(value, ParseFailure):
        return ParseFailure(*(_without(part, secret) for part in value))
    if isinstance(value, list):
        return [_without(item, secret) for item in value]
    if type(value) is tuple:
        return tuple(_without(item, secret) for item in value)
    if isinstance(value, Mapping):
        return {_without(key, secret): _without(item, secret) for key, item in value.items()}
    return value


class APIError(RAGFlowError):
    """The server answered, but not with success (body ``code != 0`` or an HTTP error status)."""

    def __init__(self, message: str, *, data: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.data = data


class BadRequestError(APIError):
    """Invalid arguments (HTTP 400, code 101, a code-100 validation failure)."""


class DataError(BadRequestError):
    """RAGFlow's generic business error (code 102) that is not a "not found"."""


class AuthenticationError(APIError):
    """The API key was missing or rejected (HTTP 401, code 401, code 109 on old servers)."""


class PermissionDeniedError(APIError):
    """The key is valid but may not touch this object (HTTP 403, code 103/108/109)."""


class NotFoundError(APIError):
    """The object or route does not exist (HTTP 404, code 404, code 102 saying "not found" or
    "you don't own …", code 108 "lacks permission" and code 109 "no authorization", which RAGFlow
    answers for a missing id and another tenant's alike)."""


class RouteNotFoundError(NotFoundError):
    """The server has no such route or method: an HTTP 404 page, or (RAGFlow before v0.25) HTTP
    200 with code 100 ``<NotFound '404: Not Found'>`` / ``<MethodNotAllowed '405: …'>``.

    Usually an older server without this feature, or a ``base_url`` that is not RAGFlow's API.
    """


class FeatureNotSupportedError(RouteNotFoundError):
    """The server's RAGFlow version does not have this feature; the message names the first
    release that has it (``minimum_version``) and the server's (``server_version``).

    Raised before any request when the server's version is known to lack the route, or when the
    server answered that the route does not exist.
    """

    def __init__(
        self,
        message: str,
        *,
        feature: str,
        minimum_version: str,
        server_version: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.feature = feature
        self.minimum_version = minimum_version
        self.server_version = server_version


class ConflictError(APIError):
    """HTTP 409 / code 409."""


class RateLimitError(APIError):
    """HTTP 429."""


class ServerError(APIError):
    """The server failed (HTTP 5xx, code 100 exception, code 500)."""


class APIConnectionError(RAGFlowError):
    """No answer: the server could not be reached or the connection broke.

    ``request_sent`` is ``False`` when the connection never opened (nothing reached the server)
    and ``True`` when it broke or timed out after the request was sent: then the server may have
    applied the request, so check before repeating a write.
    """

    def __init__(self, message: str, *, request_sent: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The connect or read timeout expired."""


class ResponseDecodeError(RAGFlowError):
    """The body was not the JSON (or SSE) that RAGFlow sends; ``snippet`` holds its start."""

    def __init__(self, message: str, *, snippet: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.snippet = snippet


class StreamError(RAGFlowError):
    """A stream carried an error event or was cut; ``partial_text`` holds the answer so far."""

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial_text = partial_text


class IngestionError(RAGFlowError):
    """Base class of upload and parsing failures."""


class ParseFailure(tuple[str, str, str]):
    """``(document_id, name, progress_msg)`` of a document whose parsing failed."""

    __slots__ = ()

    def __new__(cls, document_id: str, name: str, progress_msg: str) -> ParseFailure:
        return super().__new__(cls, (document_id, name, progress_msg))

    @property
    def document_id(self) -> str:
        return self[0]

    @property
    def name(self) -> str:
        return self[1]

    @property
    def progress_msg(self) -> str:
        return self[2]


class DocumentParseError(IngestionError):
    """Parsing finished with failures; ``failures`` names each failed document and why."""

    def __init__(
        self, failures: Sequence[ParseFailure], *, documents: Sequence[Any] = (), **kwargs: Any
    ) -> None:
        lines = "; ".join(
            f"{f.name} ({f.document_id}): {f.progress_msg or 'no message'}" for f in failures
        )
        super().__init__(f"{len(failures)} document(s) failed to parse: {lines}", **kwargs)
        self.failures = list(failures)
        self.documents = list(documents)


class ParseTimeoutError(IngestionError):
    """Parsing did not finish before the deadline; ``pending`` lists the unfinished documents.

    ``cancelled`` says whether parsing was stopped (``cancel_on_timeout=True``); when that cancel
    request failed, ``cancel_error`` holds its error (also the ``__cause__``).
    """

    def __init__(
        self,
        pending: Sequence[Any],
        *,
        timeout: float,
        cancelled: bool = False,
        cancel_error: RAGFlowError | None = None,
        **kwargs: Any,
    ) -> None:
        names = ", ".join(str(getattr(d, "name", d)) for d in pending)
        if cancelled:
            action = " (parsing was cancelled)"
        elif cancel_error is not None:
            action = f" (cancelling the parse failed, it may still be running: {cancel_error})"
        else:
            action = ""
        super().__init__(
            f"{len(pending)} document(s) still parsing after {timeout:g} s{action}: {names}. "
            "Raise timeout= or poll again later.",
            **kwargs,
        )
        self.pending = list(pending)
        self.timeout = timeout
        self.cancelled = cancelled
        self.cancel_error = cancel_error


class IndexBuildError(IngestionError):
    """A dataset index (knowledge graph, RAPTOR, mind map) failed to build; ``task`` is the
    server's task (its ``progress_msg`` says why)."""

    def __init__(self, message: str, *, task: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task = task


class IndexTimeoutError(IngestionError):
    """A dataset index was still building at the deadline; ``task`` is its last known state
    (the build goes on on the server: wait again, or delete the index to stop it)."""

    def __init__(
        self, message: str, *, task: Any = None, timeout: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.task = task
        self.timeout = timeout


class UploadError(IngestionError):
    """An upload (or bulk ingestion) did not complete.

    ``uploaded`` holds the documents stored on the server, ``failed`` the names of the files that
    were not stored, and ``unparsed`` the stored documents whose parsing could not be started
    (retry with ``dataset.parse_documents([d.id for d in error.unparsed])``).
    """

    def __init__(
        self,
        message: str,
        *,
        uploaded: Sequence[Any] = (),
        failed: Sequence[Any] = (),
        unparsed: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.uploaded = list(uploaded)
        self.failed = list(failed)
        self.unparsed = list(unparsed)


_AUTH_HINT = "Check the API key (pass api_key= or set RAGFLOW_API_KEY)."
_NOT_FOUND_WORDS = (
    "not found",
    "doesn't exist",
    "does not exist",
    "can't find",
    "cannot find",
    "no such",
    "not exist",
)


_NOT_OWNED = re.compile(
    r"\b(?:don't|doesn't|do not|does not) own\b|\blacks permission\b|^no authorization\b", re.I
)
# RAGFlow before v0.25 turns a missing route into HTTP 200, code 100 with Werkzeug's repr.
_WERKZEUG_MISSING = ("<NotFound '404", "<MethodNotAllowed '405")
_NOT_OWNED_HINT = (
    "RAGFlow answers this for an id that does not exist as well as for one this API key's "
    "tenant cannot use: check the id."
)


def _is_missing_route(status: int | None, code: int | None, message: str) -> bool:
    """A route or method the server does not have (not a missing object)."""
    if code == 100 and message.startswith(_WERKZEUG_MISSING):
        return True
    # Quart's / Werkzeug's own 404/405 pages: no envelope code, or code 404 "Not Found: /path".
    return status in (404, 405) and (code is None or message.startswith("Not Found"))


def _route_hint(method: str | None, path: str | None) -> str:
    where = f"{method} {path}" if method and path else "this route"
    return (
        f"The server has no {where}: it may be an older RAGFlow without this feature, or "
        "base_url may not point at RAGFlow's API (http://host:9380, without /api/v1)."
    )


def _looks_not_found(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _NOT_FOUND_WORDS)


def _looks_auth(message: str) -> bool:
    lowered = message.lower()
    if "api key is invalid" in lowered or "unauthorized" in lowered:
        return True
    return "authorization" in lowered and ("empty" in lowered or "invalid" in lowered)


def _with_hint(message: str, hint: str) -> str:
    message = message.rstrip()
    return f"{message} {hint}" if message.endswith((".", "!", "?")) else f"{message}. {hint}"


def map_error(
    status: int | None,
    code: int | None,
    message: str,
    method: str | None = None,
    path: str | None = None,
    *,
    data: Any = None,
    attempts: int = 1,
) -> APIError:
    """Turn an unsuccessful answer (HTTP status + body code + message) into the right error."""
    message = message or "RAGFlow returned an error without a message"
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "method": method,
        "path": path,
        "data": data,
        "attempts": attempts,
    }
    cls: type[APIError]
    if (
        status == 401
        or code == 401
        or (code == 109 and _looks_auth(message))
        or (code == 0 and data is False and "authorization" in message.lower())
    ):
        cls = AuthenticationError
        message = _with_hint(message, _AUTH_HINT)
    elif _is_missing_route(status, code, message):
        cls = RouteNotFoundError
        message = _with_hint(message, _route_hint(method, path))
    elif code in (102, 108, 109) and _NOT_OWNED.search(message):
        cls = NotFoundError  # the same words for a missing id and for another tenant's object
        message = _with_hint(message, _NOT_OWNED_HINT)
    elif status == 403 or code in (103, 108, 109, 403):
        cls = PermissionDeniedError
        message = _with_hint(message, "The key's tenant does not own this object.")
    elif status == 404 or code == 404:
        cls = NotFoundError
    elif status == 409 or code == 409:
        cls = ConflictError
    elif status == 429:
        cls = RateLimitError
    elif (status is not None and status >= 500) or code in (100, 500):
        if code == 100 and ("must be" in message or "ValueError" in message):
            cls = BadRequestError
        else:
            cls = ServerError
    elif code == 102:
        cls = NotFoundError if _looks_not_found(message) else DataError
    elif status == 400 or code in (101, 400):
        cls = BadRequestError
    else:
        cls = APIError
    return cls(message, **kwargs)
