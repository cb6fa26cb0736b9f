"""Configuration and helpers shared by the sync and async transports."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .._core.envelope import _header
from .._core.request import RequestSpec
from .._core.retry import ConnectFailure, RetryPolicy, SendFailure
from ..errors import APIConnectionError, APITimeoutError, RAGFlowError

logger = logging.getLogger("ragflow_integrations")


@dataclass(frozen=True)
class TransportOptions:
    """Everything a transport needs; the key is kept out of ``repr``."""

    api_base: str
    api_key: str = field(repr=False)
    timeout: float = 60.0
    connect_timeout: float = 10.0
    max_retries: int = 2
    verify: bool | str = True

    def __post_init__(self) -> None:
        for name in ("timeout", "connect_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{name} must be a number of seconds above 0 (got {value!r})")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ValueError(f"max_retries must be an int >= 0 (got {self.max_retries!r})")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0 (got {self.max_retries!r})")
        if isinstance(self.verify, str):
            if not os.path.exists(self.verify):
                raise ValueError(
                    f"verify={self.verify!r}: no such CA bundle file or directory; pass the path "
                    "of a PEM file (or a directory of certificates), True, or False"
                )
        elif not isinstance(self.verify, bool):
            raise TypeError(
                f"verify must be True, False or the path of a CA bundle (got {self.verify!r})"
            )

    def with_changes(self, **changes: Any) -> TransportOptions:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.max_retries)


def connection_error(
    spec: RequestSpec, exc: BaseException, attempts: int, api_base: str, *, timeout: bool
) -> RAGFlowError:
    """The public error for a transport failure (message names the server, never the key).

    A connection that never opened says "could not reach" (check base_url); one that broke or
    timed out after the request was sent says the outcome is unknown, and for a non-idempotent
    request (a create, an upload, a question) that it may have been applied.
    """
    cause = (
        exc.__cause__ if isinstance(exc, (ConnectFailure, SendFailure)) and exc.__cause__ else exc
    )
    detail = f"{type(cause).__name__}: {cause}"[:300]
    tls = _is_tls_failure(cause)
    sent = not isinstance(exc, ConnectFailure) and not tls  # a failed handshake sends nothing
    where: dict[str, Any] = {
        "method": spec.method,
        "path": spec.path,
        "attempts": attempts,
        "request_sent": sent,
    }
    if tls:
        return APIConnectionError(
            f"Could not open a secure connection to RAGFlow at {api_base} ({detail}); the "
            "request was not sent. Pass verify=<CA bundle path> for a private CA, or check "
            "base_url's scheme (http vs https).",
            **where,
        )
    if not sent:
        if timeout:
            return APITimeoutError(
                f"Timed out connecting to RAGFlow at {api_base} ({detail}). Check base_url / "
                "RAGFLOW_BASE_URL and that the server is running, or raise connect_timeout=.",
                **where,
            )
        return APIConnectionError(
            f"Could not reach RAGFlow at {api_base} ({detail}). Check base_url / RAGFLOW_BASE_URL "
            "and that the server is running.",
            **where,
        )
    if spec.is_idempotent or spec.method.upper() in ("GET", "HEAD"):  # reads change nothing
        outcome = "Repeating this request is safe."
    else:
        outcome = (
            "The server may have applied it: check the result (e.g. list before creating again) "
            "before retrying, or it may be done twice."
        )
    if timeout:
        return APITimeoutError(
            f"Timed out waiting for RAGFlow at {api_base} to answer ({detail}); the request was "
            f"sent. {outcome} Raise timeout= (with_options) if the server is just slow.",
            **where,
        )
    return APIConnectionError(
        f"The connection to RAGFlow at {api_base} broke after the request was sent, before the "
        f"answer arrived ({detail}). {outcome}",
        **where,
    )


def connection_reusable(headers: Mapping[str, str]) -> bool:
    """True when the answer's framing lets its connection serve the next request.

    That needs a ``Content-Length`` or a chunked body and no ``Connection: close``; only then is
    reading the rest of a stream (to hand the connection back) worth it.
    """
    if "close" in _header(headers, "connection").lower():
        return False
    return (
        bool(_header(headers, "content-length"))
        or "chunked" in _header(headers, "transfer-encoding").lower()
    )


def log_response(spec: RequestSpec, status: int, started: float, now: float) -> None:
    logger.debug("%s %s -> %s in %.0f ms", spec.method, spec.path, status, (now - started) * 1000)


def log_retry(spec: RequestSpec, reason: str, delay: float, attempt: int) -> None:
    logger.info(
        "Retrying %s %s in %.2f s (attempt %d failed: %s)",
        spec.method,
        spec.path,
        delay,
        attempt,
        reason,
    )


class RetryLoop:
    """The bookkeeping of one request's attempts, shared by both transports' retry loops.

    ``after_failure`` returns the delay before the next attempt or raises the public error;
    ``after_response`` returns the delay, or ``None`` when the response is final.
    """

    def __init__(self, spec: RequestSpec, options: TransportOptions) -> None:
        self.spec = spec
        self.options = options
        self.policy = options.policy()
        self.attempt = 0
        self._started = 0.0

    def begin(self) -> None:
        self.attempt += 1
        self._started = time.monotonic()

    def after_failure(self, exc: ConnectFailure | SendFailure) -> float:
        delay = self.policy.decide(self.spec, self.attempt, error=exc)
        if delay is None:
            raise connection_error(
                self.spec, exc, self.attempt, self.options.api_base, timeout=_is_timeout(exc)
            ) from exc
        log_retry(self.spec, type(exc.__cause__ or exc).__name__, delay, self.attempt)
        return delay

    def after_response(self, status: int, headers: Mapping[str, str]) -> float | None:
        log_response(self.spec, status, self._started, time.monotonic())
        delay = self.policy.decide(self.spec, self.attempt, status=status, headers=headers)
        if delay is not None:
            log_retry(self.spec, f"HTTP {status}", delay, self.attempt)
        return delay


def _is_timeout(exc: BaseException) -> bool:
    cause = exc.__cause__
    return cause is not None and "Timeout" in type(cause).__name__


def _is_tls_failure(exc: BaseException) -> bool:
    """True when the failure is a TLS handshake/certificate error (nothing was sent)."""
    text = f"{type(exc).__name__} {exc}".lower()
    return "ssl" in text and any(
        word in text for word in ("certificate", "handshake", "wrong_version_number")
    )
