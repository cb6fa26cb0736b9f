"""A small corpus built through the public client, shared by the LangChain test modules.

Cassette tests build their fixture data inside the recorded flow: when recording, a fresh local
server answers; when replaying, the cassette answers the same calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from ragflow_integrations import RAGFlow
from ragflow_integrations.ingest import IngestItem, ingest_documents

TEXTS: dict[str, tuple[str, dict[str, Any]]] = {
    "passwords.txt": (
        "Resetting a password. Open the account page and choose 'Forgot password'. "
        "A reset link is emailed to you and stays valid for 30 minutes. "
        "Passwords must have at least 12 characters.",
        {"topic": "accounts", "year": 2024},
    ),
    "refunds.txt": (
        "Refund policy. Purchases can be refunded within 14 days of delivery. "
        "Refunds go back to the original payment method within five business days. "
        "Digital downloads cannot be refunded once opened.",
        {"topic": "billing", "year": 2023},
    ),
    "shipping.txt": (
        "Shipping times. Standard shipping takes three to five days; express shipping "
        "arrives the next business day. Orders placed after 2 pm ship the following day.",
        {"topic": "orders", "year": 2024},
    ),
    "security.txt": (
        "Account security. Two-factor authentication protects your account with a code "
        "from an authenticator app. Reset your password immediately if you suspect a "
        "breach, and review active sessions on the security page.",
        {"topic": "accounts", "year": 2025},
    ),
    "warranty.txt": (
        "Warranty. Hardware is covered for two years against manufacturing defects. "
        "The warranty does not cover accidental damage. Keep the receipt as proof of purchase.",
        {"topic": "billing", "year": 2025},
    ),
}
QUERY = "How do I reset my password?"


@dataclass
class Corpus:
    """Ids of the objects a test flow created."""

    base_url: str
    api_key: str
    dataset_id: str
    document_ids: dict[str, str] = field(default_factory=dict)
    chat_id: str | None = None

    @property
    def connection(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.api_key}


def build_corpus(
    server: Any, poll_interval: float, *, chat: bool = False, names: Sequence[str] = tuple(TEXTS)
) -> Corpus:
    """Create a dataset with the texts ``names`` parsed (and a chat assistant over it)."""
    with RAGFlow(api_key=server.api_key, base_url=server.base_url) as client:
        dataset = client.create_dataset("langchain_corpus", description="Customer help pages")
        items = [
            IngestItem(name=name, blob=text.encode(), meta_fields=meta)
            for name, (text, meta) in TEXTS.items()
            if name in names
        ]
        documents = ingest_documents(
            dataset, items, timeout=60, poll_interval=poll_interval, show_progress=False
        )
        corpus = Corpus(
            base_url=server.base_url,
            api_key=server.api_key,
            dataset_id=dataset.id,
            document_ids={d.name: d.id for d in documents},
        )
        if chat:
            corpus.chat_id = client.create_chat("Help desk", dataset_ids=[dataset.id]).id
        return corpus


class CorpusMixin:
    """For standard-suite classes: the corpus is built on first use, inside the cassette.

    The suites build their object from properties; those read :attr:`corpus`, which is created
    lazily so tests that never touch the server (the override guard) make no request.
    """

    build_chat: bool = False
    corpus_texts: Sequence[str] = tuple(TEXTS)

    @pytest.fixture(autouse=True)
    def _ragflow_server(self, ragflow_server: Any, poll_interval: float) -> None:
        self._server = ragflow_server
        self._poll_interval = poll_interval
        self._corpus: Corpus | None = None

    @property
    def corpus(self) -> Corpus:
        if self._corpus is None:
            self._corpus = build_corpus(
                self._server, self._poll_interval, chat=self.build_chat, names=self.corpus_texts
            )
        return self._corpus
