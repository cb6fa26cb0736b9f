"""The API key never leaks (reprs, str, DEBUG logs, exceptions and their causes, cassettes), and
TLS verification is on by default (sync and async)."""

from __future__ import annotations

import gzip
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _reliability import (
    API_KEY,
    RogueServer,
    TLSMaterial,
    WireLog,
    describe_error,
    iter_files,
    seed_dataset,
    unique,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ragflow_integrations import (
    APIConnectionError,
    AsyncRAGFlow,
    RAGFlow,
    RAGFlowError,
)
from ragflow_integrations.errors import LONG_SECRET_CHARS
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += [a for a in current.args if isinstance(a, BaseException)]


def _assert_no_key(text: str, where: str, key: str = API_KEY) -> None:
    assert key not in text, (
        f"API key found in {where}: ...{text[max(0, text.find(key) - 60) :][:160]}"
    )


def _assert_exception_clean(exc: BaseException, key: str = API_KEY) -> int:
    count = 0
    for link in _chain(exc):
        _assert_no_key(str(link), f"str({type(link).__name__})", key)
        _assert_no_key(repr(link), f"repr({type(link).__name__})", key)
        count += 1
    return count


def test_key_absent_from_reprs_logs_and_errors(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    caplog: pytest.LogCaptureFixture,
    ledger: Callable[..., None],
    wire: WireLog,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, urllib3, httpx, httpcore, the server's
    client = make_client(max_retries=2)
    started = time.monotonic()
    dataset = seed_dataset(client, unique("secrets"))
    chat = client.create_chat(name=unique("secret-chat"), dataset_ids=[dataset.id])
    session = chat.create_session()
    message = session.ask("How hot is the Sun?")
    chunks = client.retrieve("Sun", dataset_ids=[dataset.id])
    objects: list[Any] = [
        client,
        client.with_options(timeout=1),
        dataset,
        chat,
        session,
        message,
        *chunks,
        *dataset.list_documents(),
    ]
    for obj in objects:
        _assert_no_key(repr(obj), f"repr({type(obj).__name__})")
        _assert_no_key(str(obj), f"str({type(obj).__name__})")
        if hasattr(obj, "model_dump_json"):
            _assert_no_key(obj.model_dump_json(), f"{type(obj).__name__}.model_dump_json()")
    errors: list[BaseException] = []
    server.inject_fault("/datasets", "GET", status=503, times=1)  # logged retry
    client.list_datasets()
    for fault in ({"status": 500}, {"drop_connection": True}, {"status": 200, "body": "<html>"}):
        server.inject_fault("/datasets", "GET", **fault)
        with pytest.raises(RAGFlowError) as caught:
            client.list_datasets()
        errors.append(caught.value)
        server.clear_faults()
    with pytest.raises(RAGFlowError) as missing:
        client.get_dataset("f" * 32)
    errors.append(missing.value)
    unreachable = RAGFlow(api_key=API_KEY, base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(APIConnectionError) as refused:
        unreachable.list_datasets()
    errors.append(refused.value)
    _assert_no_key(repr(unreachable), "repr(unreachable client)")
    links = sum(_assert_exception_clean(e) for e in errors)
    log_text = (
        "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records) + caplog.text
    )
    _assert_no_key(log_text, "DEBUG logs")
    assert len(caplog.records) > 10, "DEBUG logging was captured"
    ledger(
        area="secrets and TLS",
        fault="API key hunted in reprs, str, model_dump_json, DEBUG logs, exceptions + causes",
        injected=len(errors),
        requests_sent=len(wire),
        caller_saw=f"{len(objects)} objects, {len(caplog.records)} log records, "
        f"{len(errors)} errors ({links} exception links) checked",
        data_check="key found nowhere",
        seconds=time.monotonic() - started,
    )


async def test_async_errors_and_logs_do_not_leak_the_key(
    server: LocalRAGFlowServer,
    make_async_client: Callable[..., AsyncRAGFlow],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_async_client(max_retries=1)
    _assert_no_key(repr(client), "repr(AsyncRAGFlow)")
    await client.list_datasets()
    errors: list[BaseException] = []
    for fault in ({"status": 502}, {"drop_connection": True}, {"latency": 3.0}):
        server.inject_fault("/datasets", "GET", **fault)
        with pytest.raises(RAGFlowError) as caught:
            await client.with_options(timeout=0.3).list_datasets()
        errors.append(caught.value)
        server.clear_faults()
    for error in errors:
        _assert_exception_clean(error)
    _assert_no_key(caplog.text, "DEBUG logs (async)")


def _echoing_faults() -> list[dict[str, Any]]:
    """Answers of a server or proxy that quotes the Authorization header back."""
    echo = f"Authorization: Bearer {API_KEY}"
    return [
        {"status": 200, "body": json.dumps({"code": 102, "message": f"bad {echo}", "data": echo})},
        {"status": 401, "body": json.dumps({"code": 109, "message": f"{echo} is invalid"})},
        {"status": 502, "body": f"<html><pre>{echo}</pre>" + "x" * 5000 + "</html>"},
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_a_server_echoing_the_key_does_not_put_it_in_errors(
    flavour: str,
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
) -> None:
    faults = _echoing_faults()
    errors: list[RAGFlowError] = []
    for fault in faults:
        for path, method in (("/datasets", "GET"), ("/chats/*/completions", "POST")):
            server.inject_fault(path, method, **fault)
            with pytest.raises(RAGFlowError) as caught:
                if flavour == "sync":
                    client = make_client(max_retries=0)
                    if method == "GET":
                        client.list_datasets()
                    else:
                        list(client.chat_completion("c" * 32, "hi", stream=True))
                else:
                    aclient = make_async_client(max_retries=0)
                    if method == "GET":
                        await aclient.list_datasets()
                    else:
                        async for _ in await aclient.chat_completion("c" * 32, "hi", stream=True):
                            pass
            server.clear_faults()
            errors.append(caught.value)
    assert len(errors) == 2 * len(faults)
    for error in errors:
        _assert_exception_clean(error)
        for name, value in vars(error).items():
            _assert_no_key(repr(value), f"{type(error).__name__}.{name}")
    assert any("***" in e.message for e in errors), "the echoed key was masked, not dropped"


def test_adapters_do_not_show_the_key(server: LocalRAGFlowServer) -> None:
    from ragflow_integrations.langchain import ChatRAGFlow
    from ragflow_integrations.langchain import RAGFlowRetriever as LCRetriever
    from ragflow_integrations.llama_index import RAGFlowRetriever as LIRetriever

    lc = LCRetriever(api_key=API_KEY, base_url=server.base_url, dataset_ids=["a" * 32])
    chat = ChatRAGFlow(api_key=API_KEY, base_url=server.base_url, chat_id="b" * 32)
    li = LIRetriever(api_key=API_KEY, base_url=server.base_url, dataset_ids=["a" * 32])
    for obj in (lc, chat, li):
        _assert_no_key(repr(obj), f"repr({type(obj).__name__})")
        _assert_no_key(str(obj), f"str({type(obj).__name__})")
    for model in (lc, chat):
        _assert_no_key(model.model_dump_json(), f"{type(model).__name__}.model_dump_json()")
        _assert_no_key(str(model.model_dump()), f"{type(model).__name__}.model_dump()")


def _recorded_keys() -> list[str]:
    """The keys cassette recordings are made with (tests/conftest.py) plus this suite's key."""
    text = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    keys = re.findall(r'RECORD_API_KEY\s*=\s*"([^"]+)"', text)
    return [*keys, API_KEY]


def test_no_key_in_any_cassette(ledger: Callable[..., None]) -> None:
    keys = _recorded_keys()
    assert keys and all(len(k) >= 12 for k in keys)
    bearer = re.compile(r"bearer\s+(?!REDACTED)[A-Za-z0-9._-]{6,}", re.IGNORECASE)
    generated = re.compile(r"ragflow-local-[0-9a-f]{32}")
    started = time.monotonic()
    files = list(iter_files(CASSETTES))
    assert files, "cassettes/ holds recordings"
    for path in files:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8", errors="replace")
        rel = path.relative_to(ROOT)
        for key in keys:
            _assert_no_key(text, str(rel), key)
        assert not bearer.search(text), f"unredacted bearer token in {rel}"
        assert not generated.search(text), f"a generated local-server key in {rel}"
        for value in re.findall(r"(?im)^\s*authorization:\s*\n\s*-\s*(.+)$", text):
            assert value.strip() == "REDACTED", f"authorization header {value!r} in {rel}"
    ledger(
        area="secrets and TLS",
        fault="scan of every file under cassettes/ for API keys and bearer tokens",
        injected=0,
        requests_sent=0,
        caller_saw=f"{len(files)} files scanned",
        data_check="no key, no unredacted Authorization header",
        seconds=time.monotonic() - started,
    )


@pytest.fixture(scope="module")
def tls_server(tls_material: TLSMaterial) -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer(
        api_key=API_KEY,
        ssl_certfile=str(tls_material.cert_pem),
        ssl_keyfile=str(tls_material.key_pem),
    ) as srv:
        yield srv


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_tls_is_verified_by_default(
    tls_server: LocalRAGFlowServer,
    tls_material: TLSMaterial,
    ledger: Callable[..., None],
    flavour: str,
) -> None:
    assert tls_server.base_url.startswith("https://")
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": tls_server.base_url,
        "server_version": "0.27",
        "max_retries": 0,
        "timeout": 5,
    }
    started = time.monotonic()
    refused: RAGFlowError
    created: Any
    if flavour == "sync":
        with RAGFlow(**options) as default, pytest.raises(APIConnectionError) as caught:
            default.list_datasets()
        refused = caught.value
        with RAGFlow(**options, verify=str(tls_material.ca_pem)) as trusting:
            names = [d.name for d in trusting.list_datasets()]
            created = trusting.create_dataset(name=unique("tls"))
    else:
        async with AsyncRAGFlow(**options) as adefault:
            with pytest.raises(APIConnectionError) as acaught:
                await adefault.list_datasets()
        refused = acaught.value
        async with AsyncRAGFlow(**options, verify=str(tls_material.ca_pem)) as atrusting:
            names = [d.name for d in await atrusting.list_datasets()]
            created = await atrusting.create_dataset(name=unique("tls"))
    assert isinstance(names, list) and created.id
    text = str(refused).lower()
    assert "certificate" in text or "ssl" in text, str(refused)
    _assert_exception_clean(refused)
    ledger(
        area="secrets and TLS",
        fault=f"self-signed HTTPS server, {flavour} client without / with verify=<CA bundle>",
        injected=refused.attempts,
        requests_sent=refused.attempts + 2,
        caller_saw=f"default: {describe_error(refused)}; with CA: success",
        data_check="dataset created over verified TLS",
        seconds=time.monotonic() - started,
    )


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_key_is_not_forwarded_on_a_cross_origin_redirect(
    ledger: Callable[..., None], flavour: str, status: int
) -> None:
    """A proxy or a compromised server answers with a redirect to another origin: the key must
    not follow it (the other host would see the Authorization header)."""
    with RogueServer() as elsewhere, RogueServer() as redirector:
        elsewhere.set(200, "application/json", b'{"code": 0, "data": []}')
        redirector.set(status, "text/plain", b"")
        redirector.extra_headers = {"Location": f"{elsewhere.base_url}/api/v1/datasets"}
        options: dict[str, Any] = {
            "api_key": API_KEY, "base_url": redirector.base_url, "server_version": "0.27",
            "max_retries": 0,
        }  # fmt: skip
        outcome = "followed"
        try:
            if flavour == "sync":
                with RAGFlow(**options) as client:
                    client.list_datasets()
            else:
                async with AsyncRAGFlow(**options) as aclient:
                    await aclient.list_datasets()
        except RAGFlowError as exc:
            outcome = describe_error(exc)
        leaked = [h for h in elsewhere.headers_seen if API_KEY in " ".join(h.values())]
    ledger(
        area="secrets and TLS",
        fault=f"HTTP {status} redirect to another origin, {flavour} list_datasets",
        injected=len(redirector.paths),
        requests_sent=len(redirector.paths) + len(elsewhere.paths),
        caller_saw=outcome,
        data_check=f"{len(elsewhere.paths)} request(s) reached the other origin, "
        f"{len(leaked)} with the key",
        seconds=0.0,
    )
    assert elsewhere.paths, "the redirect was followed (otherwise this proves nothing)"
    assert not leaked, "the API key was sent to the redirect target"


# --------------------------------------------------------------------- masking short keys

MASKING = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
    database=None,
)
# any printable key without spaces; "*" left out so the mask itself cannot look like the key
key_chars = st.characters(
    min_codepoint=33, max_codepoint=0x2FFF, blacklist_characters="*", blacklist_categories=("Z",)
)
any_keys = st.text(key_chars, min_size=1, max_size=40)
word_keys = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"), min_size=1)


def _masked(text: str, key: str) -> str:
    error = RAGFlowError(text)
    error.hide(key)
    assert str(error) == error.message and error.args == (error.message,)
    return error.message


def _echoes(key: str) -> dict[str, str]:
    """Where a server or proxy puts the key it was sent: the fragment a leak would show."""
    return {
        f"Authorization: Bearer {key} rejected": f"Bearer {key} ",
        f"invalid api_key={key}": f"api_key={key}",
        f"Authorization: {key}": f": {key}",
        f"token {key}.": f" {key}.",
        f"url /api/v1/x?api_key={quote(key, safe='')}&p=1": f"={quote(key, safe='')}&",
        json.dumps({"headers": {"Authorization": f"Bearer {key}"}}): (
            f'Bearer {json.dumps(key)[1:-1]}"'
        ),
        json.dumps({"echo": f"Bearer {key}"}, ensure_ascii=False): f'Bearer {key}"',
    }


@MASKING
@given(key=any_keys)
def test_a_key_of_any_length_is_masked_where_it_is_echoed(key: str) -> None:
    for text, leak in _echoes(key).items():
        masked = _masked(text, key)
        assert leak not in masked, (key, text, masked)
        assert "***" in masked


@MASKING
@given(key=word_keys.filter(lambda k: len(k) < LONG_SECRET_CHARS), word=st.sampled_from(
    ["my-{k}ices-list", "Chec{k}", "{k}s", "pre{k}", "x{k}_y", "über{k}"]
))  # fmt: skip
def test_a_short_key_inside_an_ordinary_word_leaves_it_readable(key: str, word: str) -> None:
    text = f"Dataset with name '{word.format(k=key)}' not found"
    assert _masked(text, key) == text


@MASKING
@given(key=st.text(key_chars, min_size=LONG_SECRET_CHARS, max_size=60), glue=any_keys)
def test_a_long_key_is_masked_even_inside_a_longer_token(key: str, glue: str) -> None:
    masked = _masked(f"{glue}{key}{glue}", key)
    assert key not in masked.replace("***", "\x00")


def test_the_examples_from_the_issue_read_as_written() -> None:
    assert _masked("Dataset with name 'my-devices-list' not found", "dev") == (
        "Dataset with name 'my-devices-list' not found"
    )
    assert _masked("Check the API key", "k") == "Check the API key"
    assert _masked("Authorization: Bearer dev is invalid", "dev") == (
        "Authorization: Bearer *** is invalid"
    )
    assert _masked('{"Authorization": "Bearer k"}', "k") == '{"Authorization": "Bearer ***"}'
    assert _masked("dev", "dev") == "***"


@pytest.mark.parametrize("short_key", ["dev", "k"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_short_keys_keep_server_messages_readable_and_echoes_masked(
    short_key: str, flavour: str
) -> None:
    echo = f"Authorization: Bearer {short_key}"
    with LocalRAGFlowServer(api_key=short_key) as srv:
        options: dict[str, Any] = {
            "api_key": short_key, "base_url": srv.base_url, "server_version": "0.27",
            "max_retries": 0,
        }  # fmt: skip
        errors: list[RAGFlowError] = []
        for fault in (
            None,
            {"status": 401, "body": json.dumps({"code": 109, "message": f"{echo} is invalid"})},
            {"status": 200, "body": json.dumps({"code": 102, "message": json.dumps({"h": echo})})},
        ):
            if fault:
                srv.inject_fault("/datasets", "GET", **fault)
            with pytest.raises(RAGFlowError) as caught:
                if flavour == "sync":
                    with RAGFlow(**options) as client:
                        client.get_dataset(name="my-devices-list")
                else:
                    async with AsyncRAGFlow(**options) as aclient:
                        await aclient.get_dataset(name="my-devices-list")
            srv.clear_faults()
            errors.append(caught.value)
    not_found, echoed, in_data = errors
    assert "'my-devices-list' not found" in not_found.message, not_found.message
    assert "Check the API key" in echoed.message and "Bearer ***" in echoed.message
    assert echo not in echoed.message and json.dumps(echo) not in in_data.message
    assert '{"h": "Authorization: Bearer ***"}' in in_data.message, in_data.message
