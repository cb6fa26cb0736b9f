"""Retry decisions, backoff, Retry-After, and the transports' retry loops (fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragflow_integrations import APIConnectionError, APITimeoutError, ServerError
from ragflow_integrations._core.request import RequestSpec
from ragflow_integrations._core.retry import (
    ConnectFailure,
    RetryPolicy,
    SendFailure,
    parse_retry_after,
)
from ragflow_integrations._transport.base import connection_error

from .fakes import Answer, FakeServer, async_client, err, ok, sync_client

GET = RequestSpec("GET", "/datasets")
POST = RequestSpec("POST", "/datasets", json={})
RETRIEVAL = RequestSpec("POST", "/retrieval", json={}, idempotent=True)


def policy(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(rng=lambda: 1.0, clock=lambda: 1_000_000.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_idempotent_requests_retry_retryable_statuses(status: int) -> None:
    assert policy().decide(GET, 1, status=status) == 0.5
    assert policy().decide(RETRIEVAL, 1, status=status) == 0.5


@pytest.mark.parametrize("status", [200, 400, 401, 404, 409])
def test_other_statuses_are_final(status: int) -> None:
    assert policy().decide(GET, 1, status=status) is None


def test_non_idempotent_post_retries_only_when_never_sent() -> None:
    p = policy()
    assert p.decide(POST, 1, status=503) is None
    assert p.decide(POST, 1, error=SendFailure("read timeout")) is None
    assert p.decide(POST, 1, error=ConnectFailure("refused")) == 0.5
    assert p.decide(GET, 1, error=SendFailure("reset")) == 0.5


def test_backoff_doubles_and_is_capped() -> None:
    p = policy(max_retries=10)
    assert [p.decide(GET, n, status=503) for n in (1, 2, 3, 4, 5, 6)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
    ]


@given(attempt=st.integers(1, 30), draw=st.floats(0, 1))
def test_full_jitter_stays_within_bounds(attempt: int, draw: float) -> None:
    p = RetryPolicy(max_retries=100, rng=lambda: draw)
    delay = p.decide(GET, attempt, status=500)
    assert delay is not None
    assert 0 <= delay <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_max_retries_bounds_attempts_and_zero_disables() -> None:
    assert policy(max_retries=2).decide(GET, 2, status=503) is not None
    assert policy(max_retries=2).decide(GET, 3, status=503) is None
    assert policy(max_retries=0).decide(GET, 1, status=503) is None
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = now.timestamp
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after({"retry-after": date}, clock) == pytest.approx(7.0)
    past = format_datetime(now - timedelta(seconds=7), usegmt=True)
    assert parse_retry_after({"retry-after": past}, clock) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    assert policy().decide(GET, 1, status=429, headers={"Retry-After": "5"}) == 5.0
    assert policy().decide(GET, 1, status=429, headers={"Retry-After": "3600"}) == 60.0


# -- transport loops --------------------------------------------------------------------------


def busy() -> Answer:
    return Answer(
        status=503,
        headers={"Content-Type": "text/html", "Retry-After": "2"},
        body=b"<html>busy</html>",
    )


def test_sync_transport_retries_then_succeeds_honouring_retry_after() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", busy(), busy(), ok([]))
    client = sync_client(server, max_retries=2)
    sleeps: list[float] = []
    client._transport._sleep = sleeps.append
    assert client.list_datasets() == []
    assert sleeps == [2.0, 2.0]
    assert len(server.calls("GET", "/api/v1/datasets")) == 3


def test_sync_exhausted_retries_report_attempts() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", busy())
    client = sync_client(server, max_retries=2)
    with pytest.raises(ServerError) as info:
        client.list_datasets()
    assert info.value.attempts == 3
    assert info.value.status_code == 503


def test_sync_post_is_not_retried_after_it_was_sent() -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", Answer(fail="read"))
    client = sync_client(server, max_retries=3)
    with pytest.raises(APITimeoutError) as info:
        client.create_dataset("kb")
    assert info.value.attempts == 1
    assert len(server.calls("POST")) == 1


def test_sync_post_is_retried_when_the_connection_never_opened() -> None:
    server = FakeServer().on(
        "POST", "/api/v1/datasets", Answer(fail="connect"), ok({"id": "d1", "name": "kb"})
    )
    client = sync_client(server, max_retries=1)
    assert client.create_dataset("kb").id == "d1"
    assert len(server.calls("POST")) == 2


@pytest.mark.parametrize(
    ("fail", "sent", "says"),
    [("connect", False, "Could not reach"), ("drop", True, "Repeating this request is safe")],
)
def test_sync_connection_errors_after_exhaustion(fail: str, sent: bool, says: str) -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", Answer(fail=fail))
    client = sync_client(server, max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        client.list_datasets()
    assert info.value.attempts == 3
    assert "fake.ragflow" in info.value.message and says in info.value.message
    assert info.value.request_sent is sent


async def test_async_transport_retries_with_async_sleep() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", busy(), ok([{"id": "a"}]))
    client = async_client(server, max_retries=2)
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    client._transport._sleep = record
    assert [d.id for d in await client.list_datasets()] == ["a"]
    assert sleeps == [2.0]


async def test_async_post_not_retried_after_send_but_retried_on_connect() -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", Answer(fail="read"))
    client = async_client(server, max_retries=3)
    with pytest.raises(APITimeoutError):
        await client.create_dataset("kb")
    assert len(server.calls("POST")) == 1
    server.on("POST", "/api/v1/datasets", Answer(fail="connect_timeout"), ok({"id": "d2"}))
    assert (await client.create_dataset("kb")).id == "d2"


def test_with_options_changes_retries_without_touching_the_original() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", err(500, "x", status=500))
    client = sync_client(server, max_retries=0)
    patient = client.with_options(max_retries=3, timeout=5)
    patient._transport._sleep = lambda s: None
    with pytest.raises(ServerError) as info:
        patient.list_datasets()
    assert info.value.attempts == 4
    assert (client.max_retries, patient.max_retries, patient.timeout) == (0, 3, 5)


# -- what a connection error says: never sent vs sent with the outcome unknown ----------------


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("fail", ["drop", "read"])
async def test_write_lost_after_sending_says_it_may_have_been_applied(
    fail: str, flavour: str
) -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", Answer(fail=fail))
    with pytest.raises(APIConnectionError) as info:
        if flavour == "sync":
            sync_client(server, max_retries=2).create_dataset("kb")
        else:
            await async_client(server, max_retries=2).create_dataset("kb")
    error = info.value
    assert isinstance(error, APITimeoutError) == (fail == "read")
    assert error.request_sent is True and error.attempts == 1
    assert "Could not reach" not in error.message
    assert "may have applied" in error.message and "list before creating again" in error.message
    assert len(server.calls("POST")) == 1


@pytest.mark.parametrize("fail", ["connect", "connect_timeout"])
def test_never_opened_connection_says_could_not_reach(fail: str) -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", Answer(fail=fail))
    client = sync_client(server, max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.create_dataset("kb")
    error = info.value
    assert error.request_sent is False
    assert "base_url" in error.message and "may have" not in error.message
    expected = "Timed out connecting" if fail == "connect_timeout" else "Could not reach"
    assert error.message.startswith(expected)


def test_tls_failure_says_nothing_was_sent_and_names_verify() -> None:
    cause = SendFailure("ssl")
    cause.__cause__ = OSError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    error = connection_error(POST, cause, 1, "https://kb.example/api/v1", timeout=False)
    assert isinstance(error, APIConnectionError) and error.request_sent is False
    assert "request was not sent" in error.message and "verify=" in error.message
    assert "CERTIFICATE_VERIFY_FAILED" in error.message


def test_a_read_that_is_never_retried_is_still_safe_to_repeat() -> None:
    health = RequestSpec("GET", "/system/healthz", idempotent=False, raw=True, auth=False)
    lost = SendFailure("lost")
    lost.__cause__ = ConnectionResetError("connection reset by peer")
    error = connection_error(health, lost, 1, "http://kb:9380/api/v1", timeout=False)
    assert error.request_sent is True and "Repeating this request is safe" in error.message
    assert "may have applied" not in error.message
