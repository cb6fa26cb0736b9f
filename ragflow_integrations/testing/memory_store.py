"""Storage of memories and their messages (RAGFlow v0.24+ "memory"), next to the main store.

Memories are rows of their own table; messages live in a second table with their embedding and
in an FTS5 index of their content, all in the main store's SQLite file and under its lock, so a
server restarted on the same ``data_dir`` sees them again. The whole message set is also kept in
memory (messages are small and few next to chunks) for filtering and ordering.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from .store import Store, query_terms

Json = dict[str, Any]
FLOAT_SIZE = sys.getsizeof(0.5)  # what one embedding value weighs in RAGFlow's size accounting


class MemoryStore:
    """Memories (by id) and their messages (by memory id, then message id)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = store.lock
        self.db = store.db
        with self.lock:
            self.db.executescript(
                """
                CREATE TABLE IF NOT EXISTS memories (id TEXT PRIMARY KEY, data TEXT);
                CREATE TABLE IF NOT EXISTS memory_messages (rowid INTEGER PRIMARY KEY,
                    memory_id TEXT, message_id INTEGER, data TEXT, vector BLOB);
                CREATE VIRTUAL TABLE IF NOT EXISTS memory_messages_fts USING fts5(
                    text, memory_id UNINDEXED, tokenize='porter unicode61');
                """
            )
            self.memories: dict[str, Json] = {}
            self.messages: dict[str, dict[int, Json]] = {}
            for (data,) in self.db.execute("SELECT data FROM memories"):
                memory = json.loads(data)
                self.memories[memory["id"]] = memory
            rows = self.db.execute("SELECT rowid, memory_id, data FROM memory_messages")
            self.last_id = 1  # RAGFlow's id sequence starts at 1 and hands out 2 first
            for rowid, memory_id, data in rows:
                message = json.loads(data)
                message["_rowid"] = rowid
                self.messages.setdefault(memory_id, {})[message["message_id"]] = message
                self.last_id = max(self.last_id, int(message["message_id"]))

    # ---------------------------------------------------------------- memories
    def put_memory(self, memory: Json) -> Json:
        with self.lock:
            self.memories[memory["id"]] = memory
            self.db.execute(
                "INSERT OR REPLACE INTO memories (id, data) VALUES (?, ?)",
                (memory["id"], json.dumps(memory, ensure_ascii=False)),
            )
        return memory

    def get_memory(self, memory_id: Any) -> Json | None:
        return self.memories.get(memory_id) if isinstance(memory_id, str) else None

    def all_memories(self) -> list[Json]:
        with self.lock:
            return list(self.memories.values())

    def delete_memory(self, memory_id: str) -> None:
        with self.lock:
            self.delete_messages(memory_id, list(self.messages.get(memory_id, {})))
            self.messages.pop(memory_id, None)
            self.memories.pop(memory_id, None)
            self.db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))

    # ---------------------------------------------------------------- messages
    def next_message_id(self) -> int:
        """The next id of the one sequence all memories share (RAGFlow keeps it in Redis)."""
        with self.lock:
            self.last_id += 1
            return self.last_id

    def messages_of(self, memory_id: str) -> list[Json]:
        with self.lock:
            return list(self.messages.get(memory_id, {}).values())

    def get_message(self, memory_id: str, message_id: Any) -> Json | None:
        try:
            key = int(str(message_id))
        except ValueError:
            return None
        if str(key) != str(message_id):  # RAGFlow looks the document up by "<memory>_<id>"
            return None
        return self.messages.get(memory_id, {}).get(key)

    @staticmethod
    def message_size(content: str, dim: int) -> int:
        """RAGFlow's size of a message: the content string object plus its embedding floats."""
        return sys.getsizeof(content) + FLOAT_SIZE * dim

    def memory_size(self, memory_id: str) -> int:
        """Bytes taken by every message of a memory, forgotten ones included."""
        dim = self.store.dim
        return sum(self.message_size(m["content"], dim) for m in self.messages_of(memory_id))

    def insert_messages(self, memory_id: str, messages: list[Json]) -> None:
        """Embed and store messages (dicts with every public field set)."""
        vectors = self.store.embed([m["content"] for m in messages])
        with self.lock:
            self.db.execute("BEGIN")
            try:
                for message, vector in zip(messages, vectors, strict=True):
                    stored = {k: v for k, v in message.items() if k != "_rowid"}
                    cur = self.db.execute(
                        "INSERT INTO memory_messages (memory_id, message_id, data, vector) "
                        "VALUES (?, ?, ?, ?)",
                        (
                            memory_id,
                            message["message_id"],
                            json.dumps(stored, ensure_ascii=False),
                            vector.tobytes(),
                        ),
                    )
                    message["_rowid"] = cur.lastrowid
                    self.db.execute(
                        "INSERT INTO memory_messages_fts (rowid, text, memory_id) VALUES (?, ?, ?)",
                        (cur.lastrowid, message["content"], memory_id),
                    )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            bucket = self.messages.setdefault(memory_id, {})
            for message in messages:
                bucket[message["message_id"]] = message

    def update_message(self, memory_id: str, message_id: int, changes: Json) -> bool:
        """Change fields of one message; False when there is no such message."""
        with self.lock:
            message = self.messages.get(memory_id, {}).get(message_id)
            if message is None:
                return False
            message.update(changes)
            stored = {k: v for k, v in message.items() if k != "_rowid"}
            self.db.execute(
                "UPDATE memory_messages SET data = ? WHERE rowid = ?",
                (json.dumps(stored, ensure_ascii=False), message["_rowid"]),
            )
            return True

    def delete_messages(self, memory_id: str, message_ids: list[int]) -> int:
        removed = 0
        with self.lock:
            bucket = self.messages.get(memory_id, {})
            for message_id in message_ids:
                message = bucket.pop(message_id, None)
                if message is None:
                    continue
                removed += 1
                self.db.execute("DELETE FROM memory_messages WHERE rowid = ?", (message["_rowid"],))
                self.db.execute(
                    "DELETE FROM memory_messages_fts WHERE rowid = ?", (message["_rowid"],)
                )
        return removed

    def vector(self, message: Json) -> list[float]:
        """The stored embedding of a message, as plain floats."""
        with self.lock:
            row = self.db.execute(
                "SELECT vector FROM memory_messages WHERE rowid = ?", (message["_rowid"],)
            ).fetchone()
        if row is None:
            return []
        return [float(v) for v in np.frombuffer(row[0], dtype=np.float32)]

    def text_matches(self, question: str, memory_ids: list[str]) -> set[tuple[str, int]]:
        """(memory id, message id) of the messages whose content has any query word (FTS5)."""
        terms = query_terms(question)
        if not terms or not memory_ids:
            return set()
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        marks = ",".join("?" for _ in memory_ids)
        with self.lock:
            rows = self.db.execute(
                f"SELECT rowid, memory_id FROM memory_messages_fts "
                f"WHERE memory_messages_fts MATCH ? AND memory_id IN ({marks})",
                (match, *memory_ids),
            ).fetchall()
            by_rowid = {
                m["_rowid"]: m["message_id"]
                for memory_id in memory_ids
                for m in self.messages.get(memory_id, {}).values()
            }
        return {(memory_id, by_rowid[rowid]) for rowid, memory_id in rows if rowid in by_rowid}


def memory_store(state_extra: dict[str, Any], store: Store) -> MemoryStore:
    """The server's memory store, created on first use (kept in ``ServerState.extra``)."""
    found = state_extra.get("memory_store")
    if not isinstance(found, MemoryStore):
        found = state_extra["memory_store"] = MemoryStore(store)
    return found
