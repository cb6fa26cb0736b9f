"""Benchmark data set up over plain HTTP with ``requests``, independent of the client under test."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

import requests

_WORDS = [
    "river",
    "delta",
    "glacier",
    "basin",
    "current",
    "tide",
    "harbour",
    "canyon",
    "plateau",
    "summit",
    "valley",
    "estuary",
    "coffee",
    "roast",
    "grind",
    "brew",
    "crema",
    "bean",
    "filter",
    "kettle",
    "ratio",
    "aroma",
    "bitter",
    "extraction",
    "planet",
    "orbit",
    "comet",
    "asteroid",
    "nebula",
    "gravity",
    "moon",
    "crater",
    "eclipse",
    "telescope",
    "galaxy",
    "cache",
    "header",
    "proxy",
    "origin",
    "stale",
    "etag",
    "expiry",
    "request",
    "response",
    "validator",
    "browser",
    "element",
    "isotope",
    "neutron",
    "proton",
    "electron",
    "valence",
    "alloy",
    "oxide",
    "crystal",
    "lattice",
]


def sentences(count: int, seed: int, words_per_sentence: int = 12) -> list[str]:
    """Deterministic pseudo-text: ``count`` sentences drawn from a small vocabulary."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(words_per_sentence)).capitalize() + "."
        for _ in range(count)
    ]


def api_root(base_url: str) -> str:
    """``http://host:port`` or ``.../api/v1`` -> ``.../api/v1``."""
    root = base_url.rstrip("/")
    return root if root.endswith("/api/v1") else root + "/api/v1"


class Fixtures:
    """Creates datasets, documents and chats on a server through its HTTP API."""

    def __init__(self, base_url: str, api_key: str, verify: bool | str = True) -> None:
        self.api = api_root(base_url)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"
        self.verify = verify  # per request: a Session.verify loses to REQUESTS_CA_BUNDLE

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.api}{path}", verify=self.verify, **kwargs)
        body = response.json()
        if body.get("code") != 0:
            raise RuntimeError(f"{method} {path}: {body}")
        return body.get("data")

    def create_dataset(self, name: str, chunk_token_num: int = 128) -> str:
        body = {
            "name": name,
            "chunk_method": "naive",
            "parser_config": {"chunk_token_num": chunk_token_num},
        }
        dataset: dict[str, Any] = self._request("POST", "/datasets", json=body)
        return str(dataset["id"])

    def upload(
        self, dataset_id: str, files: Sequence[tuple[str, bytes]], batch: int = 50
    ) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(files), batch):
            parts = [("file", (name, blob)) for name, blob in files[start : start + batch]]
            docs = self._request("POST", f"/datasets/{dataset_id}/documents", files=parts)
            ids.extend(str(doc["id"]) for doc in docs)
        return ids

    def parse(self, dataset_id: str, document_ids: Sequence[str], timeout: float = 600.0) -> int:
        """Start parsing and wait until every document is DONE; returns the chunk count."""
        for start in range(0, len(document_ids), 100):
            batch = list(document_ids[start : start + 100])
            self._request("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": batch})
        wanted = set(document_ids)
        deadline = time.monotonic() + timeout
        while True:
            docs = self.documents(dataset_id)
            states = {doc["id"]: doc for doc in docs if doc["id"] in wanted}
            failed = [doc for doc in states.values() if doc["run"] in {"FAIL", "CANCEL"}]
            if failed:
                raise RuntimeError(f"parsing failed: {failed[0]['progress_msg']}")
            if len(states) == len(wanted) and all(d["run"] == "DONE" for d in states.values()):
                return sum(int(doc.get("chunk_count") or 0) for doc in states.values())
            if time.monotonic() > deadline:
                raise TimeoutError("documents still parsing")
            time.sleep(0.05)

    def documents(self, dataset_id: str) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self._request(
                "GET", f"/datasets/{dataset_id}/documents", params={"page": page, "page_size": 100}
            )
            docs.extend(data["docs"])
            if len(data["docs"]) < 100:
                return docs
            page += 1

    def text_dataset(
        self,
        name: str,
        documents: int,
        sentences_per_document: int,
        chunk_token_num: int = 128,
        seed: int = 7,
    ) -> tuple[str, int]:
        """A parsed dataset of ``documents`` text files; returns (dataset id, chunk count)."""
        dataset_id = self.create_dataset(name, chunk_token_num)
        files = [
            (
                f"doc{index:05d}.txt",
                "\n".join(sentences(sentences_per_document, seed + index)).encode("utf-8"),
            )
            for index in range(documents)
        ]
        ids = self.upload(dataset_id, files)
        return dataset_id, self.parse(dataset_id, ids)

    def create_chat(self, name: str, dataset_ids: Sequence[str]) -> str:
        body = {"name": name, "dataset_ids": list(dataset_ids)}
        chat: dict[str, Any] = self._request("POST", "/chats", json=body)
        return str(chat["id"])

    def close(self) -> None:
        self.http.close()
