"""Helpers for the reliability suite: a fault ledger, wire recorders, socket counting, TLS material.

Nothing here knows the client's internals: requests are observed through the HTTP libraries' own
seams (a ``requests`` adapter, an ``httpx`` transport) and sockets through psutil.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import psutil  # type: ignore[import-untyped]
import requests
from requests.adapters import HTTPAdapter

from ragflow_integrations.testing import TestCertificates, make_test_certificates

T = TypeVar("T")

LEDGER_ENV = "RAGFLOW_RELIABILITY_LEDGER"
API_KEY = "ragflow-reliability-secret-key-7f3a9c"
FAST_TIMEOUT = 2.0
FAST_CONNECT_TIMEOUT = 1.0
FAST_BACKOFF_BASE = 0.02
FAST_BACKOFF_CAP = 0.1


# --------------------------------------------------------------------------- fault ledger


@dataclass
class FaultRecord:
    """One fault scenario as measured by a test (the rows of RELIABILITY.md)."""

    area: str
    fault: str
    injected: int
    requests_sent: int | None  # None: not counted
    caller_saw: str
    data_check: str
    seconds: float
    nodeid: str = ""
    outcome: str = "unknown"


@dataclass
class Ledger:
    """Collects :class:`FaultRecord` rows (dumped as JSON when ``LEDGER_ENV`` is set)."""

    records: list[FaultRecord] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: FaultRecord) -> None:
        with self.lock:
            self.records.append(record)

    def outcome_of(self, nodeid: str) -> str:
        """A test's outcome; for a module, "passed" only when all its tests passed."""
        if nodeid in self.outcomes:
            return self.outcomes[nodeid]
        inner = [v for k, v in self.outcomes.items() if k.startswith(nodeid + "::")]
        if not inner:
            return "unknown"
        return "passed" if all(v == "passed" for v in inner) else "failed"

    def dump(self, path: str | os.PathLike[str]) -> None:
        rows = []
        for record in self.records:
            record.outcome = self.outcome_of(record.nodeid)
            rows.append(asdict(record))
        Path(path).write_text(json.dumps(rows, indent=1), encoding="utf-8")


