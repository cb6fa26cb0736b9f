"""docs/langchain.md: every snippet runs as written, in order, against the local server.

Only the placeholders the text names (``<dataset id>``, ``<doc id>``, ``<chat id>``) are filled
in; each ``index(...)`` line must return the result written in the comment under it, and the
LangGraph snippet's thread must be stored in the memory, both turns in order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ragflow_integrations import RAGFlow
from ragflow_integrations.langchain import RAGFlowChatMessageHistory
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

DOC = Path(__file__).resolve().parents[2] / "docs" / "langchain.md"
INDEX_CALL = re.compile(r"^(index\(.*\))\n# (\{.*\})$", re.M)


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_snippet_runs_in_order_with_the_commented_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with LocalRAGFlowServer() as server:
        monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
        with RAGFlow() as client:
            dataset = client.create_dataset(name="docs")
            uploaded = dataset.upload_documents(
                [
                    {
                        "display_name": "password.txt",
                        "blob": b"To reset your password click Reset password in Settings.",
                        "meta_fields": {"topic": "faq"},
                    },
                    {
                        "display_name": "refunds.txt",
                        "blob": b"Refunds are issued within 14 days; see the refund policy.",
                        "meta_fields": {"topic": "billing"},
                    },
                ]
            )
            dataset.parse_documents([d.id for d in uploaded], timeout=60, poll_interval=0.05)
            chat = client.create_chat("Help", dataset_ids=[dataset.id])
        placeholders = {
            "<dataset id>": dataset.id,
            "<doc id>": uploaded[0].id,
            "<chat id>": chat.id,
        }
        results: list[tuple[Any, Any]] = []
        namespace: dict[str, Any] = {"_record": results}
        for number, block in enumerate(_blocks()):
            for placeholder, value in placeholders.items():
                block = block.replace(placeholder, value)
            block = INDEX_CALL.sub(r"_record.append((\1, \2))", block)
            exec(compile(block, f"{DOC.name} snippet {number}", "exec"), namespace)
        thread = RAGFlowChatMessageHistory(namespace["memory"].id, "user-43").messages
    assert [(m.type, m.content) for m in thread][::2] == [  # the LangGraph thread, stored
        ("human", "How do I reset my password?"),
        ("human", "And how long do refunds take?"),
    ]
    assert [m.type for m in thread[1::2]] == ["ai", "ai"] and all(m.content for m in thread[1::2])
    assert len(results) == 2
    assert [got for got, _ in results] == [want for _, want in results]  # the comments hold
    assert [got for got, _ in results] == [
        {"num_added": 3, "num_updated": 0, "num_skipped": 0, "num_deleted": 0},
        {"num_added": 0, "num_updated": 0, "num_skipped": 3, "num_deleted": 0},
    ]
