"""Configuration and helpers shared by the sync and async transports."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

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

    def with_changes(self, **changes: Any) -> TransportOptions:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.max_retries)


def connection_error(
    spec: RequestSpec, exc: BaseException, attempts: int, api_base: str, *, timeout: bool
) -> RAGFlowError:
    """The public error for a transport failure (message names the server, never the key)."""
    cause = exc.__cause__ if isinstance(exc, ConnectFailure) and exc.__cause__ else exc
    detail = f"{type(cause).__name__}: {cause}"[:300]
    where: dict[str, Any] = {"method": spec.method, "path": spec.path, "attempts": attempts}
    if timeout:
        return APITimeoutError(
            f"Timed out talking to {api_base} ({detail}). Raise timeout= (with_options) or check "
            "the server.",
            **where,
        )
    return APIConnectionError(
        f"Could not reach RAGFlow at {api_base} ({detail}). Check base_url / RAGFLOW_BASE_URL "
        "and that the server is running.",
        **where,
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
