"""Fixtures for the local server tests: real loopback HTTP with plain ``requests``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ragflow_integrations.testing import LocalRAGFlowServer


class Api:
    """A thin ``requests`` wrapper: base URL, auth header, JSON helpers."""

    def __init__(self, server: LocalRAGFlowServer) -> None:
        self.server = server
        self.root = server.base_url + "/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {server.api_key}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.root + path, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.headers["content-type"].startswith("application/json"), response.text
        return response.json()

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a successful envelope (fails the test otherwise)."""
        body = self.json(method, path, **kwargs)
        assert body["code"] == 0, body
        return body.get("data")

    def dataset(self, name: str = "kb", **fields: Any) -> str:
        return str(self.ok("POST", "/datasets", json={"name": name, **fields})["id"])

    def upload(self, dataset_id: str, files: dict[str, bytes]) -> list[dict[str, Any]]:
        parts = [("file", (name, content)) for name, content in files.items()]
        data: list[dict[str, Any]] = self.ok(
            "POST", f"/datasets/{dataset_id}/documents", files=parts
        )
        return data

    def docs(self, dataset_id: str, **params: Any) -> list[dict[str, Any]]:
        data = self.ok(
            "GET", f"/datasets/{dataset_id}/documents", params={"page_size": 100, **params}
        )
        docs: list[dict[str, Any]] = data["docs"]
        return docs

    def wait(self, dataset_id: str, ids: list[str], timeout: float = 10.0) -> dict[str, Any]:
        """Poll until none of ``ids`` is RUNNING; returns {id: document}."""
        deadline = time.monotonic() + timeout
        while True:
            docs = {d["id"]: d for d in self.docs(dataset_id) if d["id"] in ids}
            if all(d["run"] not in ("RUNNING", "UNSTART") for d in docs.values()):
                return docs
            assert time.monotonic() < deadline, docs
            time.sleep(0.02)

    def ingest(self, dataset_id: str, files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
        """Upload, parse and wait; returns {name: document}."""
        ids = [d["id"] for d in self.upload(dataset_id, files)]
        assert self.json("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": ids}) == {
            "code": 0
        }
        docs = self.wait(dataset_id, ids)
        return {d["name"]: d for d in docs.values()}


@pytest.fixture(scope="session")
def server27() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer(emulate="0.27") as server:
        yield server


@pytest.fixture(scope="session")
def server22() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer(emulate="0.22") as server:
        yield server


@pytest.fixture
def api(server27: LocalRAGFlowServer) -> Iterator[Api]:
    """The shared 0.27 server (tests create their own datasets; faults are cleared after)."""
    client = Api(server27)
    yield client
    server27.clear_faults()
    server27.parse_delay = 0.0


@pytest.fixture
def api22(server22: LocalRAGFlowServer) -> Iterator[Api]:
    client = Api(server22)
    yield client
    server22.clear_faults()
    server22.parse_delay = 0.0


@pytest.fixture
def fresh() -> Iterator[Api]:
    """A server of its own, for tests that delete everything or count all objects."""
    with LocalRAGFlowServer() as server:
        yield Api(server)


@pytest.fixture
def fresh22() -> Iterator[Api]:
    with LocalRAGFlowServer(emulate="0.22") as server:
        yield Api(server)


CORPUS = {
    "python.md": (
        b"# Python\nPython is a high-level programming language created by Guido van Rossum. "
        b"It emphasises code readability and uses significant indentation.\n"
    ),
    "france.txt": (
        b"Paris is the capital and largest city of France. The Eiffel Tower was completed in "
        b"1889 and stands on the Champ de Mars in Paris.\n"
    ),
    "bees.txt": (
        b"Honey bees live in colonies with a single queen. Worker bees collect nectar and "
        b"pollen from flowers and turn the nectar into honey.\n"
    ),
    "volcano.html": (
        b"<html><head><style>p{color:red}</style><script>var x=1;</script></head><body>"
        b"<h1>Volcanoes</h1><p>A volcano is a rupture in the crust where lava, ash and gases "
        b"escape. Mount Etna in Sicily is one of the most active volcanoes.</p></body></html>"
    ),
}
