"""What the memory routes do with messages: saving, the extraction stand-in, forgetting, views.

RAGFlow stores a conversation turn as one "raw" message whose content is
``"User Input: {user_input}\\nAgent Response: {agent_response}"``; memories of other types
(semantic, episodic, procedural) also get messages an LLM extracts from the turn in a background
task. The local server has no LLM: :func:`extract` is a deterministic, rule-based stand-in (see
its docstring), run right after the raw message is saved, and the task it reports is done.

Wire shapes follow RAGFlow v0.27 on Elasticsearch (its default store): lists and searches turn
empty values into the string ``"None"`` (``source_id`` of a raw message, ``invalid_at``,
``forget_at``), the content route returns them as JSON ``null`` plus the embedding.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ._util import Json, new_id, now_ms
from .memory_store import MemoryStore

EXTRACTED_TYPES = ("semantic", "episodic", "procedural")
LISTED_FIELDS = (
    "message_id",
    "message_type",
    "source_id",
    "memory_id",
    "user_id",
    "agent_id",
    "session_id",
    "valid_at",
    "invalid_at",
    "forget_at",
    "status",
)
MAX_EXTRACTED = 5  # per type, as RAGFlow's extraction prompt asks
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S")
_PROCEDURE_START = re.compile(r"^(?:to|first|then|next|finally|step)\b", re.IGNORECASE)


def date_now() -> str:
    """RAGFlow's message time format (server local time, seconds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())


def turn_content(user_input: Any, agent_response: Any) -> str:
    return f"User Input: {user_input}\nAgent Response: {agent_response}"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def extract(memory_types: list[str], user_input: Any, agent_response: Any) -> list[tuple[str, str]]:
    """The stand-in for RAGFlow's LLM extraction: (message type, content) pairs.

    - semantic: the declarative sentences (four words or more, not questions) of the response;
    - episodic: one narrative line, "User asked: <first sentence>. Agent answered: <first
      sentence>.";
    - procedural: the numbered or bulleted lines of the response, and its sentences that start
      like an instruction ("To ...", "First", "Then", "Next", "Finally", "Step").

    At most five items per type, like RAGFlow's prompt; nothing for a raw-only memory.
    """
    question, answer = str(user_input or ""), str(agent_response or "")
    out: list[tuple[str, str]] = []
    if "semantic" in memory_types:
        facts = [s for s in _sentences(answer) if len(s.split()) >= 4 and not s.endswith("?")]
        out += [("semantic", s) for s in facts[:MAX_EXTRACTED]]
    if "episodic" in memory_types and (question.strip() or answer.strip()):
        asked = (_sentences(question) or [question.strip()])[0]
        answered = (_sentences(answer) or [answer.strip()])[0]
        out.append(("episodic", f"User asked: {asked} Agent answered: {answered}"))
    if "procedural" in memory_types:
        lines = [line.strip() for line in answer.splitlines() if _STEP.match(line)]
        lines += [s for s in _sentences(answer) if _PROCEDURE_START.match(s)]
        out += [("procedural", s) for s in list(dict.fromkeys(lines))[:MAX_EXTRACTED]]
    return out


def new_message(
    ms: MemoryStore, memory: Json, turn: Json, message_type: str, content: str, source_id: int
) -> Json:
    return {
        "message_id": ms.next_message_id(),
        "message_type": message_type,
        "source_id": source_id,
        "memory_id": memory["id"],
        "user_id": turn.get("user_id", ""),
        "agent_id": turn["agent_id"],
        "session_id": turn["session_id"],
        "valid_at": date_now(),
        "invalid_at": None,
        "forget_at": None,
        "status": True,
        "content": content,
    }


def _fifo_victims(ms: MemoryStore, memory_id: str, size_to_free: int) -> list[int]:
    """Forgotten messages first (oldest forgetting first), then the oldest messages."""
    dim = ms.store.dim
    messages = ms.messages_of(memory_id)
    forgotten = sorted((m for m in messages if m["forget_at"]), key=lambda m: m["forget_at"])
    alive = sorted(
        (m for m in messages if not m["forget_at"]),
        key=lambda m: (m["valid_at"], m["message_id"]),
    )
    freed, victims = 0, []
    for message in [*forgotten[:512], *alive[:512]]:
        if freed >= size_to_free:
            break
        freed += ms.message_size(message["content"], dim)
        victims.append(message["message_id"])
    return victims


