"""The parse worker: one background thread that turns queued documents into chunks."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._util import chunk_id_for, new_id, now_ms
from .parsing import ParseFailure, chunk_document, word_count
from .store import Json, Store

EMBED_BATCH = 256
log = logging.getLogger("ragflow_integrations.testing")


def log_line(message: str) -> str:
    return time.strftime("%H:%M:%S") + " " + message


class ParseWorker:
    """Runs documents UNSTART → RUNNING → DONE / FAIL / CANCEL on a daemon thread."""

    def __init__(self, store: Store, parse_delay: Callable[[], float]) -> None:
        self.store = store
        self.parse_delay = parse_delay
        self._queue: deque[tuple[str, str]] = deque()
        self._tokens: dict[str, str] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ragflow-local-parse", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- API side
    def submit(self, document_id: str) -> None:
        token = new_id()
        with self._cond:
            self._tokens[document_id] = token
            self._queue.append((document_id, token))
            self._cond.notify()

    def cancel(self, document_id: str) -> None:
        with self._cond:
            self._tokens.pop(document_id, None)

    def is_current(self, document_id: str, token: str) -> bool:
        with self._cond:
            return self._tokens.get(document_id) == token

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    # ---------------------------------------------------------------- worker side
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                document_id, token = self._queue.popleft()
            try:
                self._parse(document_id, token)
            except Exception as exc:  # never let the worker die
                if self._stopping:  # the store may already be closed
                    return
                try:
                    self._finish(
                        document_id, token, failed=f"Internal error while parsing: {exc!r}"
                    )
                except Exception:
                    log.exception("parse worker could not record a failure")

    def _update(self, document_id: str, token: str, **fields: Any) -> Json | None:
        with self.store.lock:
            if not self.is_current(document_id, token):
                return None
            doc = self.store.get("document", document_id)
            if doc is None:
                return None
            message = fields.pop("message", None)
            if message:
                if fields.pop("paged", True) and doc.get("_pages"):
                    message = f"Page({doc['_pages']}): {message}"
                doc["progress_msg"] = (doc.get("progress_msg") or "") + "\n" + log_line(message)
            doc.update(fields)
            self.store.put("document", doc)
            return doc

    def _sleep(
        self, seconds: float, document_id: str, token: str, progress: tuple[float, float]
    ) -> bool:
        """Simulated work in small steps, moving ``progress`` from its first to its second value
        (updated every 0.1 s); False when the task was cancelled meanwhile."""
        started = time.monotonic()
        deadline = started + seconds
        next_update = started + 0.1
        low, high = progress
        while True:
            if not self.is_current(document_id, token) or self._stopping:
                return False
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                return True
            if now >= next_update:
                done = (now - started) / seconds
                self._update(document_id, token, progress=round(low + (high - low) * done, 3))
                next_update = now + 0.1
            time.sleep(min(0.02, left))

    def _finish(self, document_id: str, token: str, *, failed: str) -> None:
        self._update(document_id, token, run="FAIL", progress=-1.0, message=f"[ERROR]{failed}")
        self.cancel(document_id)

    @staticmethod
    def _seconds(since: float) -> str:
        return f"{max(time.monotonic() - since, 0.01):.2f}s"

    def _parse(self, document_id: str, token: str) -> None:
        started = time.monotonic()
        doc = self._update(
            document_id, token, progress=0.01, message="Task has been received.", paged=False
        )
        if doc is None:
            return
        self._update(document_id, token, progress=0.1, message="Start to parse.")
        delay = max(0.0, float(self.parse_delay()))
        if delay and not self._sleep(delay / 2, document_id, token, (0.1, 0.4)):
            return
        blob = self.store.get_blob(document_id)
        if blob is None:
            self._finish(document_id, token, failed="The stored file is missing.")
            return
        try:
            texts = chunk_document(
                doc["name"],
                blob,
                doc.get("parser_config") or {},
                old=doc.get("_style") == "0.22",
                chunk_method=str(doc.get("chunk_method") or "naive"),
            )
        except ParseFailure as exc:
            self._finish(document_id, token, failed=str(exc))
            return
        self._update(document_id, token, progress=0.4, message="Finish parsing.")
        doc = self._update(document_id, token, message=f"Generate {len(texts)} chunks")
        if doc is None:
            return
        if delay and not self._sleep(delay / 2, document_id, token, (0.4, 0.8)):
            return
        stamp_ms = now_ms()
        chunks: list[Json] = []
        seen: set[str] = set()
        for text in texts:
            cid = chunk_id_for(text, document_id)
            if cid in seen:
                continue
            seen.add(cid)
            chunks.append(
                {
                    "id": cid,
                    "content": text,
                    "document_id": document_id,
                    "dataset_id": doc["dataset_id"],
                    "important_keywords": [],
                    "questions": [],
                    "tag_kwd": [],
                    "available": True,
                    "positions": [],
                    "image_id": "",
                    "doc_type_kwd": "text",
                    "create_time": time.strftime(
                        "%Y-%m-%d %H:%M:%S", time.localtime(stamp_ms / 1000)
                    ),
                    "create_timestamp": stamp_ms / 1000,
                }
            )
        vectors = []
        for i in range(0, len(chunks), EMBED_BATCH):
            if not self.is_current(document_id, token):
                return
            batch = chunks[i : i + EMBED_BATCH]
            vectors.append(self.store.embed([self.store.embed_text(c) for c in batch]))
            if len(chunks) > EMBED_BATCH:
                self._update(
                    document_id,
                    token,
                    progress=round(0.8 + 0.15 * (i + len(batch)) / len(chunks), 3),
                )
        import numpy as np

        self._update(document_id, token, message=f"Embedding chunks ({self._seconds(started)})")
        indexing = time.monotonic()
        with self.store.lock:
            if not self.is_current(document_id, token):
                return
            self.store.delete_document_chunks(document_id)
            if chunks:
                self.store.add_chunks(chunks, np.vstack(vectors))
            if chunks:
                self._update(
                    document_id, token, message=f"Indexing done ({self._seconds(indexing)})."
                )
                message = f"Task done ({self._seconds(started)})"
            else:
                message = f"No chunk built from {doc['name']}"
            self._update(
                document_id,
                token,
                run="DONE",
                progress=1.0,
                chunk_count=len(chunks),
                token_count=sum(word_count(c["content"]) for c in chunks),
                process_duration=max(round(time.monotonic() - started, 3), 0.001),
                message=message,
            )
            self.cancel(document_id)
