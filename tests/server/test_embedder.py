"""The pluggable embedder and the default hashing embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ragflow_integrations.testing import Embedder, HashingEmbedder, LocalRAGFlowServer

from .conftest import Api


class TopicEmbedder:
    """Two dimensions: how much a text talks about cats vs. about cars."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        rows = [[t.lower().count("cat") + 0.01, t.lower().count("car") + 0.01] for t in texts]
        return np.array(rows, dtype=np.float32)


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    embedder = HashingEmbedder()
    assert isinstance(embedder, Embedder)
    first = embedder.embed(["Honey bees make honey", "", "the of and"])
    again = embedder.embed(["Honey bees make honey"])
    assert first.shape == (3, 384) and first.dtype == np.float32
    assert np.allclose(first[0], again[0])
    assert np.linalg.norm(first[0]) == pytest.approx(1.0)
    assert not first[1].any() and not first[2].any()  # empty and stop-word-only texts
    related, unrelated = embedder.embed(["bees collect nectar", "volcanic ash and lava"])
    assert float(first[0] @ related) > float(first[0] @ unrelated)


def test_custom_embedder_drives_vector_similarity(tmp_path: Path) -> None:
    embedder = TopicEmbedder()
    with LocalRAGFlowServer(embedder=embedder, data_dir=tmp_path) as server:
        api = Api(server)
        dataset_id = api.dataset("topics")
        assert api.ok("GET", f"/datasets/{dataset_id}")["embedding_model"].endswith("@Builtin")
        api.ingest(dataset_id, {"cats.txt": b"cat cat cat", "cars.txt": b"car car car"})
        data = api.ok(
            "POST",
            "/retrieval",
            json={
                "question": "feline",
                "dataset_ids": [dataset_id],
                "vector_similarity_weight": 1.0,
                "similarity_threshold": 0.0,
            },
        )
        # "feline" mentions neither: the query is (0.01, 0.01), each chunk (3.01, 0.01) or mirrored
        expected = 3.02 / (np.sqrt(2) * np.hypot(3.01, 0.01))
        assert [c["vector_similarity"] for c in data["chunks"]] == pytest.approx(
            [expected, expected], abs=1e-5
        )
        data = api.ok(
            "POST",
            "/retrieval",
            json={
                "question": "my cat",
                "dataset_ids": [dataset_id],
                "vector_similarity_weight": 1.0,
            },
        )
        assert data["chunks"][0]["document_keyword"] == "cats.txt"
        assert data["chunks"][0]["vector_similarity"] == pytest.approx(1.0, abs=1e-3)
        assert embedder.calls >= 3
    with LocalRAGFlowServer(data_dir=tmp_path) as restarted:  # default embedder: re-embedded
        api = Api(restarted)
        data = api.ok("POST", "/retrieval", json={"question": "car", "dataset_ids": [dataset_id]})
        assert data["chunks"][0]["document_keyword"] == "cars.txt"
