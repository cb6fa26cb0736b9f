"""Non-idempotent writes (create dataset, create chat, upload) that fail after the server got them:
never retried blindly, and a count afterwards shows no duplicate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from _reliability import API_KEY, WireLog, describe_error, pending_fault_uses, unique

from ragflow_integrations import (
    APIConnectionError,
    APITimeoutError,
    AsyncRAGFlow,
    RAGFlow,
    RAGFlowError,
    ServerError,
)
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def admin(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    """An unrecorded client used only to count what exists on the server."""
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        yield client


@pytest.fixture(scope="module")
def home(admin: RAGFlow) -> Any:
    """A dataset that receives the uploads."""
    return admin.create_dataset(name=unique("writes-home"))


@dataclass(frozen=True)
class Write:
    """A non-idempotent call, its route, and how to count what it created by name."""

    name: str
    route: Callable[[Any], str]
    run: Callable[[RAGFlow, Any, str], Any]
    count: Callable[[RAGFlow, Any, str], int]


WRITES = [
    Write(
        "create_dataset",
        lambda home: "/datasets",
        lambda c, home, name: c.create_dataset(name=name),
        lambda a, home, name: sum(1 for d in a.iter_datasets() if d.name == name),
    ),
    Write(
        "create_chat",
        lambda home: "/chats",
        lambda c, home, name: c.create_chat(name=name),
        lambda a, home, name: sum(1 for c in a.iter_chats() if c.name == name),
    ),
    Write(
        "upload_documents",
        lambda home: f"/datasets/{home.id}/documents",
        lambda c, home, name: c.get_dataset(home.id).upload_documents(
            [{"display_name": name, "blob": b"a small text file that is uploaded once"}]
        ),
        lambda a, home, name: sum(
            1 for d in a.get_dataset(home.id).list_documents() if d.name == name
        ),
    ),
]

# (label, fault kwargs, did the handler run?, expected error type)
FAULTS: list[tuple[str, dict[str, Any], bool, type[RAGFlowError]]] = [
    ("connection dropped after the handler ran", {"cut_stream_after": 0}, True, APIConnectionError),
    ("HTTP 503 before the handler", {"status": 503}, False, ServerError),
    ("HTTP 500 before the handler", {"status": 500}, False, ServerError),
    ("connection dropped before the handler", {"drop_connection": True}, False, APIConnectionError),
]


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
@pytest.mark.parametrize(
    ("label", "fault", "handler_ran", "error_type"),
    FAULTS,
    ids=[
        "dropped-after-handler",
        "503-before-handler",
        "500-before-handler",
        "dropped-before-handler",
    ],
)
def test_failed_write_is_not_retried_and_not_duplicated(
    server: LocalRAGFlowServer,
    admin: RAGFlow,
    home: Any,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    write: Write,
    label: str,
    fault: dict[str, Any],
    handler_ran: bool,
    error_type: type[RAGFlowError],
) -> None:
    client = make_client(max_retries=3)
    name = unique(write.name) + ".txt"
    route = write.route(home)
    client.get_dataset(home.id)  # warm the pool: the fault must hit a reused connection too
    server.inject_fault(route, "POST", times=1, **fault)
    started = time.monotonic()
    with pytest.raises(RAGFlowError) as caught:
        write.run(client, home, name)
    elapsed = time.monotonic() - started
    error = caught.value
    assert isinstance(error, error_type), repr(error)
    sent = wire.to(route, "POST")
    assert len(sent) == 1, f"a non-idempotent POST was sent {len(sent)} times"
    assert error.attempts == 1
    fired = 1 - pending_fault_uses(server.base_url, server.api_key)
    assert fired == 1
    count = write.count(admin, home, name)
    assert count == (1 if handler_ran else 0)
    ledger(
        area="non-idempotent writes",
        fault=f"{label} on POST {write.name}",
        injected=fired,
        requests_sent=len(sent),
        caller_saw=describe_error(error),
        data_check=f"{count} object(s) named like the request exist (expected "
        f"{1 if handler_ran else 0}): no duplicate",
        seconds=elapsed,
    )


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_write_slower_than_timeout_is_not_retried(
    server: LocalRAGFlowServer,
    admin: RAGFlow,
    home: Any,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    write: Write,
) -> None:
    timeout = 0.5
    client = make_client(max_retries=3, timeout=timeout)
    name = unique(write.name) + ".txt"
    route = write.route(home)
    server.inject_fault(route, "POST", latency=timeout + 0.5, times=1)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        write.run(client, home, name)
    elapsed = time.monotonic() - started
    assert timeout * 0.9 <= elapsed < timeout + 1.0
    assert len(wire.to(route, "POST")) == 1
    fired = 1 - pending_fault_uses(server.base_url, server.api_key)
    time.sleep(0.7)  # let the server finish the late request
    count = write.count(admin, home, name)
    assert count <= 1
    ledger(
        area="non-idempotent writes",
        fault=f"latency {timeout + 0.5:g} s > read timeout {timeout:g} s on POST {write.name}",
        injected=fired,
        requests_sent=len(wire.to(route, "POST")),
        caller_saw=describe_error(caught.value),
        data_check=f"{count} object(s) afterwards (the late request "
        f"{'was' if count else 'was not'} applied): no duplicate",
        seconds=elapsed,
    )


async def test_async_create_dropped_after_handler_is_not_duplicated(
    server: LocalRAGFlowServer,
    admin: RAGFlow,
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    client = make_async_client(max_retries=3)
    name = unique("async-create")
    await client.list_datasets(page_size=1)
    server.inject_fault("/datasets", "POST", cut_stream_after=0, times=1)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as caught:
        await client.create_dataset(name=name)
    elapsed = time.monotonic() - started
    sent = len(wire.to("/datasets", "POST"))
    assert sent == 1
    fired = 1 - pending_fault_uses(server.base_url, server.api_key)
    count = sum(1 for d in admin.iter_datasets() if d.name == name)
    assert count == 1
    ledger(
        area="non-idempotent writes",
        fault="connection dropped after the handler ran on async POST create_dataset",
        injected=fired,
        requests_sent=sent,
        caller_saw=describe_error(caught.value),
        data_check=f"{count} dataset with that name: no duplicate",
        seconds=elapsed,
    )


@pytest.mark.parametrize(
    "fault",
    [{"cut_stream_after": 0}, {"latency": 1.0}],
    ids=["dropped-after-handler", "slower-than-timeout"],
)
def test_failed_ask_is_not_repeated_in_the_session_history(
    server: LocalRAGFlowServer,
    admin: RAGFlow,
    home: Any,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    fault: dict[str, Any],
) -> None:
    """A question is a write too: the session stores it. A blind retry would store it twice."""
    client = make_client(max_retries=3, timeout=0.5)
    chat = client.create_chat(name=unique("ask-once"), dataset_ids=[])
    session = chat.create_session(name=unique("s"))
    question = unique("How many moons does Mars have")
    server.inject_fault("/chat/completions", "POST", times=1, **fault)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as caught:
        session.ask(question)
    elapsed = time.monotonic() - started
    sent = wire.to("/chat/completions", "POST")
    assert len(sent) == 1, f"the question was sent {len(sent)} times"
    time.sleep(1.0 if "latency" in fault else 0.0)  # let a late request land
    stored = admin.get_chat(chat.id).list_sessions(id=session.id)[0].messages or []
    asked = sum(1 for m in stored if question in str(getattr(m, "content", m)))
    assert asked <= 1
    if "cut_stream_after" in fault:
        assert asked == 1, "the handler ran, so the question is in the history once"
    label = (
        "dropped after the handler ran"
        if "cut_stream_after" in fault
        else ("latency 1 s > read timeout 0.5 s")
    )
    ledger(
        area="non-idempotent writes",
        fault=f"{label} on POST Session.ask (non-stream)",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(sent),
        caller_saw=describe_error(caught.value),
        data_check=f"question stored {asked} time(s) in the session history: no duplicate",
        seconds=elapsed,
    )


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_error_after_a_sent_write_does_not_say_the_server_was_unreachable(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    flavour: str,
) -> None:
    """The request reached the server and may have been applied (here it was). "Could not reach
    RAGFlow ... check base_url" sends the caller the wrong way (a retry would duplicate); the
    message must say the outcome is unknown."""
    server.inject_fault("/datasets", "POST", cut_stream_after=0, times=1)
    with pytest.raises(APIConnectionError) as caught:
        if flavour == "sync":
            make_client().create_dataset(name=unique("sent-write"))
        else:
            await make_async_client().create_dataset(name=unique("sent-write"))
    text = str(caught.value)
    assert caught.value.request_sent is True
    assert "Could not reach" not in text, text
    assert any(w in text.lower() for w in ("may have", "might have", "may not have")), text
