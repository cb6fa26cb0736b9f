"""Answers that are not what RAGFlow should send: HTML error pages, malformed JSON, malformed SSE,
HTTP 200 with a non-zero code, a bad key on new (401) and old (code 109) servers, and an error
event mid-stream. Each must be a typed error whose message helps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _reliability import (
    API_KEY,
    RogueServer,
    WireLog,
    call_with_deadline,
    describe_error,
    unique,
)

from ragflow_integrations import (
    APITimeoutError,
    AsyncRAGFlow,
    AuthenticationError,
    NotFoundError,
    RAGFlow,
    RAGFlowError,
    ResponseDecodeError,
    ServerError,
    StreamError,
)
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx/1.25.3</center></body></html>"
)
HTML_200 = "<!DOCTYPE html><html><head><title>RAGFlow</title></head><body>login</body></html>"


@pytest.fixture(scope="module")
def rogue() -> Iterator[RogueServer]:
    with RogueServer() as srv:
        yield srv


def _answer_case(
    server: LocalRAGFlowServer,
    client: RAGFlow,
    wire: WireLog,
    ledger: Callable[..., None],
    *,
    label: str,
    fault: dict[str, Any],
    expected: type[RAGFlowError],
    words: list[str],
) -> RAGFlowError:
    server.inject_fault("/datasets", "GET", **fault)
    started = time.monotonic()
    with pytest.raises(RAGFlowError) as caught:
        client.list_datasets()
    elapsed = time.monotonic() - started
    error = caught.value
    assert isinstance(error, expected), repr(error)
    text = str(error)
    for word in words:
        assert word.lower() in text.lower(), f"{word!r} missing from {text!r}"
    assert error.method == "GET" and error.path == "/datasets"
    ledger(
        area="bad answers",
        fault=label,
        injected=sum(1 for r in wire.to("/datasets", "GET") if r.status == fault["status"]),
        requests_sent=len(wire.to("/datasets", "GET")),
        caller_saw=describe_error(error),
        data_check="-",
        seconds=elapsed,
    )
    return error


def test_html_error_page_from_a_proxy(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    error = _answer_case(
        server,
        make_client(max_retries=1),
        wire,
        ledger,
        label="HTTP 502 with an nginx HTML page on every GET list_datasets",
        fault={"status": 502, "body": HTML_502},
        expected=ServerError,
        words=["502", "non-JSON", "Bad Gateway"],
    )
    assert error.status_code == 502 and error.attempts == 2


def test_html_page_with_status_200_points_at_base_url(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    error = _answer_case(
        server,
        make_client(),
        wire,
        ledger,
        label="HTTP 200 with an HTML page (wrong base_url) on GET list_datasets",
        fault={"status": 200, "body": HTML_200},
        expected=ResponseDecodeError,
        words=["JSON", "base_url", "<!DOCTYPE html>"],
    )
    assert isinstance(error, ResponseDecodeError) and error.snippet.startswith("<!DOCTYPE")


def test_malformed_json(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    _answer_case(
        server,
        make_client(),
        wire,
        ledger,
        label="HTTP 200 with truncated JSON on GET list_datasets",
        fault={"status": 200, "body": '{"code": 0, "data": [{"id": "ab'},
        expected=ResponseDecodeError,
        words=["JSON", '{"code": 0'],
    )


def test_http_200_with_non_zero_code(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    body = json.dumps({"code": 102, "message": "You don't own the dataset kb_private."})
    error = _answer_case(
        server,
        make_client(),
        wire,
        ledger,
        label="HTTP 200 with code 102 on GET list_datasets",
        fault={"status": 200, "body": body},
        expected=NotFoundError,
        words=["You don't own the dataset kb_private", "check the id", "code 102"],
    )
    assert error.code == 102 and error.status_code == 200


def test_http_200_with_non_zero_code_from_the_real_handler(
    make_client: Callable[..., RAGFlow], ledger: Callable[..., None], wire: WireLog
) -> None:
    client = make_client()
    started = time.monotonic()
    with pytest.raises(NotFoundError) as caught:
        client.get_dataset("0" * 32)
    assert "0" * 32 in str(caught.value)
    ledger(
        area="bad answers",
        fault="unknown dataset id (server answers HTTP 200 / code != 0)",
        injected=0,
        requests_sent=len(wire.to("0" * 32, "GET")),
        caller_saw=describe_error(caught.value),
        data_check="-",
        seconds=time.monotonic() - started,
    )


@pytest.mark.parametrize("emulate", ["0.27", "0.22"])
def test_wrong_api_key(
    request: pytest.FixtureRequest,
    make_client: Callable[..., RAGFlow],
    ledger: Callable[..., None],
    emulate: str,
) -> None:
    target: LocalRAGFlowServer = request.getfixturevalue(
        "server" if emulate == "0.27" else "server_022"
    )
    wrong_key = "ragflow-this-key-is-wrong-0123456789"
    client = RAGFlow(api_key=wrong_key, base_url=target.base_url, server_version=emulate)
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as caught:
        client.list_datasets()
    client.close()
    error = caught.value
    expected = (401, 401) if emulate == "0.27" else (200, 109)
    assert (error.status_code, error.code) == expected
    assert "RAGFLOW_API_KEY" in str(error) and "api_key" in str(error)
    assert wrong_key not in str(error) and wrong_key not in repr(error)
    assert error.attempts == 1, "an auth failure is not retried"
    ledger(
        area="bad answers",
        fault=f"wrong API key on a {emulate} server (HTTP {expected[0]}, code {expected[1]})",
        injected=error.attempts,
        requests_sent=error.attempts,
        caller_saw=describe_error(error),
        data_check="key not in the message",
        seconds=time.monotonic() - started,
    )


STALL_TIMEOUT = 0.5
SSE_MALFORMED = (
    'data:{"code": 0, "message": "", "data": {"answer": "The Sun ", "final": false}}\n\n'
    'data:{"code": 0, "message": "", "data": {"answer": "is a st\n\n'
    'data:{"code": 0, "message": "", "data": true}\n\n'
)
SSE_ERROR_EVENT = (
    'data:{"code": 0, "message": "", "data": {"answer": "The Sun ", "final": false}}\n\n'
    'data:{"code": 500, "message": "LLM provider timed out", "data": {"answer": '
    '"**ERROR**: LLM provider timed out", "reference": []}}\n\n'
    'data:{"code": 0, "message": "", "data": true}\n\n'
)


def _rogue_stream(
    rogue: RogueServer, body: str, flavour: str, hold: float = 0.0, chunked: bool = False
) -> tuple[list[str], BaseException]:
    rogue.set(200, "text/event-stream; charset=utf-8", body.encode(), hold, chunked)
    messages = [{"role": "user", "content": "hi"}]
    texts: list[str] = []
    if flavour == "sync":
        client = RAGFlow(
            api_key="k",
            base_url=rogue.base_url,
            server_version="0.27",
            max_retries=0,
            timeout=STALL_TIMEOUT,
        )

        def run() -> BaseException:
            try:
                for event in client.chat_completion("c" * 32, messages, stream=True):
                    texts.append(event.content)
            except Exception as exc:
                return exc
            raise AssertionError("the stream ended without an error")

        try:
            return texts, call_with_deadline(run, 10)
        finally:
            client.close()
    raise ValueError(flavour)


async def _rogue_stream_async(
    rogue: RogueServer, body: str, hold: float = 0.0, chunked: bool = False
) -> tuple[list[str], BaseException]:
    import asyncio

    rogue.set(200, "text/event-stream; charset=utf-8", body.encode(), hold, chunked)
    texts: list[str] = []
    async with AsyncRAGFlow(
        api_key="k",
        base_url=rogue.base_url,
        server_version="0.27",
        max_retries=0,
        timeout=STALL_TIMEOUT,
    ) as client:

        async def run() -> BaseException:
            try:
                stream = await client.chat_completion(
                    "c" * 32, [{"role": "user", "content": "hi"}], stream=True
                )
                async for event in stream:
                    texts.append(event.content)
            except Exception as exc:
                return exc
            raise AssertionError("the stream ended without an error")

        return texts, await asyncio.wait_for(run(), 10)


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_malformed_sse_line(
    rogue: RogueServer, ledger: Callable[..., None], flavour: str
) -> None:
    started = time.monotonic()
    mark = len(rogue.paths)
    if flavour == "sync":
        texts, error = _rogue_stream(rogue, SSE_MALFORMED, "sync")
    else:
        texts, error = await _rogue_stream_async(rogue, SSE_MALFORMED)
    assert isinstance(error, (ResponseDecodeError, StreamError)), repr(error)
    assert texts == ["The Sun "]
    assert "is a st" in str(error), "the message shows the bad line"
    if isinstance(error, StreamError):
        assert error.partial_text == "The Sun "
    ledger(
        area="bad answers",
        fault=f"malformed SSE data line mid-stream ({flavour} chat_completion)",
        injected=len(rogue.paths) - mark,
        requests_sent=len(rogue.paths) - mark,
        caller_saw=f"{len(texts)} event, then {describe_error(error)}",
        data_check="text before the bad line delivered",
        seconds=time.monotonic() - started,
    )


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_error_event_mid_stream(
    rogue: RogueServer, ledger: Callable[..., None], flavour: str
) -> None:
    started = time.monotonic()
    mark = len(rogue.paths)
    if flavour == "sync":
        texts, error = _rogue_stream(rogue, SSE_ERROR_EVENT, "sync")
    else:
        texts, error = await _rogue_stream_async(rogue, SSE_ERROR_EVENT)
    assert isinstance(error, StreamError), repr(error)
    assert error.partial_text == "The Sun " and texts == ["The Sun "]
    assert "LLM provider timed out" in str(error)
    assert error.code == 500
    ledger(
        area="bad answers",
        fault=f"error event (code 500) mid-stream ({flavour} chat_completion)",
        injected=len(rogue.paths) - mark,
        requests_sent=len(rogue.paths) - mark,
        caller_saw=describe_error(error),
        data_check=f"partial_text = {error.partial_text!r}",
        seconds=time.monotonic() - started,
    )


@pytest.mark.parametrize("framing", ["chunked", "close-delimited"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_stream_that_stalls_mid_answer_times_out(
    rogue: RogueServer, ledger: Callable[..., None], flavour: str, framing: str
) -> None:
    """The server sends one event and then nothing, keeping the connection open.

    The event must reach the caller before the read timeout fires, whatever the body framing
    (a proxy may turn a chunked SSE body into a close-delimited one).
    """
    chunked = framing == "chunked"
    first = 'data:{"code": 0, "message": "", "data": {"answer": "The Sun ", "final": false}}\n\n'
    hold = 4.0
    started = time.monotonic()
    mark = len(rogue.paths)
    if flavour == "sync":
        texts, error = _rogue_stream(rogue, first, "sync", hold=hold, chunked=chunked)
    else:
        texts, error = await _rogue_stream_async(rogue, first, hold=hold, chunked=chunked)
    elapsed = time.monotonic() - started
    rogue.set(200, "application/json", b"{}")
    assert isinstance(error, (StreamError, APITimeoutError)), repr(error)
    assert texts == ["The Sun "], "the event that arrived before the stall was held back"
    assert STALL_TIMEOUT * 0.9 <= elapsed < STALL_TIMEOUT + 1.5, elapsed
    if isinstance(error, StreamError):
        assert error.partial_text == "The Sun "
    ledger(
        area="streams",
        fault=f"{framing} stream stalls after 1 event (connection held open {hold:g} s), "
        f"{flavour}, read timeout {STALL_TIMEOUT:g} s",
        injected=len(rogue.paths) - mark,
        requests_sent=len(rogue.paths) - mark,
        caller_saw=f"{describe_error(error)} after {elapsed:.2f} s",
        data_check="text before the stall delivered",
        seconds=elapsed,
    )


@pytest.mark.parametrize("framing", ["chunked", "close-delimited"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_stream_that_stalls_after_its_terminator_ends_promptly(
    rogue: RogueServer, ledger: Callable[..., None], flavour: str, framing: str
) -> None:
    """The whole answer and its end marker arrive, then the connection stays open and silent.

    The client reads a little past the marker to hand a kept-alive connection back to the pool;
    that read is bounded (1 s), so the caller gets the answer without waiting for the read timeout.
    """
    import asyncio

    body = (
        'data:{"code": 0, "message": "", "data": {"answer": "The Sun ", "final": false}}\n\n'
        'data:{"code": 0, "message": "", "data": {"answer": "shines.", "final": false}}\n\n'
        'data:{"code": 0, "message": "", "data": true}\n\n'
    )
    hold, read_timeout = 6.0, 10.0
    rogue.set(200, "text/event-stream; charset=utf-8", body.encode(), hold, framing == "chunked")
    messages = [{"role": "user", "content": "hi"}]
    options: dict[str, Any] = {
        "api_key": "k",
        "base_url": rogue.base_url,
        "server_version": "0.27",
        "max_retries": 0,
        "timeout": read_timeout,
    }
    mark = len(rogue.paths)
    started = time.monotonic()
    if flavour == "sync":
        with RAGFlow(**options) as client:
            events = call_with_deadline(
                lambda: list(client.chat_completion("c" * 32, messages, stream=True)), hold
            )
    else:
        async with AsyncRAGFlow(**options) as aclient:

            async def run() -> list[Any]:
                stream = await aclient.chat_completion("c" * 32, messages, stream=True)
                return [event async for event in stream]

            events = await asyncio.wait_for(run(), hold)
    elapsed = time.monotonic() - started
    rogue.set(200, "application/json", b"{}")
    assert [event.delta for event in events if event.delta] == ["The Sun ", "shines."]
    assert events[-1].content == "The Sun shines."
    assert elapsed < 2.5, f"the caller waited {elapsed:.2f} s after the end marker"
    ledger(
        area="streams",
        fault=f"{framing} stream: end marker, then the connection held open and silent "
        f"{hold:g} s ({flavour}, read timeout {read_timeout:g} s)",
        injected=len(rogue.paths) - mark,
        requests_sent=len(rogue.paths) - mark,
        caller_saw=f"the whole answer after {elapsed:.2f} s",
        data_check="both deltas and the full content",
        seconds=elapsed,
    )


def test_legacy_empty_authorization_trap(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
) -> None:
    """Old servers answer a missing key with HTTP 200, code 0 (!) and data false."""
    body = json.dumps({"code": 0, "data": False, "message": "`Authorization` can't be empty"})
    error = _answer_case(
        server, make_client(), wire, ledger,
        label="HTTP 200, code 0, data false, \"Authorization can't be empty\" (legacy trap)",
        fault={"status": 200, "body": body},
        expected=AuthenticationError,
        words=["Authorization", "RAGFLOW_API_KEY"],
    )  # fmt: skip
    assert error.attempts == 1


ODD_SUCCESS_BODIES = {
    "no data": {"code": 0},
    "data null": {"code": 0, "data": None},
    "data a string": {"code": 0, "data": "oops"},
    "data a number": {"code": 0, "data": 7},
    "data a list of junk": {"code": 0, "data": [1, "x", None, [2]]},
    "data an empty dict": {"code": 0, "data": {}},
    "code as a string": {"code": "0", "data": []},
}
ENDPOINTS: dict[str, tuple[str, str, Callable[[RAGFlow, Any], Any]]] = {
    "list_datasets": ("/datasets", "GET", lambda c, ds: c.list_datasets()),
    "upload_documents": (
        "/datasets/*/documents",
        "POST",
        lambda c, ds: ds.upload_documents([{"display_name": "a.txt", "blob": b"a"}]),
    ),
    "create_chat": ("/chats", "POST", lambda c, ds: c.create_chat(name=unique("odd-chat"))),
    "list_agents": ("/agents", "GET", lambda c, ds: c.list_agents()),
    "chat_completion": (
        "/chat/completions",
        "POST",
        lambda c, ds: c.chat_completion("a" * 32, [{"role": "user", "content": "hi"}]),
    ),
    "get_dataset": ("/datasets/*", "GET", lambda c, ds: c.get_dataset(ds.id)),
    "create_dataset": ("/datasets", "POST", lambda c, ds: c.create_dataset(name="odd")),
    "retrieve": ("/retrieval", "POST", lambda c, ds: c.retrieve("Sun", dataset_ids=[ds.id])),
    "list_chats": ("/chats", "GET", lambda c, ds: c.list_chats()),
    "list_documents": ("/datasets/*/documents", "GET", lambda c, ds: ds.list_documents()),
}


@pytest.fixture(scope="module")
def odd_dataset(server: LocalRAGFlowServer) -> Any:
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        return client.create_dataset(name=unique("odd-bodies"))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_odd_success_envelopes_never_leak_python_errors(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    odd_dataset: Any,
    ledger: Callable[..., None],
    endpoint: str,
) -> None:
    """``code 0`` with missing or oddly typed ``data``: a value or a RAGFlowError, never a
    KeyError/AttributeError/TypeError/IndexError from inside the library."""
    path, method, run = ENDPOINTS[endpoint]
    client = make_client(max_retries=0)
    dataset = client.get_dataset(odd_dataset.id)
    outcomes: list[str] = []
    leaks: list[str] = []
    started = time.monotonic()
    for label, body in ODD_SUCCESS_BODIES.items():
        server.inject_fault(path, method, status=200, body=json.dumps(body), times=1)
        try:
            result = run(client, dataset)
            outcomes.append(f"{label}: {type(result).__name__}")
        except RAGFlowError as exc:
            outcomes.append(f"{label}: {type(exc).__name__}")
        except Exception as exc:
            outcomes.append(f"{label}: {type(exc).__name__} escaped")
            leaks.append(f"{label}: {exc!r}")
        finally:
            server.clear_faults()
    ledger(
        area="bad answers",
        fault=f"{len(ODD_SUCCESS_BODIES)} odd success envelopes on {endpoint}",
        injected=len(ODD_SUCCESS_BODIES),
        requests_sent=None,
        caller_saw="; ".join(outcomes),
        data_check=f"{len(leaks)} Python error(s) escaped",
        seconds=time.monotonic() - started,
    )
    assert not leaks, leaks
