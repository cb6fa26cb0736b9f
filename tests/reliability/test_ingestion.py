"""Ingestion failures: a parse that fails names the document and the server's message; a parse
past its deadline raises ParseTimeoutError and can cancel; a partial upload reports which files
failed and keeps the others."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _reliability import API_KEY, WireLog, describe_error, pending_fault_uses, unique

from ragflow_integrations import (
    AsyncRAGFlow,
    DocumentParseError,
    IngestionError,
    ParseTimeoutError,
    RAGFlow,
    RAGFlowError,
    UploadError,
)
from ragflow_integrations.ingest import IngestItem, aingest_documents, ingest_documents
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

GOOD = b"Rainbows appear when sunlight is refracted by raindrops."
BROKEN_JSON = b'{"rivers": [{"name": "Nile", "length_km": 6650'
POLL = 0.02


@pytest.fixture(scope="module")
def admin(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        yield client


@pytest.fixture
def slow_parsing(server: LocalRAGFlowServer) -> Iterator[float]:
    """Parsing takes ``delay`` seconds per document for the duration of the test."""
    delay = 1.5
    server.parse_delay = delay
    yield delay
    server.parse_delay = 0.0


def _docs_by_name(admin: RAGFlow, dataset_id: str) -> dict[str, Any]:
    return {d.name: d for d in admin.get_dataset(dataset_id).iter_documents()}


def test_failed_parse_names_the_document_and_the_server_message(
    make_client: Callable[..., RAGFlow], admin: RAGFlow, ledger: Callable[..., None], wire: WireLog
) -> None:
    client = make_client()
    dataset = client.create_dataset(name=unique("parse-fail"))
    docs = dataset.upload_documents(
        [
            {"display_name": "fine.txt", "blob": GOOD},
            {"display_name": "broken.json", "blob": BROKEN_JSON},
        ]
    )
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(DocumentParseError) as caught:
        dataset.parse_documents([d.id for d in docs], timeout=20, poll_interval=POLL)
    elapsed = time.monotonic() - started
    error = caught.value
    broken = next(d for d in docs if d.name == "broken.json")
    assert [(f.document_id, f.name) for f in error.failures] == [(broken.id, "broken.json")]
    assert "Invalid JSON" in error.failures[0].progress_msg
    assert "broken.json" in str(error) and "Invalid JSON" in str(error)
    on_server = _docs_by_name(admin, dataset.id)
    assert on_server["fine.txt"].run == "DONE" and on_server["broken.json"].run == "FAIL"
    ledger(
        area="ingestion",
        fault="corrupt file (truncated JSON) parsed next to a good one",
        injected=len(error.failures),
        requests_sent=len(wire) - mark,
        caller_saw=describe_error(error),
        data_check="fine.txt DONE and kept; broken.json FAIL",
        seconds=elapsed,
    )


def test_parse_past_deadline_raises_and_cancels(
    make_client: Callable[..., RAGFlow],
    admin: RAGFlow,
    slow_parsing: float,
    ledger: Callable[..., None],
    wire: WireLog,
) -> None:
    client = make_client()
    dataset = client.create_dataset(name=unique("parse-timeout"))
    docs = dataset.upload_documents([{"display_name": "slow.txt", "blob": GOOD}])
    deadline = 0.3
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(ParseTimeoutError) as caught:
        dataset.parse_documents(
            [docs[0].id], timeout=deadline, poll_interval=POLL, cancel_on_timeout=True
        )
    elapsed = time.monotonic() - started
    error = caught.value
    assert deadline <= elapsed < deadline + 1.0
    assert error.cancelled and error.timeout == deadline
    assert [d.id for d in error.pending] == [docs[0].id]
    assert "slow.txt" in str(error) and "timeout=" in str(error)
    time.sleep(0.2)
    state = _docs_by_name(admin, dataset.id)["slow.txt"].run
    assert state == "CANCEL"
    ledger(
        area="ingestion",
        fault=f"parse_delay {slow_parsing:g} s > deadline {deadline:g} s, cancel_on_timeout=True",
        injected=len(error.pending),
        requests_sent=len(wire) - mark,
        caller_saw=f"{describe_error(error)} after {elapsed:.2f} s",
        data_check=f"document kept, run = {state}",
        seconds=elapsed,
    )


def test_parse_past_deadline_without_cancel_keeps_parsing(
    make_client: Callable[..., RAGFlow],
    admin: RAGFlow,
    slow_parsing: float,
    ledger: Callable[..., None],
    wire: WireLog,
) -> None:
    client = make_client()
    dataset = client.create_dataset(name=unique("parse-timeout-keep"))
    docs = dataset.upload_documents([{"display_name": "slow.txt", "blob": GOOD}])
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(ParseTimeoutError) as caught:
        dataset.parse_documents([docs[0].id], timeout=0.2, poll_interval=POLL)
    elapsed = time.monotonic() - started
    assert not caught.value.cancelled
    # the caller can cancel explicitly afterwards
    dataset.async_cancel_parse_documents([docs[0].id])
    time.sleep(0.2)
    state = _docs_by_name(admin, dataset.id)["slow.txt"].run
    assert state == "CANCEL"
    ledger(
        area="ingestion",
        fault="parse past a 0.2 s deadline, then async_cancel_parse_documents",
        injected=len(caught.value.pending),
        requests_sent=len(wire) - mark,
        caller_saw=describe_error(caught.value),
        data_check=f"document kept, run = {state} after the explicit cancel",
        seconds=elapsed,
    )


async def test_async_parse_failure_and_timeout(
    make_async_client: Callable[..., AsyncRAGFlow],
    admin: RAGFlow,
    server: LocalRAGFlowServer,
    ledger: Callable[..., None],
    wire: WireLog,
) -> None:
    client = make_async_client()
    dataset = await client.create_dataset(name=unique("async-parse"))
    docs = await dataset.upload_documents([{"display_name": "broken.json", "blob": BROKEN_JSON}])
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(DocumentParseError) as caught:
        await dataset.parse_documents([docs[0].id], timeout=20, poll_interval=POLL)
    assert caught.value.failures[0].name == "broken.json"
    server.parse_delay = 1.5
    try:
        slow = await dataset.upload_documents([{"display_name": "slow.txt", "blob": GOOD}])
        with pytest.raises(ParseTimeoutError) as timed_out:
            await dataset.parse_documents(
                [slow[0].id], timeout=0.2, poll_interval=POLL, cancel_on_timeout=True
            )
    finally:
        server.parse_delay = 0.0
    assert timed_out.value.cancelled
    ledger(
        area="ingestion",
        fault="async: corrupt file, then a parse past a 0.2 s deadline with cancel",
        injected=len(caught.value.failures) + len(timed_out.value.pending),
        requests_sent=len(wire) - mark,
        caller_saw=f"{describe_error(caught.value)}; then {describe_error(timed_out.value)}",
        data_check="both documents kept on the server",
        seconds=time.monotonic() - started,
    )
    assert set(_docs_by_name(admin, dataset.id)) == {"broken.json", "slow.txt"}


def test_partial_upload_reports_failed_files_and_keeps_the_others(
    make_client: Callable[..., RAGFlow], admin: RAGFlow, ledger: Callable[..., None], wire: WireLog
) -> None:
    client = make_client()
    dataset = client.create_dataset(name=unique("partial-upload"))
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(UploadError) as caught:
        dataset.upload_documents(
            [
                {"display_name": "one.txt", "blob": GOOD},
                {"display_name": "setup.exe", "blob": b"MZ\x90\x00"},
                {"display_name": "two.md", "blob": b"# Two\n\nSecond file."},
            ]
        )
    elapsed = time.monotonic() - started
    error = caught.value
    assert error.failed == ["setup.exe"]
    assert sorted(d.name for d in error.uploaded) == ["one.txt", "two.md"]
    assert "setup.exe" in str(error) and "not been supported" in str(error)
    kept = sorted(_docs_by_name(admin, dataset.id))
    assert kept == ["one.txt", "two.md"]
    ledger(
        area="ingestion",
        fault="upload of 3 files, one of an unsupported type",
        injected=len(error.failed),
        requests_sent=len(wire) - mark,
        caller_saw=describe_error(error),
        data_check=f"kept on server: {', '.join(kept)}",
        seconds=elapsed,
    )


def test_partial_upload_with_renamed_duplicate_reports_only_the_real_failure(
    make_client: Callable[..., RAGFlow], admin: RAGFlow, ledger: Callable[..., None], wire: WireLog
) -> None:
    """The server renames a duplicate name (``notes(1).txt``); that file did not fail."""
    client = make_client()
    dataset = client.create_dataset(name=unique("partial-dup"))
    dataset.upload_documents([{"display_name": "notes.txt", "blob": GOOD}])
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(UploadError) as caught:
        dataset.upload_documents(
            [
                {"display_name": "notes.txt", "blob": b"A second version of the notes."},
                {"display_name": "setup.exe", "blob": b"MZ\x90\x00"},
            ]
        )
    elapsed = time.monotonic() - started
    error = caught.value
    kept = sorted(_docs_by_name(admin, dataset.id))
    ledger(
        area="ingestion",
        fault="partial upload where the good file's name already exists (server renames it)",
        injected=len(error.failed),
        requests_sent=len(wire) - mark,
        caller_saw=f"failed={error.failed}, uploaded={[d.name for d in error.uploaded]}",
        data_check=f"kept on server: {', '.join(kept)}",
        seconds=elapsed,
    )
    assert kept == ["notes(1).txt", "notes.txt"]
    assert error.failed == ["setup.exe"], "notes.txt was uploaded (as notes(1).txt)"


def test_partial_upload_applies_metadata_to_the_kept_files(
    make_client: Callable[..., RAGFlow], admin: RAGFlow
) -> None:
    client = make_client()
    dataset = client.create_dataset(name=unique("partial-meta"))
    with pytest.raises(UploadError):
        dataset.upload_documents(
            [
                {"display_name": "tagged.txt", "blob": GOOD, "meta_fields": {"topic": "light"}},
                {"display_name": "setup.exe", "blob": b"MZ\x90\x00"},
            ]
        )
    kept = _docs_by_name(admin, dataset.id)
    assert kept["tagged.txt"].meta_fields == {"topic": "light"}


def test_ingest_accounts_for_every_file_when_a_batch_fails(
    make_client: Callable[..., RAGFlow], admin: RAGFlow, ledger: Callable[..., None], wire: WireLog
) -> None:
    """Every input file is either uploaded or listed as failed; none silently vanishes."""
    client = make_client()
    dataset = client.create_dataset(name=unique("ingest-batches"))
    items = [
        IngestItem("a.txt", GOOD),
        IngestItem("b.exe", b"MZ"),
        IngestItem("c.txt", b"Cats sleep most of the day."),
        IngestItem("d.txt", b"Dogs like walks."),
    ]
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(UploadError) as caught:
        ingest_documents(dataset, items, batch_size=2, timeout=20, poll_interval=POLL)
    elapsed = time.monotonic() - started
    error = caught.value
    kept = _docs_by_name(admin, dataset.id)
    accounted = {d.name for d in error.uploaded} | set(error.failed)
    ledger(
        area="ingestion",
        fault="ingest_documents of 4 files in batches of 2, the 2nd file unsupported",
        injected=len(error.failed),
        requests_sent=len(wire) - mark,
        caller_saw=f"{describe_error(error)}",
        data_check=f"kept on server: {sorted(kept)}; accounted for: {sorted(accounted)}",
        seconds=elapsed,
    )
    assert "b.exe" in error.failed
    assert accounted == {i.name for i in items}, "files of later batches vanished"


async def test_async_ingest_partial_upload(
    make_async_client: Callable[..., AsyncRAGFlow], admin: RAGFlow
) -> None:
    client = make_async_client()
    dataset = await client.create_dataset(name=unique("async-ingest"))
    with pytest.raises(UploadError) as caught:
        await aingest_documents(
            dataset,
            [IngestItem("a.txt", GOOD), IngestItem("b.exe", b"MZ")],
            timeout=20,
            poll_interval=POLL,
        )
    assert caught.value.failed == ["b.exe"]
    assert [d.name for d in caught.value.uploaded] == ["a.txt"]
    assert list(_docs_by_name(admin, dataset.id)) == ["a.txt"]


@pytest.mark.parametrize(
    "fault", [{"status": 503}, {"drop_connection": True}], ids=["503", "dropped"]
)
def test_ingest_when_starting_the_parse_fails_accounts_for_every_file(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    admin: RAGFlow,
    ledger: Callable[..., None],
    wire: WireLog,
    fault: dict[str, Any],
) -> None:
    """The parse request of the first batch fails (POST, so not retried). The caller must get
    an ingestion error that says which files are on the server (unparsed) and which were not
    uploaded, so that it can finish the job; a bare ServerError/APIConnectionError says
    neither."""
    client = make_client(max_retries=2)
    dataset = client.create_dataset(name=unique("ingest-parse-start"))
    items = [IngestItem(f"{n}.txt", f"File {n} about rivers.".encode()) for n in "abc"]
    server.inject_fault(f"/datasets/{dataset.id}/chunks", "POST", times=1, **fault)
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(RAGFlowError) as caught:
        ingest_documents(dataset, items, batch_size=2, timeout=20, poll_interval=POLL)
    elapsed = time.monotonic() - started
    error = caught.value
    on_server = _docs_by_name(admin, dataset.id)
    uploaded = {d.name for d in getattr(error, "uploaded", [])}
    failed = set(getattr(error, "failed", []))
    ledger(
        area="ingestion",
        fault="ingest_documents of 3 files in batches of 2; starting the 1st batch's parse "
        + ("answers 503" if "status" in fault else "has its connection dropped"),
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(wire) - mark,
        caller_saw=describe_error(error),
        data_check=f"on server: {sorted((n, d.run) for n, d in on_server.items())}; error lists "
        f"uploaded={sorted(uploaded)}, failed={sorted(failed)}",
        seconds=elapsed,
    )
    assert isinstance(error, IngestionError), f"untyped for ingestion: {error!r}"
    assert uploaded == set(on_server), "the error names the files that are on the server"
    assert uploaded | failed == {i.name for i in items}, "every file is accounted for"


@pytest.mark.parametrize(
    "fault", [{"status": 503}, {"drop_connection": True}], ids=["503", "dropped"]
)
def test_parse_timeout_is_reported_even_when_the_cancel_fails(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    admin: RAGFlow,
    slow_parsing: float,
    ledger: Callable[..., None],
    wire: WireLog,
    fault: dict[str, Any],
) -> None:
    client = make_client(max_retries=1)
    dataset = client.create_dataset(name=unique("cancel-fails"))
    docs = dataset.upload_documents([{"display_name": "slow.txt", "blob": GOOD}])
    server.inject_fault(f"/datasets/{dataset.id}/chunks", "DELETE", **fault)
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(ParseTimeoutError) as caught:
        dataset.parse_documents(
            [docs[0].id], timeout=0.2, poll_interval=POLL, cancel_on_timeout=True
        )
    elapsed = time.monotonic() - started
    server.clear_faults()
    error = caught.value
    assert not error.cancelled, "the cancel failed, so the error must not claim it worked"
    assert [d.id for d in error.pending] == [docs[0].id]
    cancels = wire.to(f"/datasets/{dataset.id}/chunks", "DELETE")
    ledger(
        area="ingestion",
        fault=f"parse past a 0.2 s deadline, cancel_on_timeout=True, the cancel request "
        f"{'answers 503' if 'status' in fault else 'is dropped'}",
        injected=sum(1 for r in cancels if r.status == 503 or r.error),
        requests_sent=len(wire) - mark,
        caller_saw=describe_error(error),
        data_check=f"document kept (run {_docs_by_name(admin, dataset.id)['slow.txt'].run}); "
        f"cancelled={error.cancelled}",
        seconds=elapsed,
    )


def test_ingest_when_an_upload_connection_drops_accounts_for_every_file(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    admin: RAGFlow,
    ledger: Callable[..., None],
    wire: WireLog,
) -> None:
    """The first batch's upload loses its connection (before the server read it). The other
    batches still go up, and the error lists every file as uploaded or failed."""
    client = make_client(max_retries=2)
    dataset = client.create_dataset(name=unique("ingest-upload-drop"))
    items = [IngestItem(f"{n}.txt", f"File {n} about lakes.".encode()) for n in "abc"]
    server.inject_fault(f"/datasets/{dataset.id}/documents", "POST", drop_connection=True, times=1)
    started = time.monotonic()
    mark = len(wire)
    with pytest.raises(RAGFlowError) as caught:
        ingest_documents(dataset, items, batch_size=1, timeout=20, poll_interval=POLL)
    elapsed = time.monotonic() - started
    error = caught.value
    on_server = _docs_by_name(admin, dataset.id)
    uploaded = {d.name for d in getattr(error, "uploaded", [])}
    failed = set(getattr(error, "failed", []))
    ledger(
        area="ingestion",
        fault="ingest_documents of 3 files one per batch; the 1st upload's connection drops",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(wire) - mark,
        caller_saw=describe_error(error),
        data_check=f"on server: {sorted(on_server)}; error lists uploaded={sorted(uploaded)}, "
        f"failed={sorted(failed)}",
        seconds=elapsed,
    )
    assert isinstance(error, IngestionError), f"untyped for ingestion: {error!r}"
    assert uploaded == set(on_server) == {"b.txt", "c.txt"}
    assert failed == {"a.txt"}
