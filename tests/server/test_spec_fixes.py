"""Protocol details of reference §3.1–§3.16 that the server once got wrong (plain ``requests``)."""

from __future__ import annotations

from typing import Any

from .conftest import CORPUS, Api


def test_retrieval_top_k_is_a_candidate_pool_not_a_result_limit(api: Api) -> None:
    # §3.5: "`top_k` ... candidate pool for vector search ... It does **not** limit the result
    # count — use `page_size`". Full-text matches are candidates whatever top_k is.
    dataset_id = api.dataset("topk")
    files = {f"n{i}.txt": f"Note {i} about the orchard apples.\n".encode() for i in range(5)}
    api.ingest(dataset_id, {**files, **CORPUS})
    body: dict[str, Any] = {
        "dataset_ids": [dataset_id],
        "question": "orchard apples",
        "similarity_threshold": 0.0,
    }
    data = api.ok("POST", "/retrieval", json={**body, "top_k": 1})
    hits = [c for c in data["chunks"] if "orchard" in c["content"]]
    assert len(hits) == 5, data
    assert data["total"] >= 5
    # page_size is what limits the page
    paged = api.ok("POST", "/retrieval", json={**body, "top_k": 1, "page_size": 2})
    assert len(paged["chunks"]) == 2 and paged["total"] == data["total"]
    # a large top_k still ranks the term matches first
    full = api.ok("POST", "/retrieval", json={**body, "top_k": 1024})
    assert all("orchard" in c["content"] for c in full["chunks"][:5])
