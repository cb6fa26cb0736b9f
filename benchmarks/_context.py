"""What every section gets: the size, a scratch folder, and a prepared corpus on a local server."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from benchmarks._fixtures import Fixtures
from benchmarks._harness import Size

QUESTION = "Which river delta carries the glacier current into the harbour estuary?"
PAGE_SIZE = 10
_ID = re.compile(r"/[0-9a-f]{32}(?=/|$)")


@dataclass
class Corpus:
    """A parsed retrieval dataset on one server."""

    base_url: str
    api_key: str
    dataset_id: str
    chunks: int
    verify: bool | str = True


def prepare_corpus(base_url: str, api_key: str, size: Size, verify: bool | str = True) -> Corpus:
    """Upload and parse the retrieval corpus (``size.corpus_chunks`` chunks, roughly)."""
    fixtures = Fixtures(base_url, api_key, verify=verify)
    try:
        documents = max(1, size.corpus_chunks // 20)
        dataset_id, chunks = fixtures.text_dataset(
            "retrieval-corpus", documents=documents, sentences_per_document=40, chunk_token_num=24
        )
    finally:
        fixtures.close()
    return Corpus(base_url, api_key, dataset_id, chunks, verify)


@dataclass
class Context:
    size: Size
    scratch: Path
    corpus: Corpus


def new_connections(function: Callable[[], object], calls: int) -> float:
    """TCP connections urllib3 opens per call of ``function`` (counted only during this probe)."""
    from urllib3.connection import HTTPConnection

    original = HTTPConnection._new_conn
    opened = 0

    def counting(connection: HTTPConnection) -> Any:
        nonlocal opened
        opened += 1
        return original(connection)

    HTTPConnection._new_conn = counting  # type: ignore[method-assign,assignment]
    try:
        for _ in range(calls):
            function()
    finally:
        HTTPConnection._new_conn = original  # type: ignore[method-assign]
    return opened / calls


class RequestRecorder:
    """A ``requests`` response hook that keeps every request sent through a session."""

    def __init__(self) -> None:
        self.requests: list[requests.PreparedRequest] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests.append(response.request)

    def attach(self, session: requests.Session) -> requests.Session:
        session.hooks["response"].append(self)
        return session

    def reset(self) -> None:
        self.requests.clear()

    def breakdown(self) -> str:
        """Requests counted by method and path (ids replaced by ``{id}``), most frequent first."""
        counts = Counter(
            f"{request.method} {_ID.sub('/{id}', urlsplit(str(request.url)).path)}"
            for request in self.requests
        )
        return ", ".join(f"{count} {route}" for route, count in counts.most_common())
