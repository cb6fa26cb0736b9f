"""Storage of the local server: SQLite (entities, files, chunks, FTS5) plus in-memory vectors.

Everything is kept in memory for fast reads and written through to one SQLite file, so a server
started on the same ``data_dir`` sees the same datasets, documents and chunks. One re-entrant lock
guards the connection and the in-memory state (uvicorn's loop thread and the parse worker use it).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .embedding import STOPWORDS, Embedder, Matrix, normalise_rows

Json = dict[str, Any]
__all__ = ["STOPWORDS", "Hit", "Store", "VectorIndex", "query_terms"]

KINDS = ("dataset", "document", "chat", "session", "agent", "agent_session", "agent_version")
PARENT_KEY = {"document": "dataset_id", "session": "chat_id", "agent_session": "agent_id"}

_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(question: str) -> list[str]:
    """Distinct lower-case query words without stop words (the FTS and highlight terms)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


class VectorIndex:
    """Vectors of one dataset in a growable numpy matrix with per-row filters."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.ids: list[str | None] = []
        self.pos: dict[str, int] = {}
        self.matrix: Matrix = np.zeros((64, dim), dtype=np.float32)
        self.alive = np.zeros(64, dtype=bool)
        self.available = np.zeros(64, dtype=bool)
        self.doc_code = np.zeros(64, dtype=np.int32)
        self.doc_codes: dict[str, int] = {}
        self.dead = 0

    def _grow(self, needed: int) -> None:
        capacity = self.matrix.shape[0]
        if needed <= capacity:
            return
        new_cap = max(needed, capacity * 2)
        for name in ("matrix", "alive", "available", "doc_code"):
            old = getattr(self, name)
            shape = (new_cap, self.dim) if name == "matrix" else (new_cap,)
            grown = np.zeros(shape, dtype=old.dtype)
            grown[: len(self.ids)] = old[: len(self.ids)]
            setattr(self, name, grown)

    def code(self, document_id: str) -> int:
        return self.doc_codes.setdefault(document_id, len(self.doc_codes))

    def add(
        self, ids: Sequence[str], doc_ids: Sequence[str], available: Sequence[bool], vectors: Matrix
    ) -> None:
        for cid in ids:
            if cid in self.pos:
                self.remove([cid])
        start = len(self.ids)
        self._grow(start + len(ids))
        end = start + len(ids)
        self.matrix[start:end] = vectors
        self.alive[start:end] = True
        self.available[start:end] = available
        self.doc_code[start:end] = [self.code(d) for d in doc_ids]
        for offset, cid in enumerate(ids):
            self.ids.append(cid)
            self.pos[cid] = start + offset

    def remove(self, ids: Iterable[str]) -> None:
        for cid in ids:
            row = self.pos.pop(cid, None)
            if row is not None:
                self.ids[row] = None
                self.alive[row] = False
                self.dead += 1
        if self.dead > 1024 and self.dead > len(self.ids) // 2:
            self._compact()

    def _compact(self) -> None:
        keep = [i for i, cid in enumerate(self.ids) if cid is not None]
        idx = np.array(keep, dtype=np.int64)
        n = len(keep)
        self.matrix[:n] = self.matrix[idx]
        self.available[:n] = self.available[idx]
        self.doc_code[:n] = self.doc_code[idx]
        self.alive[:n] = True
        self.alive[n:] = False
        self.ids = [self.ids[i] for i in keep]
        self.pos = {cid: i for i, cid in enumerate(self.ids) if cid is not None}
        self.dead = 0

    def set_vector(self, cid: str, vector: Matrix) -> None:
        row = self.pos.get(cid)
        if row is not None:
            self.matrix[row] = vector

    def set_available(self, cid: str, value: bool) -> None:
        row = self.pos.get(cid)
        if row is not None:
            self.available[row] = value

    def eligible(
        self, doc_filter: set[str] | None, disabled_docs: set[str]
    ) -> npt.NDArray[np.bool_]:
        n = len(self.ids)
        mask = self.alive[:n] & self.available[:n]
        if doc_filter is not None:
            codes = [self.doc_codes[d] for d in doc_filter if d in self.doc_codes]
            mask &= np.isin(self.doc_code[:n], np.array(codes, dtype=np.int32))
        off = [self.doc_codes[d] for d in disabled_docs if d in self.doc_codes]
        if off:
            mask &= ~np.isin(self.doc_code[:n], np.array(off, dtype=np.int32))
        return mask


@dataclass
class Hit:
    """One retrieved chunk with its scores."""

    chunk: Json
    similarity: float
    vector_similarity: float
    term_similarity: float


class Store:
    """Entities, file bytes, chunks, the FTS5 index and per-dataset vector indexes."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.lock = threading.RLock()
        self.embedder = embedder
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS entities (kind TEXT, id TEXT, data TEXT,
                PRIMARY KEY (kind, id));
            CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, content BLOB);
            CREATE TABLE IF NOT EXISTS chunks (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE,
                dataset_id TEXT, document_id TEXT, data TEXT, vector BLOB);
            CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
                text, chunk_id UNINDEXED, dataset_id UNINDEXED, tokenize='porter unicode61');
            """
        )
        self.entities: dict[str, dict[str, Json]] = {kind: {} for kind in KINDS}
        self.chunks: dict[str, Json] = {}
        self.doc_chunks: dict[str, dict[str, None]] = {}
        self.indexes: dict[str, VectorIndex] = {}
        self._dim: int | None = None
        self._load()

    # ---------------------------------------------------------------- loading
    def _load(self) -> None:
        for kind, data in self.db.execute("SELECT kind, data FROM entities"):
            obj = json.loads(data)
            self.entities.setdefault(kind, {})[obj["id"]] = obj
        rows = self.db.execute("SELECT rowid, data, vector FROM chunks ORDER BY rowid").fetchall()
        by_dataset: dict[str, list[tuple[Json, bytes]]] = {}
        for rowid, data, vector in rows:
            chunk = json.loads(data)
            chunk["_rowid"] = rowid
            self.chunks[chunk["id"]] = chunk
            self.doc_chunks.setdefault(chunk["document_id"], {})[chunk["id"]] = None
            by_dataset.setdefault(chunk["dataset_id"], []).append((chunk, vector))
        for dataset_id, items in by_dataset.items():
            vectors = [np.frombuffer(v, dtype=np.float32) for _, v in items]
            dims = {len(v) for v in vectors}
            if len(dims) == 1 and dims == {self.dim}:
                matrix = np.vstack(vectors)
            else:  # embedder changed since the data was written: embed again
                matrix = self.embed([self.embed_text(c) for c, _ in items])
            self._index(dataset_id).add(
                [c["id"] for c, _ in items],
                [c["document_id"] for c, _ in items],
                [bool(c.get("available", True)) for c, _ in items],
                matrix,
            )

    # ---------------------------------------------------------------- vectors
    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self._dim or 1), dtype=np.float32)
        matrix = np.asarray(self.embedder.embed(list(texts)), dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts):
            raise ValueError("embedder must return an array of shape (len(texts), dim)")
        return normalise_rows(matrix)

    def _index(self, dataset_id: str) -> VectorIndex:
        index = self.indexes.get(dataset_id)
        if index is None:
            index = self.indexes[dataset_id] = VectorIndex(self.dim)
        return index

    @staticmethod
    def embed_text(chunk: Json) -> str:
        """Questions, when present, are embedded instead of the content (as RAGFlow does)."""
        questions = chunk.get("questions") or []
        if questions:
            return "\n".join(str(q) for q in questions)
        keywords = " ".join(str(k) for k in chunk.get("important_keywords") or [])
        return f"{chunk['content']} {keywords}".strip()

    @staticmethod
    def _fts_text(chunk: Json) -> str:
        extra = list(chunk.get("important_keywords") or []) + list(chunk.get("questions") or [])
        return " ".join([chunk["content"], *map(str, extra)])

    # ---------------------------------------------------------------- entities
    def put(self, kind: str, obj: Json) -> Json:
        with self.lock:
            self.entities[kind][obj["id"]] = obj
            self.db.execute(
                "INSERT OR REPLACE INTO entities (kind, id, data) VALUES (?, ?, ?)",
                (kind, obj["id"], json.dumps(obj, ensure_ascii=False)),
            )
        return obj

    def get(self, kind: str, obj_id: str | None) -> Json | None:
        if not obj_id:
            return None
        return self.entities[kind].get(obj_id)

    def delete(self, kind: str, obj_id: str) -> None:
        with self.lock:
            self.entities[kind].pop(obj_id, None)
            self.db.execute("DELETE FROM entities WHERE kind = ? AND id = ?", (kind, obj_id))

    def all(self, kind: str, parent: str | None = None) -> list[Json]:
        """Objects of a kind (optionally of one parent) in creation order."""
        with self.lock:
            items = list(self.entities[kind].values())
        if parent is not None:
            key = PARENT_KEY[kind]
            items = [o for o in items if o.get(key) == parent]
        items.sort(key=lambda o: o.get("create_time", 0))
        return items

    # ---------------------------------------------------------------- file bytes
    def put_blob(self, obj_id: str, content: bytes) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO blobs (id, content) VALUES (?, ?)", (obj_id, content)
            )

    def get_blob(self, obj_id: str) -> bytes | None:
        with self.lock:
            row = self.db.execute("SELECT content FROM blobs WHERE id = ?", (obj_id,)).fetchone()
        return bytes(row[0]) if row else None

    def delete_blob(self, obj_id: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM blobs WHERE id = ?", (obj_id,))

    # ---------------------------------------------------------------- chunks
    def chunks_of(self, document_id: str) -> list[Json]:
        with self.lock:
            ids = list(self.doc_chunks.get(document_id, {}))
            return [self.chunks[c] for c in ids if c in self.chunks]

    def add_chunks(self, chunks: list[Json], vectors: Matrix | None = None) -> None:
        """Insert (or replace, same id) chunks of one dataset; embeds them unless given vectors."""
        if not chunks:
            return
        if vectors is None:
            vectors = self.embed([self.embed_text(c) for c in chunks])
        with self.lock:
            replaced = [c["id"] for c in chunks if c["id"] in self.chunks]
            if replaced:
                self.delete_chunks(replaced)
            self.db.execute("BEGIN")
            try:
                for chunk, vector in zip(chunks, vectors, strict=True):
                    stored = {k: v for k, v in chunk.items() if not k.startswith("_")}
                    cur = self.db.execute(
                        "INSERT INTO chunks (id, dataset_id, document_id, data, vector) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            chunk["id"],
                            chunk["dataset_id"],
                            chunk["document_id"],
                            json.dumps(stored, ensure_ascii=False),
                            vector.tobytes(),
                        ),
                    )
                    chunk["_rowid"] = cur.lastrowid
                    self.db.execute(
                        "INSERT INTO chunks_fts (rowid, text, chunk_id, dataset_id) "
                        "VALUES (?, ?, ?, ?)",
                        (cur.lastrowid, self._fts_text(chunk), chunk["id"], chunk["dataset_id"]),
                    )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            by_dataset: dict[str, list[int]] = {}
            for i, chunk in enumerate(chunks):
                self.chunks[chunk["id"]] = chunk
                self.doc_chunks.setdefault(chunk["document_id"], {})[chunk["id"]] = None
                by_dataset.setdefault(chunk["dataset_id"], []).append(i)
            for dataset_id, rows in by_dataset.items():
                self._index(dataset_id).add(
                    [chunks[i]["id"] for i in rows],
                    [chunks[i]["document_id"] for i in rows],
                    [bool(chunks[i].get("available", True)) for i in rows],
                    vectors[rows],
                )

    def update_chunk(self, chunk: Json, *, reembed: bool) -> None:
        """Persist a modified chunk; re-embed and re-index its text when it changed."""
        with self.lock:
            stored = {k: v for k, v in chunk.items() if not k.startswith("_")}
            params: list[Any] = [json.dumps(stored, ensure_ascii=False)]
            sql = "UPDATE chunks SET data = ?"
            index = self._index(chunk["dataset_id"])
            if reembed:
                vector = self.embed([self.embed_text(chunk)])[0]
                index.set_vector(chunk["id"], vector)
                sql += ", vector = ?"
                params.append(vector.tobytes())
                self.db.execute(
                    "UPDATE chunks_fts SET text = ? WHERE rowid = ?",
                    (self._fts_text(chunk), chunk["_rowid"]),
                )
            self.db.execute(sql + " WHERE id = ?", (*params, chunk["id"]))
            index.set_available(chunk["id"], bool(chunk.get("available", True)))

    def delete_chunks(self, chunk_ids: Iterable[str]) -> int:
        removed = 0
        with self.lock:
            for cid in list(chunk_ids):
                chunk = self.chunks.pop(cid, None)
                if chunk is None:
                    continue
                removed += 1
                self.doc_chunks.get(chunk["document_id"], {}).pop(cid, None)
                self.db.execute("DELETE FROM chunks WHERE id = ?", (cid,))
                self.db.execute("DELETE FROM chunks_fts WHERE rowid = ?", (chunk["_rowid"],))
                index = self.indexes.get(chunk["dataset_id"])
                if index is not None:
                    index.remove([cid])
        return removed

    def delete_document_chunks(self, document_id: str) -> int:
        with self.lock:
            return self.delete_chunks(list(self.doc_chunks.get(document_id, {})))

    # ---------------------------------------------------------------- retrieval
    def term_scores(
        self, question: str, dataset_ids: Sequence[str], limit: int
    ) -> dict[str, float]:
        """BM25 over FTS5, normalised to 0..1 by the best score of this query."""
        terms = query_terms(question)
        if not terms or not dataset_ids:
            return {}
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        marks = ",".join("?" for _ in dataset_ids)
        with self.lock:
            rows = self.db.execute(
                f"SELECT chunk_id, bm25(chunks_fts) AS score FROM chunks_fts "
                f"WHERE chunks_fts MATCH ? AND dataset_id IN ({marks}) ORDER BY score LIMIT ?",
                (match, *dataset_ids, limit),
            ).fetchall()
        if not rows:
            return {}
        best = max(-score for _, score in rows) or 1.0
        return {cid: max(0.0, -score) / best for cid, score in rows}

    def search(
        self,
        *,
        question: str,
        dataset_ids: Sequence[str],
        doc_filter: set[str] | None,
        disabled_docs: set[str],
        top_k: int,
        threshold: float,
        weight: float,
    ) -> list[Hit]:
        """Hybrid retrieval: ``(1 - weight) * term + weight * vector``, best first, thresholded.

        Candidates are the ``top_k`` chunks by vector similarity plus every chunk with a
        full-text match (as RAGFlow's fused search does), ranked by the hybrid score.
        """
        qvec = self.embed([question])[0]
        terms = self.term_scores(question, dataset_ids, limit=max(2048, top_k))
        owners: list[VectorIndex] = []
        row_parts: list[npt.NDArray[np.intp]] = []
        vector_parts: list[npt.NDArray[np.float32]] = []
        term_parts: list[npt.NDArray[np.float32]] = []
        with self.lock:
            for dataset_id in dataset_ids:
                index = self.indexes.get(dataset_id)
                if index is None or not index.ids:
                    continue
                rows = np.nonzero(index.eligible(doc_filter, disabled_docs))[0]
                if rows.size == 0:
                    continue
                n = len(index.ids)
                # a mat-vec over the contiguous block, then pick rows (no matrix copy)
                scores = np.einsum("ij,j->i", index.matrix[:n], qvec)  # no BLAS threads
                vector_parts.append(np.clip(scores[rows], 0.0, 1.0))
                term_full = np.zeros(n, dtype=np.float32)
                for cid, score in terms.items():
                    row = index.pos.get(cid)
                    if row is not None:
                        term_full[row] = score
                term_parts.append(term_full[rows])
                row_parts.append(rows)
                owners.append(index)
            if not row_parts:
                return []
            vector = np.concatenate(vector_parts)
            term = np.concatenate(term_parts)
            owner_of = np.concatenate(
                [np.full(len(r), i, dtype=np.intp) for i, r in enumerate(row_parts)]
            )
            row_of = np.concatenate(row_parts)
            ids = _LazyIds(owners, owner_of, row_of)
            hybrid = (1.0 - weight) * term + weight * vector
            total = len(hybrid)
            # candidates: the top_k rows by vector similarity plus every full-text match
            # (top_k is the vector-search pool; it does not limit the result count)
            k = min(max(1, top_k), total)
            if k < total:
                candidate = term > 0
                candidate[np.argpartition(-vector, k - 1)[:k]] = True
                pool = np.nonzero(candidate)[0]
            else:
                pool = np.arange(total)
            order = pool[np.argsort(-hybrid[pool], kind="stable")]
            hits: list[Hit] = []
            for i in order.tolist():
                sim = float(hybrid[i])
                if sim < threshold:
                    break
                hits.append(
                    Hit(
                        self.chunks[ids[i]],
                        round(sim, 6),
                        round(float(vector[i]), 6),
                        round(float(term[i]), 6),
                    )
                )
            return hits

    def close(self) -> None:
        with self.lock:
            self.db.close()


class _LazyIds:
    """Chunk ids of the concatenated candidate rows, resolved only for the rows asked for."""

    def __init__(
        self,
        owners: list[VectorIndex],
        owner_of: npt.NDArray[np.intp],
        row_of: npt.NDArray[np.intp],
    ) -> None:
        self.owners = owners
        self.owner_of = owner_of
        self.row_of = row_of

    def __getitem__(self, i: int) -> str:
        cid = self.owners[int(self.owner_of[i])].ids[int(self.row_of[i])]
        assert cid is not None
        return cid
