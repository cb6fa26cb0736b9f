"""Retry decisions: which failures to retry, and how long to wait (full jitter, Retry-After)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from .request import RequestSpec

RETRY_STATUSES = frozenset({408, 429})
MAX_RETRY_AFTER = 60.0


class ConnectFailure(Exception):
    """Transport-neutral marker: the connection was never established (request not sent)."""


class SendFailure(Exception):
    """Transport-neutral marker: the connection broke or timed out after the request was sent."""


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or HTTP date); None when absent/invalid."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**attempt))``.

    ``decide`` returns the seconds to wait before the next attempt, or ``None`` to give up.
    ``attempt`` counts the attempts already made (1 after the first try).
    """

    max_retries: int = 2
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = MAX_RETRY_AFTER
    rng: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0 (got {self.max_retries!r})")

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return float(self.rng() * ceiling)

    def should_retry(
        self, spec: RequestSpec, attempt: int, status: int | None, error: BaseException | None
    ) -> bool:
        if attempt > self.max_retries:
            return False
        if error is not None:
            if isinstance(error, ConnectFailure):
                return True
            return isinstance(error, SendFailure) and spec.is_idempotent
        retryable = status is not None and (status in RETRY_STATUSES or status >= 500)
        return retryable and spec.is_idempotent

    def decide(
        self,
        spec: RequestSpec,
        attempt: int,
        status: int | None = None,
        error: BaseException | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> float | None:
        """Seconds to sleep before retrying, or ``None`` when the failure is final."""
        if not self.should_retry(spec, attempt, status, error):
            return None
        retry_after = parse_retry_after(headers or {}, self.clock)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt)
