"""``LocalRAGFlowServer``: the stand-in server running uvicorn in a background thread."""

from __future__ import annotations

import atexit
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from .embedding import Embedder, HashingEmbedder
from .faults import FaultRegistry

PACKAGE_VERSION = "0.1.0"
EMULATED = {"0.27": "v0.27.0", "0.22": "v0.22.1"}
DEFAULT_LLM = "local-extractive-responder@Builtin"  # the tenant's default chat model


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("ragflow-integrations")
    except Exception:
        return PACKAGE_VERSION


class LocalRAGFlowServer:
    """A local stand-in for a RAGFlow server: real storage, parsing, hybrid retrieval and an
    extractive (non-LLM) chat responder behind RAGFlow's HTTP API (``/api/v1``).

    It is not RAGFlow: every response carries ``X-RAGFlow-Stand-In``. Use it as a context manager::

        with LocalRAGFlowServer() as server:
            client = RAGFlow(api_key=server.api_key, base_url=server.base_url)
    """

    def __init__(
        self,
        api_key: str | None = None,
        emulate: str = "0.27",
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        parse_delay: float = 0.0,
        embedder: Embedder | None = None,
        llms: Iterable[str] = (),
    ) -> None:
        emulate = str(emulate).lstrip("v")
        emulate = ".".join(emulate.split(".")[:2])
        if emulate not in EMULATED:
            raise ValueError(f"emulate must be one of {sorted(EMULATED)}, not {emulate!r}")
        if bool(ssl_certfile) != bool(ssl_keyfile):
            raise ValueError("TLS needs both ssl_certfile and ssl_keyfile")
        self.emulate = emulate
        self.api_key = api_key or f"ragflow-local-{secrets.token_hex(16)}"
        self.host = host
        self.port = port
        self.ssl_certfile = ssl_certfile
        self.ssl_keyfile = ssl_keyfile
        self.embedder: Embedder = embedder or HashingEmbedder()
        # chat model names a chat's or a request's `llm_id` may use (the default is always there)
        self.llms: tuple[str, ...] = tuple(dict.fromkeys([DEFAULT_LLM, *llms]))
        self.version = _package_version()
        self.emulated_version = EMULATED[emulate]
        self._parse_delay = float(parse_delay)
        self._data_dir = Path(data_dir) if data_dir else None
        self._temp_dir: str | None = None
        self._faults = FaultRegistry()
        self._thread: threading.Thread | None = None
        self._uvicorn: Any = None
        self._state: Any = None
        self._sock: socket.socket | None = None

    # ---------------------------------------------------------------- descriptive
    @property
    def description(self) -> str:
        return (
            f"ragflow_integrations.testing.LocalRAGFlowServer {self.version} emulating "
            f"RAGFlow {self.emulated_version}"
        )

    @property
    def stand_in_header(self) -> str:
        return f"ragflow_integrations.testing/{self.version}; emulates {self.emulated_version}"

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_certfile else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def data_dir(self) -> Path | None:
        return self._data_dir or (Path(self._temp_dir) if self._temp_dir else None)

    @property
    def parse_delay(self) -> float:
        return self._parse_delay

    @parse_delay.setter
    def parse_delay(self, value: float) -> None:
        self._parse_delay = max(0.0, float(value))
        if self._state is not None:
            self._state.parse_delay = self._parse_delay

    def __repr__(self) -> str:  # never shows the key
        return f"<LocalRAGFlowServer {self.base_url} emulating {self.emulated_version}>"

    # ---------------------------------------------------------------- faults
    def inject_fault(
        self,
        path: str,
        method: str = "*",
        status: int | None = None,
        retry_after: float | str | None = None,
        latency: float = 0.0,
        drop_connection: bool = False,
        cut_stream_after: int | None = None,
        body: str | None = None,
        times: int | None = None,
    ) -> int:
        """Make requests whose path (after ``/api/v1``, fnmatch glob) matches misbehave.

        One fault kind per call: ``status`` (+ ``retry_after``, + raw ``body``), ``latency``
        (seconds added, then the normal answer), ``drop_connection`` (socket closed, no
        response), ``cut_stream_after`` (socket closed after N SSE events). ``times=N`` limits
        the fault to the next N matching requests. Returns the fault id.
        """
        return self._faults.add(
            path,
            method,
            status,
            retry_after,
            latency,
            drop_connection,
            cut_stream_after,
            body,
            times,
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    # ---------------------------------------------------------------- life cycle
    def start(self) -> LocalRAGFlowServer:
        if self._thread is not None:
            return self
        import uvicorn

        from .app import build_app
        from .routes._common import ServerState
        from .store import Store
        from .worker import ParseWorker

        if self._data_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="ragflow-local-")
        atexit.register(self.stop)  # a server never stopped leaves no thread state or temp dir
        directory = self.data_dir
        assert directory is not None
        directory.mkdir(parents=True, exist_ok=True)
        store = Store(directory / "ragflow-local.sqlite3", self.embedder)
        self._recover_interrupted(store)
        worker = ParseWorker(store, lambda: self._parse_delay)
        name = getattr(self.embedder, "name", None) or "local-embedder@Builtin"
        self._state = ServerState(
            store=store,
            worker=worker,
            api_key=self.api_key,
            emulate=self.emulate,
            version=self.emulated_version,
            stand_in=self.stand_in_header,
            parse_delay=self._parse_delay,
            extra={"embedding_model": name},
            llms=frozenset(self.llms),
        )
        app = build_app(self._state, self._faults)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit this: without it keep-alive clients wait ~40 ms per request
        # (Nagle on the two-part response meets the client's delayed ACK)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="h11",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run,
            kwargs={"sockets": [sock]},
            name="ragflow-local-http",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the local RAGFlow server failed to start")
            time.sleep(0.005)
        return self

    @staticmethod
    def _recover_interrupted(store: Any) -> None:
        for doc in store.all("document"):
            if doc.get("run") == "RUNNING":
                store.delete_document_chunks(doc["id"])
                doc.update(
                    {
                        "run": "FAIL",
                        "progress": -1.0,
                        "chunk_count": 0,
                        "token_count": 0,
                        "progress_msg": (doc.get("progress_msg") or "")
                        + "\n[ERROR]Interrupted: the local server stopped while parsing.",
                    }
                )
                store.put("document", doc)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._state is not None:
            self._state.worker.stop()
            self._state.store.close()
        if self._sock is not None:
            self._sock.close()
        self._thread = self._uvicorn = self._state = self._sock = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> LocalRAGFlowServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