def describe_error(exc: BaseException) -> str:
    """``TypeName: first line of str(exc)`` shortened for a table cell."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    if len(text) > 140:
        text = text[:137] + "..."
    return f"{type(exc).__name__}: {text}"


# --------------------------------------------------------------------------- wire recorders


@dataclass
class WireRequest:
    """A request as it left the client, and what came back (status, or the transport error)."""

    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]
    sent_at: float = field(default_factory=time.monotonic)
    status: int | None = None
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class WireLog(list[WireRequest]):
    """The requests a recorder saw, with small query helpers."""

    def to(self, path_suffix: str, method: str | None = None) -> list[WireRequest]:
        return [
            r
            for r in self
            if r.path.endswith(path_suffix) and (method is None or r.method == method)
        ]

    def gaps(self, path_suffix: str, method: str | None = None) -> list[float]:
        """Seconds between consecutive requests to the same path (the client's waits)."""
        times = [r.sent_at for r in self.to(path_suffix, method)]
        return [b - a for a, b in itertools.pairwise(times)]


def _path_and_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


class RecordingAdapter(HTTPAdapter):
    """A ``requests`` adapter that keeps a copy of every request it sends."""

    def __init__(self, log: list[WireRequest], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = log

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        body = request.body
        raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        path, query = _path_and_query(request.url or "")
        entry = WireRequest(request.method or "", path, query, bytes(raw), dict(request.headers))
        self.log.append(entry)
        try:
            response = super().send(request, *args, **kwargs)
        except Exception as exc:
            entry.error = type(exc).__name__
            raise
        entry.status = response.status_code
        return response


def recording_session(log: list[WireRequest]) -> requests.Session:
    """A ``requests.Session`` whose requests are appended to ``log``."""
    session = requests.Session()
    adapter = RecordingAdapter(log)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class RecordingTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport that keeps a copy of every request before passing it on."""

    def __init__(self, log: list[WireRequest], inner: httpx.AsyncBaseTransport | None = None):
        self.log = log
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        entry = WireRequest(
            request.method,
            request.url.path,
            request.url.query.decode("ascii"),
            body,
            dict(request.headers),
        )
        self.log.append(entry)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            entry.error = type(exc).__name__
            raise
        entry.status = response.status_code
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# --------------------------------------------------------------------------- sockets and guards


# ESTABLISHED, SYN_SENT and CLOSE_WAIT (peer closed, we still hold it); not the closing states
_TCP_STATES_OPEN = {"01", "02", "08"}


def open_sockets_to(port: int) -> int:
    """Client-side TCP sockets to ``port`` on this machine that are open or held (see above).

    Reads ``/proc/net/tcp{,6}`` where available (cheap enough to sample every few ms), else
    asks psutil about this process.
    """
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return sum(
            1
            for conn in psutil.Process().net_connections(kind="tcp")
            if conn.raddr
            and conn.raddr.port == port
            and conn.status
            in (psutil.CONN_ESTABLISHED, psutil.CONN_SYN_SENT, psutil.CONN_CLOSE_WAIT)
        )
    wanted = f"{port:04X}"
    count = 0
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2].rsplit(":", 1)[1] == wanted and fields[3] in _TCP_STATES_OPEN:
                count += 1
    return count


def call_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """Run ``fn`` in a worker thread; raise ``AssertionError`` if it has not returned in time."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise AssertionError(f"call hung for more than {seconds} s") from None
    finally:
        pool.shutdown(wait=False)


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.elapsed``."""

    def __enter__(self) -> Stopwatch:
        self.start = time.monotonic()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self.start


# --------------------------------------------------------------------------- TLS material


TLSMaterial = TestCertificates


def make_tls_material(directory: Path) -> TLSMaterial:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost."""
    return make_test_certificates(directory)


def iter_files(root: Path) -> Iterator[Path]:
    """Every regular file below ``root`` (none when it does not exist)."""
    if root.exists():
        yield from (p for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- data set-up

FACTS = {
    "sun.txt": b"The Sun is a star at the centre of the Solar System. Its surface is about 5500 C.",
    "tea.txt": b"Green tea is brewed at 80 C for two minutes. Black tea wants boiling water.",
    "rivers.txt": b"The Nile and the Amazon are the two longest rivers on Earth.",
}


def seed_dataset(client: Any, name: str, files: dict[str, bytes] | None = None) -> Any:
    """A dataset holding ``files`` (default :data:`FACTS`), parsed; returns the DataSet."""
    dataset = client.create_dataset(name=name)
    docs = dataset.upload_documents(
        [{"display_name": n, "blob": b} for n, b in (files or FACTS).items()]
    )
    dataset.parse_documents([d.id for d in docs], timeout=30, poll_interval=0.02)
    return dataset


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{time.monotonic_ns()}"


# --------------------------------------------------------------------------- a server that lies


class RogueServer:
    """A tiny stdlib HTTP server answering every request with one canned response.

    For answers the fault injection of LocalRAGFlowServer cannot produce (a malformed SSE line,
    an error event in the middle of a stream). ``set(status, content_type, body)`` changes it.
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        rogue = self
        self.status = 200
        self.content_type = "application/json"
        self.body = b"{}"
        self.hold = 0.0
        self.chunked = False
        self.extra_headers: dict[str, str] = {}
        self.paths: list[str] = []
        self.headers_seen: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                rogue.paths.append(f"{self.command} {self.path}")
                rogue.headers_seen.append(dict(self.headers.items()))
                self.send_response(rogue.status)
                self.send_header("Content-Type", rogue.content_type)
                for name, value in rogue.extra_headers.items():
                    self.send_header(name, value)
                if rogue.hold and rogue.chunked:  # chunked: the end chunk never comes
                    self.send_header("Transfer-Encoding", "chunked")
                elif rogue.hold:  # close-delimited: the client waits for more that never comes
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(rogue.body)))
                self.end_headers()
                if rogue.hold and rogue.chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(rogue.body), rogue.body))
                else:
                    self.wfile.write(rogue.body)
                self.wfile.flush()
                if rogue.hold:
                    time.sleep(rogue.hold)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def set(
        self, status: int, content_type: str, body: bytes, hold: float = 0.0, chunked: bool = False
    ) -> None:
        """Answer with this; ``hold`` > 0 keeps the connection open (silent) that long after,
        with a close-delimited body or (``chunked``) a chunked one missing its last chunk."""
        self.status, self.content_type, self.body = status, content_type, body
        self.hold, self.chunked = hold, chunked

    def __enter__(self) -> RogueServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------- a server process


class ServerProcess:
    """``python -m ragflow_integrations.testing serve`` in a child process (own memory, own GIL).

    Used by the load test so that tracemalloc and the socket count see only the client.
    """

    def __init__(self, api_key: str, emulate: str = "0.27") -> None:
        import socket
        import sys

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.api_key = api_key
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._command = [
            sys.executable, "-m", "ragflow_integrations.testing", "serve",
            "--port", str(self.port), "--api-key", api_key, "--emulate", emulate,
        ]  # fmt: skip
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        self._process = subprocess.Popen(
            self._command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self._process.stdout is not None
        deadline = time.monotonic() + 30
        for line in self._process.stdout:
            if line.startswith("base_url:"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the server process did not start")
        else:
            raise RuntimeError("the server process exited early")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def socket_fds() -> int:
    """Sockets this process holds (cheap: one readlink per open file descriptor)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


class SocketSampler:
    """Samples this process's socket count on a thread while a block runs.

    ``peak`` is the largest number of sockets opened on top of those held when the block began
    (``/proc/self/fd``: cheap enough to sample every few ms, unlike the TCP tables).
    """

    def __init__(self, port: int, every: float = 0.005) -> None:
        self.port = port
        self.every = every
        self.baseline = socket_fds()
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, socket_fds() - self.baseline)
            self.samples += 1
            self._stop.wait(self.every)

    def __enter__(self) -> SocketSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pending_fault_uses(base_url: str, api_key: str) -> int:
    """Uses left of the server's ``times``-limited faults (``GET /api/v1/_admin/faults``).

    ``times - pending_fault_uses(...)`` afterwards is how often an injected fault really fired.
    """
    response = requests.get(
        f"{base_url}/api/v1/_admin/faults",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return sum(int(f["times"] or 0) for f in response.json()["data"])
