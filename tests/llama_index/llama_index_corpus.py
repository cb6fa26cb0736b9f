"""A small corpus built through the public client, shared by the LlamaIndex test modules.

Cassette tests build their data inside the recorded flow: when recording a fresh local server
answers, when replaying the cassette answers the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragflow_integrations import RAGFlow
from ragflow_integrations.ingest import IngestItem, ingest_documents

# Facts no model knows, so an answer containing them must come from the knowledge base.
FACTS: dict[str, str] = {
    "zephyr.txt": (
        "The Zephyr-9 wind turbine has a rated rotor speed of 4200 rpm. "
        "Its blades are made of basalt fibre and were designed in Tromso."
    ),
    "orchid.txt": (
        "The Quillmark orchid blooms only in March. "
        "It is pollinated by the violet nightjar moth and grows above 2000 metres."
    ),
    "ledger.txt": (
        "Project Ledgerline migrated its billing database to Postgres in 2031. "
        "The migration took eleven weekends and was led by Ines Albrecht."
    ),
}


DESCRIPTION = "Odd facts: wind turbines, orchids, billing migrations"


@dataclass
class Corpus:
    dataset: Any
    document_ids: dict[str, str]  # file name -> RAGFlow document id

    @property
    def dataset_id(self) -> str:
        return str(self.dataset.id)


def build_corpus(client: RAGFlow, name: str, poll_interval: float) -> Corpus:
    """A dataset holding :data:`FACTS`, parsed and ready to search."""
    dataset = client.create_dataset(name=name, description=DESCRIPTION)
    items = [
        IngestItem(name=file_name, blob=text.encode("utf-8"), meta_fields={"topic": file_name[:-4]})
        for file_name, text in FACTS.items()
    ]
    documents = ingest_documents(
        dataset, items, timeout=60.0, poll_interval=poll_interval, show_progress=False
    )
    return Corpus(dataset=dataset, document_ids={d.name: str(d.id) for d in documents})
