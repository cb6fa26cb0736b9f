"""Retries on idempotent calls: 502/503/429 with and without Retry-After, then success or a typed
error carrying the status and the attempt count."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import pytest
from _reliability import (
    API_KEY,
    FAST_BACKOFF_CAP,
    WireLog,
    describe_error,
    pending_fault_uses,
    seed_dataset,
    unique,
)

from ragflow_integrations import (
    AsyncRAGFlow,
    RAGFlow,
    RAGFlowError,
    RateLimitError,
    ServerError,
)
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

RETRY_AFTER = 0.12
SLACK = 0.5  # scheduling slack allowed on top of a wait


@dataclass
class Target:
    dataset: Any
    chunk_ids: list[str]


@pytest.fixture(scope="module")
def target(server: LocalRAGFlowServer) -> Iterator[Target]:
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        dataset = seed_dataset(client, unique("retries"))
        chunks = client.retrieve("Sun star", dataset_ids=[dataset.id])
        yield Target(dataset, sorted(c.id for c in chunks))


@dataclass(frozen=True)
class IdempotentCall:
    """An idempotent call, the route it uses, and a check of its result."""

    name: str
    method: str
    route: Callable[[Target], str]
    run: Callable[[RAGFlow, Target], Any]
    check: Callable[[Any, Target], str]


def _check_list(result: Any, target: Target) -> str:
    assert [d.id for d in result] == [target.dataset.id]
    return "dataset listed"


def _check_get(result: Any, target: Target) -> str:
    assert result.id == target.dataset.id
    return "dataset returned"


def _check_retrieve(result: Any, target: Target) -> str:
    assert sorted(c.id for c in result) == target.chunk_ids
    return f"same {len(target.chunk_ids)} chunks as without faults"


CALLS = [
    IdempotentCall(
        "list_datasets",
        "GET",
        lambda t: "/datasets",
        lambda c, t: c.list_datasets(name=t.dataset.name),
        _check_list,
    ),
    IdempotentCall(
        "get_dataset",
        "GET",
        lambda t: f"/datasets/{t.dataset.id}",
        lambda c, t: c.get_dataset(t.dataset.id),
        _check_get,
    ),
    IdempotentCall(
        "retrieve",
        "POST",
        lambda t: "/retrieval",
        lambda c, t: c.retrieve("Sun star", dataset_ids=[t.dataset.id]),
        _check_retrieve,
    ),
    IdempotentCall(
        "DataSet.update",
        "PUT",
        lambda t: f"/datasets/{t.dataset.id}",
        lambda c, t: c.get_dataset(t.dataset.id).update(
            {"description": f"updated {time.monotonic_ns()}"}
        ),
        lambda r, t: "description updated",
    ),
]


def _fired(wire: WireLog, route: str, method: str, status: int) -> int:
    return sum(1 for r in wire.to(route, method) if r.status == status)


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
@pytest.mark.parametrize("retry_after", [None, RETRY_AFTER], ids=["backoff", "retry-after"])
@pytest.mark.parametrize("status", [503, 502, 429])
def test_transient_failure_is_retried_then_succeeds(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    call: IdempotentCall,
    status: int,
    retry_after: float | None,
) -> None:
    client = make_client(max_retries=3)
    route = call.route(target)
    server.inject_fault(route, call.method, status=status, retry_after=retry_after, times=2)
    started = time.monotonic()
    result = call.run(client, target)
    elapsed = time.monotonic() - started

    check = call.check(result, target)
    sent = wire.to(route, call.method)
    assert [r.status for r in sent] == [status, status, 200]
    gaps = wire.gaps(route, call.method)
    assert len(gaps) == 2
    if retry_after is None:
        assert all(gap < FAST_BACKOFF_CAP + SLACK for gap in gaps), gaps
    else:
        assert all(retry_after - 0.02 <= gap < retry_after + SLACK for gap in gaps), gaps
    if call.name == "DataSet.update":
        check = f"description on server: {client.get_dataset(target.dataset.id).description!r}"
        assert client.get_dataset(target.dataset.id).description == result.description
    ledger(
        area="retries",
        fault=f"HTTP {status}"
        + (f" + Retry-After: {retry_after}" if retry_after else "")
        + f" x2 on {call.method} {call.name}",
        injected=_fired(wire, route, call.method, status),
        requests_sent=len(sent),
        caller_saw=f"success after {len(sent)} attempts (waits "
        + ", ".join(f"{g:.2f}" for g in gaps)
        + " s)",
        data_check=check,
        seconds=elapsed,
    )


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("status", "error_type"), [(503, ServerError), (502, ServerError), (429, RateLimitError)]
)
def test_retries_exhausted_raise_typed_error_with_status_and_attempts(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    call: IdempotentCall,
    status: int,
    error_type: type[RAGFlowError],
) -> None:
    client = make_client(max_retries=2)
    route = call.route(target)
    server.inject_fault(route, call.method, status=status, retry_after=0.01)
    started = time.monotonic()
    with pytest.raises(error_type) as caught:
        call.run(client, target)
    elapsed = time.monotonic() - started
    error = caught.value
    assert error.status_code == status
    assert error.attempts == 3
    assert "after 3 attempts" in str(error)
    assert f"HTTP {status}" in str(error)
    sent = wire.to(route, call.method)
    assert [r.status for r in sent] == [status] * 3
    server.clear_faults()
    call.check(call.run(client, target), target)
    ledger(
        area="retries",
        fault=f"HTTP {status} on every {call.method} {call.name} (max_retries=2)",
        injected=_fired(wire, route, call.method, status),
        requests_sent=len(sent),
        caller_saw=describe_error(error),
        data_check="call succeeds once the fault is gone",
        seconds=elapsed,
    )


@pytest.mark.parametrize(
    "header",
    [lambda: "1", lambda: formatdate(time.time() + 2, usegmt=True)],
    ids=["delta-seconds", "http-date"],
)
def test_standard_retry_after_forms_are_honoured(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    header: Callable[[], str],
) -> None:
    client = make_client(max_retries=1)
    value = header()
    server.inject_fault("/datasets", "GET", status=503, retry_after=value, times=1)
    started = time.monotonic()
    _check_list(client.list_datasets(name=target.dataset.name), target)
    elapsed = time.monotonic() - started
    (gap,) = wire.gaps("/datasets", "GET")
    # an HTTP date has whole-second resolution: the wait is between 1 and 2 s
    assert 0.95 <= gap < 2.0 + SLACK, gap
    ledger(
        area="retries",
        fault=f"HTTP 503 + Retry-After: {value!r} x1 on GET list_datasets",
        injected=_fired(wire, "/datasets", "GET", 503),
        requests_sent=len(wire.to("/datasets", "GET")),
        caller_saw=f"success; waited {gap:.2f} s",
        data_check="dataset listed",
        seconds=elapsed,
    )


@pytest.mark.real_backoff
def test_default_backoff_is_bounded_exponential(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    client = make_client(max_retries=2)
    server.inject_fault("/datasets", "GET", status=503, times=2)
    started = time.monotonic()
    _check_list(client.list_datasets(name=target.dataset.name), target)
    elapsed = time.monotonic() - started
    first, second = wire.gaps("/datasets", "GET")
    # full jitter: uniform(0, 0.5) then uniform(0, 1.0)
    assert first <= 0.5 + SLACK and second <= 1.0 + SLACK, (first, second)
    ledger(
        area="retries",
        fault="HTTP 503 x2 on GET list_datasets, library default backoff",
        injected=_fired(wire, "/datasets", "GET", 503),
        requests_sent=len(wire.to("/datasets", "GET")),
        caller_saw=f"success; waits {first:.2f} s, {second:.2f} s",
        data_check="dataset listed",
        seconds=elapsed,
    )


def test_dropped_connection_on_idempotent_call_is_retried(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    client = make_client(max_retries=2)
    server.inject_fault("/retrieval", "POST", drop_connection=True, times=1)
    started = time.monotonic()
    _check_retrieve(client.retrieve("Sun star", dataset_ids=[target.dataset.id]), target)
    elapsed = time.monotonic() - started
    sent = wire.to("/retrieval", "POST")
    assert len(sent) == 2 and sent[0].error is not None and sent[1].status == 200
    ledger(
        area="retries",
        fault="connection dropped before any answer x1 on POST retrieve",
        injected=sum(1 for r in sent if r.error),
        requests_sent=len(sent),
        caller_saw="success after 2 attempts",
        data_check=f"same {len(target.chunk_ids)} chunks as without faults",
        seconds=elapsed,
    )


@pytest.mark.parametrize("status", [503, 429])
async def test_async_client_retries_the_same_way(
    server: LocalRAGFlowServer,
    target: Target,
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    status: int,
) -> None:
    client = make_async_client(max_retries=3)
    server.inject_fault("/retrieval", "POST", status=status, retry_after=RETRY_AFTER, times=2)
    started = time.monotonic()
    chunks = await client.retrieve("Sun star", dataset_ids=[target.dataset.id])
    elapsed = time.monotonic() - started
    _check_retrieve(chunks, target)
    sent = wire.to("/retrieval", "POST")
    assert [r.status for r in sent] == [status, status, 200]
    assert all(RETRY_AFTER - 0.02 <= g < RETRY_AFTER + SLACK for g in wire.gaps("/retrieval"))
    server.inject_fault("/retrieval", "POST", status=status)
    with pytest.raises(RateLimitError if status == 429 else ServerError) as caught:
        await client.with_options(max_retries=1).retrieve("Sun", dataset_ids=[target.dataset.id])
    assert caught.value.attempts == 2 and caught.value.status_code == status
    ledger(
        area="retries",
        fault=f"HTTP {status} + Retry-After: {RETRY_AFTER} x2 on async retrieve, then always",
        injected=_fired(wire, "/retrieval", "POST", status),
        requests_sent=len(wire.to("/retrieval", "POST")),
        caller_saw=f"success after 3 attempts; then {describe_error(caught.value)}",
        data_check=f"same {len(target.chunk_ids)} chunks as without faults",
        seconds=elapsed,
    )


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_body_cut_on_idempotent_call_is_retried(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    flavour: str,
) -> None:
    server.inject_fault("/datasets", "GET", cut_stream_after=0, times=1)
    started = time.monotonic()
    result: list[Any]
    if flavour == "sync":
        result = make_client(max_retries=2).list_datasets(name=target.dataset.name)
    else:
        result = await make_async_client(max_retries=2).list_datasets(name=target.dataset.name)
    elapsed = time.monotonic() - started
    _check_list(result, target)
    sent = wire.to("/datasets", "GET")
    assert len(sent) == 2
    ledger(
        area="retries",
        fault=f"body cut after the headers (connection closed) x1 on {flavour} GET list_datasets",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(sent),
        caller_saw="success after 2 attempts",
        data_check="dataset listed",
        seconds=elapsed,
    )


@pytest.mark.parametrize("status", [408, 500, 501, 504])
def test_other_transient_statuses_are_retried(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    status: int,
) -> None:
    client = make_client(max_retries=2)
    server.inject_fault("/datasets", "GET", status=status, times=1)
    started = time.monotonic()
    _check_list(client.list_datasets(name=target.dataset.name), target)
    elapsed = time.monotonic() - started
    sent = wire.to("/datasets", "GET")
    assert [r.status for r in sent] == [status, 200]
    ledger(
        area="retries",
        fault=f"HTTP {status} x1 on GET list_datasets",
        injected=_fired(wire, "/datasets", "GET", status),
        requests_sent=len(sent),
        caller_saw="success after 2 attempts",
        data_check="dataset listed",
        seconds=elapsed,
    )


@pytest.mark.parametrize(
    ("status", "error_name"),
    [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (409, "ConflictError"),
    ],
)
def test_permanent_statuses_are_not_retried(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    status: int,
    error_name: str,
) -> None:
    client = make_client(max_retries=3)
    server.inject_fault("/datasets", "GET", status=status, retry_after=0.01, times=1)
    started = time.monotonic()
    with pytest.raises(RAGFlowError) as caught:
        client.list_datasets()
    elapsed = time.monotonic() - started
    error = caught.value
    assert type(error).__name__ == error_name, repr(error)
    assert error.status_code == status and error.attempts == 1
    sent = wire.to("/datasets", "GET")
    assert len(sent) == 1
    ledger(
        area="retries",
        fault=f"HTTP {status} (+ Retry-After) x1 on GET list_datasets, max_retries=3",
        injected=_fired(wire, "/datasets", "GET", status),
        requests_sent=len(sent),
        caller_saw=describe_error(error),
        data_check="not retried",
        seconds=elapsed,
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3600", "capped"),
        ("-5", "zero"),
        ("soon", "backoff"),
        ("", "backoff"),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "zero"),
        ("1e9", "capped"),
        ("nan", "backoff"),
    ],
)
def test_odd_retry_after_values_give_bounded_waits(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    header: str,
    expected: str,
) -> None:
    """Retry-After values a server or proxy may send: the wait asked for is bounded (the cap),
    never negative, and falls back to the backoff when unreadable. The sleeps are recorded
    through the transport's sleep hook instead of being slept."""
    from ragflow_integrations._core.retry import MAX_RETRY_AFTER

    client = make_client(max_retries=1)
    sleeps: list[float] = []
    client._transport._sleep = sleeps.append  # the transport's injectable sleep
    server.inject_fault("/datasets", "GET", status=503, retry_after=header, times=1)
    started = time.monotonic()
    _check_list(client.list_datasets(name=target.dataset.name), target)
    elapsed = time.monotonic() - started
    (wait,) = sleeps
    if expected == "capped":
        assert wait == MAX_RETRY_AFTER
    elif expected == "zero":
        assert wait == 0.0
    else:
        assert 0.0 <= wait <= FAST_BACKOFF_CAP
    ledger(
        area="retries",
        fault=f"HTTP 503 + Retry-After: {header!r} x1 on GET list_datasets (sleep recorded)",
        injected=_fired(wire, "/datasets", "GET", 503),
        requests_sent=len(wire.to("/datasets", "GET")),
        caller_saw=f"success; the client asked to wait {wait:.2f} s",
        data_check=f"wait {expected} (cap {MAX_RETRY_AFTER:g} s)",
        seconds=elapsed,
    )
