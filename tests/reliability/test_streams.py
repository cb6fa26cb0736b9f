"""Streams cut by the server (after N events, or right after the headers): a typed StreamError
carrying the text received so far, never a hang; sync and async, chat, session, OpenAI and agent."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from _reliability import (
    API_KEY,
    WireLog,
    call_with_deadline,
    describe_error,
    pending_fault_uses,
    seed_dataset,
    unique,
)
from agent_canvas import canvas

from ragflow_integrations import AsyncRAGFlow, RAGFlow, RAGFlowError, StreamError
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

QUESTION = "How hot is the surface of the Sun?"
DEADLINE = 15.0


@dataclass
class Assistants:
    chat_id: str
    agent_id: str


@pytest.fixture(scope="module")
def assistants(server: LocalRAGFlowServer) -> Iterator[Assistants]:
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        dataset = seed_dataset(client, unique("streams"))
        chat = client.create_chat(name=unique("stream-chat"), dataset_ids=[dataset.id])
        response = requests.post(
            f"{server.base_url}/api/v1/agents",
            json={"title": unique("stream-agent"), "dsl": canvas(dataset.id)},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        response.raise_for_status()
        agent = next(a for a in client.list_agents() if (a.title or "").startswith("stream-agent"))
        yield Assistants(chat.id, agent.id)


@dataclass(frozen=True)
class StreamKind:
    """How to open one kind of stream, which route it uses, and the answer text of an item."""

    name: str
    route: Callable[[Assistants], str]
    open_sync: Callable[[RAGFlow, Assistants], Iterator[Any]]
    open_async: Callable[[AsyncRAGFlow, Assistants], Any]
    cumulative: bool  # True: each item carries the whole answer so far; False: only a delta
    preamble: int = 0  # events before the first text (an agent's workflow and node events)


def _openai_delta(chunk: Any) -> str:
    choices = chunk.get("choices") or [{}]
    return str((choices[0].get("delta") or {}).get("content") or "")


def _text(kind: StreamKind, item: Any) -> str:
    if kind.name == "openai":
        return _openai_delta(item)
    return str(item.content)


async def _async_session_ask(c: AsyncRAGFlow, a: Assistants) -> Any:
    chat = await c.get_chat(a.chat_id)
    session = await chat.create_session(name=unique("s"))
    return await session.ask(QUESTION, stream=True)


async def _async_agent_ask(c: AsyncRAGFlow, a: Assistants) -> Any:
    agent = await c.get_agent(a.agent_id)
    return await agent.ask(QUESTION, stream=True)


KINDS = [
    StreamKind(
        "session.ask",
        lambda a: "/chat/completions",
        lambda c, a: c.get_chat(a.chat_id).create_session(name=unique("s")).ask(QUESTION, True),
        _async_session_ask,
        True,
    ),
    StreamKind(
        "chat_completion",
        lambda a: "/chat/completions",
        lambda c, a: c.chat_completion(
            a.chat_id, [{"role": "user", "content": QUESTION}], stream=True
        ),
        lambda c, a: c.chat_completion(
            a.chat_id, [{"role": "user", "content": QUESTION}], stream=True
        ),
        True,
    ),
    StreamKind(
        "openai",
        lambda a: f"/openai/{a.chat_id}/chat/completions",
        lambda c, a: c.openai_chat_completion(
            a.chat_id, [{"role": "user", "content": QUESTION}], stream=True
        ),
        lambda c, a: c.openai_chat_completion(
            a.chat_id, [{"role": "user", "content": QUESTION}], stream=True
        ),
        False,
    ),
    StreamKind(
        "agent.ask",
        lambda a: "/agents/chat/completions",
        lambda c, a: c.get_agent(a.agent_id).ask(QUESTION, stream=True),
        _async_agent_ask,
        True,
        preamble=8,  # workflow_started, Begin/Retrieval/LLM started+finished, Message started
    ),
]


@dataclass
class Outcome:
    texts: list[str]  # answer so far after each item
    error: BaseException | None


def _accumulate(kind: StreamKind, items: list[Any]) -> list[str]:
    texts: list[str] = []
    so_far = ""
    for item in items:
        piece = _text(kind, item)
        so_far = piece if kind.cumulative else so_far + piece
        texts.append(so_far)
    return texts


def consume_sync(kind: StreamKind, client: RAGFlow, a: Assistants) -> Outcome:
    items: list[Any] = []

    def run() -> BaseException | None:
        try:
            for item in kind.open_sync(client, a):
                items.append(item)
        except Exception as exc:
            return exc
        return None

    error = call_with_deadline(run, DEADLINE)
    return Outcome(_accumulate(kind, items), error)


async def consume_async(kind: StreamKind, client: AsyncRAGFlow, a: Assistants) -> Outcome:
    items: list[Any] = []

    async def run() -> BaseException | None:
        try:
            stream = kind.open_async(client, a)
            if asyncio.iscoroutine(stream):
                stream = await stream
            iterator: AsyncIterator[Any] = stream
            async for item in iterator:
                items.append(item)
        except Exception as exc:
            return exc
        return None

    try:
        error = await asyncio.wait_for(run(), DEADLINE)
    except TimeoutError:
        raise AssertionError(f"async stream hung for more than {DEADLINE} s") from None
    return Outcome(_accumulate(kind, items), error)


@pytest.fixture(scope="module")
def full_answers(server: LocalRAGFlowServer, assistants: Assistants) -> dict[str, str]:
    """The complete answer of each stream kind without faults (the reference for prefixes)."""
    answers: dict[str, str] = {}
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        for kind in KINDS:
            outcome = consume_sync(kind, client, assistants)
            assert outcome.error is None, outcome.error
            assert outcome.texts and outcome.texts[-1], f"{kind.name} gave no answer"
            answers[kind.name] = outcome.texts[-1]
    return answers


def _check(kind: StreamKind, outcome: Outcome, full: str, cut_after: int) -> str:
    error = outcome.error
    assert isinstance(error, StreamError), f"{kind.name}: expected StreamError, got {error!r}"
    received = outcome.texts[-1] if outcome.texts else ""
    assert error.partial_text == received, (error.partial_text, received)
    assert full.startswith(error.partial_text)
    assert len(error.partial_text) < len(full)
    if cut_after >= 5:
        assert error.partial_text, "text had arrived before the cut"
    assert "partial_text" in str(error) or "cut" in str(error).lower()
    return f"partial_text = first {len(error.partial_text)} of {len(full)} chars, a prefix"


@pytest.mark.parametrize("cut_after", [0, 5])
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_stream_cut_raises_stream_error_with_partial_text(
    server: LocalRAGFlowServer,
    assistants: Assistants,
    full_answers: dict[str, str],
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    ledger: Callable[..., None],
    wire: WireLog,
    flavour: str,
    kind: StreamKind,
    cut_after: int,
) -> None:
    cut = cut_after + kind.preamble if cut_after else 0
    server.inject_fault(kind.route(assistants), "POST", cut_stream_after=cut, times=1)
    started = time.monotonic()
    if flavour == "sync":
        outcome = consume_sync(kind, make_client(max_retries=3), assistants)
    else:
        outcome = await consume_async(kind, make_async_client(max_retries=3), assistants)
    elapsed = time.monotonic() - started
    check = _check(kind, outcome, full_answers[kind.name], cut_after)
    assert outcome.error is not None
    sent = wire.to(kind.route(assistants), "POST")
    assert len(sent) == 1, "the question was sent again"
    ledger(
        area="streams",
        fault=f"connection closed after {cut} SSE events, {flavour} {kind.name}",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(sent),
        caller_saw=f"{len(outcome.texts)} items, then {describe_error(outcome.error)}",
        data_check=check,
        seconds=elapsed,
    )


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_stream_request_dropped_before_answer_is_typed_and_not_retried(
    server: LocalRAGFlowServer,
    assistants: Assistants,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    ledger: Callable[..., None],
    wire: WireLog,
    flavour: str,
) -> None:
    kind = KINDS[1]
    server.inject_fault(kind.route(assistants), "POST", drop_connection=True, times=1)
    started = time.monotonic()
    if flavour == "sync":
        outcome = consume_sync(kind, make_client(max_retries=3), assistants)
    else:
        outcome = await consume_async(kind, make_async_client(max_retries=3), assistants)
    elapsed = time.monotonic() - started
    assert isinstance(outcome.error, RAGFlowError), repr(outcome.error)
    assert outcome.texts == []
    sent = wire.to(kind.route(assistants), "POST")
    assert len(sent) == 1, "a chat completion (not idempotent) was sent again"
    ledger(
        area="streams",
        fault=f"connection dropped before the stream began, {flavour} chat_completion",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(sent),
        caller_saw=describe_error(outcome.error),
        data_check="no answer items; question not re-sent",
        seconds=elapsed,
    )


@pytest.fixture(scope="module")
def old_chat(server_022: LocalRAGFlowServer) -> Iterator[tuple[str, str]]:
    """A chat on the 0.22 server (cumulative stream, old route) and its full answer."""
    with RAGFlow(api_key=API_KEY, base_url=server_022.base_url, server_version="0.22") as client:
        dataset = seed_dataset(client, unique("old-streams"))
        chat = client.create_chat(name=unique("old-chat"), dataset_ids=[dataset.id])
        outcome = consume_sync(KINDS[0], client, Assistants(chat.id, ""))
        assert outcome.error is None and outcome.texts[-1]
        yield chat.id, outcome.texts[-1]


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_old_server_cumulative_stream_cut(
    server_022: LocalRAGFlowServer,
    old_chat: tuple[str, str],
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    ledger: Callable[..., None],
    wire: WireLog,
    flavour: str,
) -> None:
    chat_id, full = old_chat
    kind = KINDS[0]
    server_022.inject_fault(f"/chats/{chat_id}/completions", "POST", cut_stream_after=5, times=1)
    started = time.monotonic()
    if flavour == "sync":
        outcome = consume_sync(kind, make_client(server_022), Assistants(chat_id, ""))
    else:
        outcome = await consume_async(kind, make_async_client(server_022), Assistants(chat_id, ""))
    elapsed = time.monotonic() - started
    check = _check(kind, outcome, full, 5)
    assert outcome.error is not None
    ledger(
        area="streams",
        fault=f"connection closed after 5 SSE events, {flavour} session.ask on a 0.22 server "
        "(cumulative stream)",
        injected=1 - pending_fault_uses(server_022.base_url, server_022.api_key),
        requests_sent=len(wire.to(f"/chats/{chat_id}/completions", "POST")),
        caller_saw=f"{len(outcome.texts)} items, then {describe_error(outcome.error)}",
        data_check=check,
        seconds=elapsed,
    )


@pytest.mark.parametrize("cleanup_fails", [False, True], ids=["cleanup-ok", "cleanup-fails"])
def test_old_server_stateless_stream_cut_cleans_up_and_keeps_the_stream_error(
    server_022: LocalRAGFlowServer,
    old_chat: tuple[str, str],
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    cleanup_fails: bool,
) -> None:
    """On 0.22 a stateless completion runs in a temporary session deleted afterwards. A cut
    stream must still surface as the StreamError (not as an error of the clean-up), and the
    temporary session must not be left behind when the clean-up can run."""
    chat_id, full = old_chat
    admin = make_client(server_022, record=False)
    sessions_before = {s.id for s in admin.get_chat(chat_id).list_sessions()}
    server_022.inject_fault(f"/chats/{chat_id}/completions", "POST", cut_stream_after=5, times=1)
    if cleanup_fails:
        server_022.inject_fault(f"/chats/{chat_id}/sessions", "DELETE", status=500)
    kind = KINDS[1]  # chat_completion without session_id
    started = time.monotonic()
    outcome = consume_sync(kind, make_client(server_022, max_retries=1), Assistants(chat_id, ""))
    elapsed = time.monotonic() - started
    server_022.clear_faults()
    assert isinstance(outcome.error, StreamError), repr(outcome.error)
    assert full.startswith(outcome.error.partial_text)
    left = {s.id for s in admin.get_chat(chat_id).list_sessions()} - sessions_before
    deletes = wire.to(f"/chats/{chat_id}/sessions", "DELETE")
    assert deletes, "the temporary session's clean-up was attempted"
    if not cleanup_fails:
        assert left == set(), f"temporary session(s) left behind: {left}"
    ledger(
        area="streams",
        fault="0.22 stateless chat_completion stream cut after 5 events"
        + (", and the temporary session's DELETE answers 500" if cleanup_fails else ""),
        injected=1 + (len(deletes) if cleanup_fails else 0),
        requests_sent=len(wire.to(f"/chats/{chat_id}/completions", "POST")) + len(deletes),
        caller_saw=describe_error(outcome.error),
        data_check=f"{len(left)} temporary session(s) left on the server",
        seconds=elapsed,
    )


async def test_abandoned_async_streams_do_not_exhaust_the_pool(
    server: LocalRAGFlowServer,
    assistants: Assistants,
    make_async_client: Callable[..., AsyncRAGFlow],
    ledger: Callable[..., None],
) -> None:
    """``async for ...: break`` without ``aclose()``: connections must come back to the pool."""
    client = make_async_client(record=False, timeout=5)
    abandoned = 120  # more than httpx's 100-connection pool
    started = time.monotonic()
    for _ in range(abandoned):
        stream = await client.chat_completion(
            assistants.chat_id, [{"role": "user", "content": QUESTION}], stream=True
        )
        async for _event in stream:
            break
        del stream
    chunks = await asyncio.wait_for(client.list_datasets(page_size=1), 10)
    elapsed = time.monotonic() - started
    assert isinstance(chunks, list)
    ledger(
        area="streams",
        fault=f"{abandoned} async streams abandoned after one event (no aclose)",
        injected=abandoned,
        requests_sent=None,
        caller_saw="the next call succeeds (pool not exhausted)",
        data_check="-",
        seconds=elapsed,
    )


async def _stateless_answer(client: Any, chat_id: str, stream: bool) -> str:
    """The answer of a stateless chat_completion, sync or async, streamed or not."""
    messages = [{"role": "user", "content": QUESTION}]
    if isinstance(client, RAGFlow):
        if stream:
            events = client.chat_completion(chat_id, messages, stream=True)
            return str([e.content for e in events][-1])
        return str(client.chat_completion(chat_id, messages).content)
    if stream:
        events = await client.chat_completion(chat_id, messages, stream=True)
        return str([e.content async for e in events][-1])
    return str((await client.chat_completion(chat_id, messages)).content)


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_old_server_failed_cleanup_does_not_hide_a_good_answer(
    server_022: LocalRAGFlowServer,
    old_chat: tuple[str, str],
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    flavour: str,
    stream: bool,
) -> None:
    """The answer arrived in full; only deleting the temporary session failed. The caller
    gets the answer (the clean-up is best effort), not a ServerError about a DELETE."""
    chat_id, full = old_chat
    maker = make_client if flavour == "sync" else make_async_client
    client = maker(server_022, max_retries=0)
    server_022.inject_fault(f"/chats/{chat_id}/sessions", "DELETE", status=500)
    started = time.monotonic()
    try:
        answer = await _stateless_answer(client, chat_id, stream)
        outcome = f"answer of {len(answer)} chars"
    except RAGFlowError as exc:
        answer, outcome = "", describe_error(exc)
    elapsed = time.monotonic() - started
    server_022.clear_faults()
    deletes = wire.to(f"/chats/{chat_id}/sessions", "DELETE")
    ledger(
        area="streams",
        fault=f"0.22 stateless {flavour} chat_completion ({'stream' if stream else 'message'}), "
        "the temporary session's DELETE answers 500",
        injected=len(deletes),
        requests_sent=len(wire.to(f"/chats/{chat_id}/completions", "POST")) + len(deletes),
        caller_saw=outcome,
        data_check="answer delivered" if answer else "answer lost",
        seconds=elapsed,
    )
    assert deletes, "the clean-up was attempted"
    # v0.22's whole answer carries citation markers that its stream's deltas cannot insert
    # (the rewritten text is the stream's final_content): compare without them
    assert re.sub(r" \[ID:\d+\]", "", answer) == full, (
        f"the answer was replaced by the clean-up failure: {outcome}"
    )


async def test_old_server_async_stream_cut_keeps_the_stream_error(
    server_022: LocalRAGFlowServer,
    old_chat: tuple[str, str],
    make_async_client: Callable[..., AsyncRAGFlow],
) -> None:
    chat_id, full = old_chat
    server_022.inject_fault(f"/chats/{chat_id}/completions", "POST", cut_stream_after=5, times=1)
    server_022.inject_fault(f"/chats/{chat_id}/sessions", "DELETE", status=500)
    outcome = await consume_async(
        KINDS[1], make_async_client(server_022, max_retries=1), Assistants(chat_id, "")
    )
    server_022.clear_faults()
    assert isinstance(outcome.error, StreamError), repr(outcome.error)
    assert full.startswith(outcome.error.partial_text) and outcome.error.partial_text


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_old_server_agent_stream_cut(
    server_022: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    flavour: str,
) -> None:
    """Agent streams on a 0.22 server (old route ``/agents/{id}/completions``)."""
    admin = make_client(server_022, record=False)
    dataset = seed_dataset(admin, unique("old-agent"))
    title = unique("old-agent")
    requests.post(
        f"{server_022.base_url}/api/v1/agents",
        json={"title": title, "dsl": canvas(dataset.id)},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    ).raise_for_status()
    agent_id = next(a.id for a in admin.iter_agents() if a.title == title)
    kind = KINDS[3]
    full = consume_sync(kind, admin, Assistants("", agent_id)).texts[-1]
    route = f"/agents/{agent_id}/completions"
    server_022.inject_fault(route, "POST", cut_stream_after=5, times=1)
    started = time.monotonic()
    if flavour == "sync":
        outcome = consume_sync(kind, make_client(server_022), Assistants("", agent_id))
    else:
        outcome = await consume_async(kind, make_async_client(server_022), Assistants("", agent_id))
    elapsed = time.monotonic() - started
    check = _check(kind, outcome, full, 5)
    assert outcome.error is not None
    ledger(
        area="streams",
        fault=f"connection closed after 5 SSE events, {flavour} agent.ask on a 0.22 server",
        injected=1 - pending_fault_uses(server_022.base_url, server_022.api_key),
        requests_sent=len(wire.to(route, "POST")),
        caller_saw=f"{len(outcome.texts)} items, then {describe_error(outcome.error)}",
        data_check=check,
        seconds=elapsed,
    )