def save(ms: MemoryStore, memory: Json, messages: list[Json]) -> tuple[bool, str]:
    """Store messages, first freeing room by the memory's forgetting policy when it is full."""
    dim = ms.store.dim
    new_size = sum(ms.message_size(m["content"], dim) for m in messages)
    current = ms.memory_size(memory["id"])
    if new_size + current > int(memory["memory_size"]):
        if memory.get("forgetting_policy") != "FIFO":
            return False, (
                "Failed to insert message into memory. Memory size reached limit and cannot "
                "decide which to delete."
            )
        size_to_free = current + new_size - int(memory["memory_size"])
        ms.delete_messages(memory["id"], _fifo_victims(ms, memory["id"], size_to_free))
    ms.insert_messages(memory["id"], messages)
    return True, "Message saved successfully."


def add_turn(ms: MemoryStore, memory: Json, turn: Json) -> tuple[bool, str]:
    """Save a turn's raw message, then the extracted ones (the finished "task")."""
    content = turn_content(turn.get("user_input"), turn.get("agent_response"))
    raw = new_message(ms, memory, turn, "raw", content, 0)
    ok, msg = save(ms, memory, [raw])
    if not ok:
        return False, msg
    types = [t for t in memory["memory_type"] if t in EXTRACTED_TYPES]
    task_log = [f"{date_now()} Memory '{memory['id']}' don't need to extract."]
    if types:
        items = extract(types, turn.get("user_input"), turn.get("agent_response"))
        extracted = [new_message(ms, memory, turn, t, c, raw["message_id"]) for t, c in items]
        if extracted:
            ok, saved = save(ms, memory, extracted)
            task_log = [
                f"{date_now()} Extracted {len(extracted)} messages from raw dialogue "
                "(local rule-based stand-in, no LLM).",
                f"{date_now()} {saved}",
            ]
        else:
            ok, task_log = True, [f"{date_now()} No memory extracted from raw dialogue."]
    task = {
        "id": new_id(),
        "doc_id": memory["id"],
        "from_page": 0,
        "progress": 1.0 if ok else -1.0,
        "progress_msg": "".join("\n" + line for line in task_log),
        "digest": str(raw["message_id"]),
        "chunk_ids": "",
        "create_time": now_ms(),
    }
    ms.update_message(memory["id"], raw["message_id"], {"_task": task})
    return True, msg


def _listed_value(name: str, value: Any) -> Any:
    """How RAGFlow's Elasticsearch reader returns a field in lists and searches."""
    if name == "source_id" and not value:
        value = None
    if name in ("message_id", "source_id", "status") and isinstance(value, (int, float, bool)):
        return value
    return value if isinstance(value, str) else str(value)


def listed_view(message: Json, *, with_content: bool) -> Json:
    """A message as the recent and search routes (with content) or the list (without) give it."""
    fields = (*LISTED_FIELDS, "content") if with_content else LISTED_FIELDS
    return {name: _listed_value(name, message.get(name)) for name in fields}


def content_view(ms: MemoryStore, message: Json) -> Json:
    """A message as ``GET /messages/{memory_id}:{message_id}/content`` returns it."""
    return {
        **{name: message.get(name) for name in LISTED_FIELDS[:7]},
        "source_id": message["source_id"] or None,
        "zone_id": 0,
        "valid_at": message["valid_at"],
        "invalid_at": message["invalid_at"],
        "forget_at": message["forget_at"],
        "status": bool(message["status"]),
        "content": message["content"],
        "content_embed": ms.vector(message),
        "id": f"{message['memory_id']}_{message['message_id']}",
    }


def newest_first(messages: list[Json]) -> list[Json]:
    return sorted(messages, key=lambda m: (m["valid_at"], m["message_id"]), reverse=True)


def matches(message: Json, *, agent_id: Any = "", session_id: Any = "", user_id: Any = "") -> bool:
    """RAGFlow's message filters: exact agent and user ids, session id as a substring."""
    if agent_id and str(message.get("agent_id")) != str(agent_id):
        return False
    if user_id and str(message.get("user_id")) != str(user_id):
        return False
    return not (session_id and str(session_id) not in str(message.get("session_id")))
