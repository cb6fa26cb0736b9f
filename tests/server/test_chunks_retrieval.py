"""Chunks (§3.4) and retrieval (§3.5) including metadata filters (§3.6)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import CORPUS, Api


@pytest.fixture
def corpus(api: Api) -> tuple[str, dict[str, dict[str, Any]]]:
    dataset_id = api.dataset("corpus")
    docs = api.ingest(dataset_id, CORPUS)
    assert {d["run"] for d in docs.values()} == {"DONE"}
    return dataset_id, docs


def retrieve(api: Api, **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = api.ok("POST", "/retrieval", json=body)
    return data


def test_chunk_crud(api: Api) -> None:
    dataset_id = api.dataset("chunks")
    doc = api.ingest(dataset_id, {"c.txt": b"Original parsed chunk."})["c.txt"]
    base = f"/datasets/{dataset_id}/documents/{doc['id']}/chunks"
    added = api.ok(
        "POST",
        base,
        json={
            "content": "Manual chunk about zebras.",
            "important_keywords": ["stripes"],
            "questions": ["What animal has stripes?"],
        },
    )["chunk"]
    assert len(added["id"]) == 16 and added["document_id"] == doc["id"]
    assert added["important_keywords"] == ["stripes"] and added["dataset_id"] == dataset_id
    assert isinstance(added["create_timestamp"], float)
    listed = api.ok("GET", base)
    assert listed["total"] == 2 and listed["doc"]["id"] == doc["id"]
    assert listed["doc"]["chunk_count"] == 2
    assert {c["docnm_kwd"] for c in listed["chunks"]} == {"c.txt"}
    assert all(c["available"] is True for c in listed["chunks"])
    found = api.ok("GET", base, params={"keywords": "zebras"})
    assert found["total"] == 1 and "<em>zebras</em>" in found["chunks"][0]["content"]
    assert api.ok("GET", base, params={"id": added["id"]})["chunks"][0]["id"] == added["id"]
    assert api.json("GET", base, params={"id": "0" * 16})["code"] == 102
    assert api.json("POST", base, json={"content": "  "}) == {
        "code": 102,
        "message": "`content` is required",
    }
    cid = added["id"]
    assert api.json(
        "PATCH", f"{base}/{cid}", json={"content": "Zebras and horses.", "available": False}
    ) == {"code": 0}
    assert api.ok("GET", base, params={"available": "false"})["chunks"][0]["content"] == (
        "Zebras and horses."
    )
    assert api.json("PUT", f"{base}/{cid}", json={"available": True}) == {"code": 0}
    assert api.json("PATCH", f"{base}/nope", json={"content": "x"})["code"] == 102
    assert api.ok("PATCH", base, json={"chunk_ids": [cid], "available_int": 0}) is True
    assert api.ok("GET", base, params={"available": "true"})["total"] == 1
    assert api.json("DELETE", base, json={"chunk_ids": [cid]}) == {"code": 0}
    partial = api.json("DELETE", base, json={"chunk_ids": ["0" * 16]})
    assert partial["code"] == 102 and "expect 1" in partial["message"]
    assert api.json("DELETE", base, json={}) == {"code": 0}
    assert api.ok("GET", base)["total"] == 1
    assert api.json("DELETE", base, json={"delete_all": True}) == {"code": 0}
    assert api.ok("GET", base)["total"] == 0
    assert api.docs(dataset_id)[0]["chunk_count"] == 0


def test_the_right_document_comes_first(api: Api, corpus: tuple[str, dict[str, Any]]) -> None:
    dataset_id, docs = corpus
    expectations = {
        "Who created the Python programming language?": "python.md",
        "When was the Eiffel Tower completed?": "france.txt",
        "How do bees make honey from nectar?": "bees.txt",
        "Which volcano in Sicily is active?": "volcano.html",
    }
    for question, expected in expectations.items():
        data = retrieve(api, question=question, dataset_ids=[dataset_id])
        assert data["chunks"], question
        top = data["chunks"][0]
        assert top["document_keyword"] == expected, (question, data["chunks"])
        assert top["document_id"] == docs[expected]["id"]
        assert top["similarity"] == pytest.approx(
            0.7 * top["term_similarity"] + 0.3 * top["vector_similarity"], abs=1e-5
        )
        assert 0 <= top["vector_similarity"] <= 1 and 0 <= top["term_similarity"] <= 1
        sims = [c["similarity"] for c in data["chunks"]]
        assert sims == sorted(sims, reverse=True)
        assert all(s >= 0.2 for s in sims)
        assert data["total"] == len(data["chunks"])
        assert data["doc_aggs"][0]["doc_name"] == expected


def test_retrieval_options(api: Api, corpus: tuple[str, dict[str, Any]]) -> None:
    dataset_id, docs = corpus
    question = "Paris France capital city"
    pure_vector = retrieve(
        api,
        question=question,
        dataset_ids=[dataset_id],
        vector_similarity_weight=1.0,
        similarity_threshold=0.0,
    )
    for chunk in pure_vector["chunks"]:
        assert chunk["similarity"] == pytest.approx(chunk["vector_similarity"], abs=1e-5)
    assert pure_vector["total"] == 4
    pure_term = retrieve(
        api,
        question=question,
        dataset_ids=[dataset_id],
        vector_similarity_weight=0.0,
        similarity_threshold=0.99,
    )
    assert pure_term["chunks"][0]["term_similarity"] == 1.0
    assert pure_term["total"] == 4  # threshold is ignored when the vector weight is 0
    strict = retrieve(api, question=question, dataset_ids=[dataset_id], similarity_threshold=0.9)
    assert strict["total"] <= 1
    paged = retrieve(
        api, question="the", dataset_ids=[dataset_id], similarity_threshold=0.0, page=2, page_size=3
    )
    assert paged["total"] == 4 and len(paged["chunks"]) == 1
    limited = retrieve(
        api, question=question, dataset_ids=[dataset_id], top_k=2, similarity_threshold=0.0
    )
    assert limited["total"] == 2
    only = retrieve(
        api,
        question=question,
        dataset_ids=[dataset_id],
        document_ids=[docs["bees.txt"]["id"]],
        similarity_threshold=0.0,
    )
    assert {c["document_keyword"] for c in only["chunks"]} == {"bees.txt"}
    marked = retrieve(api, question="Eiffel tower", dataset_ids=[dataset_id], highlight=True)
    assert "<em>Eiffel</em> <em>Tower</em>" in marked["chunks"][0]["highlight"]
    accepted = retrieve(
        api,
        question=question,
        dataset_ids=[dataset_id],
        keyword=True,
        cross_languages=["French"],
        use_kg=True,
        toc_enhance=True,
        rerank_id="",
    )
    assert accepted["chunks"][0]["document_keyword"] == "france.txt"
    assert retrieve(api, question="  ", dataset_ids=[dataset_id]) == {
        "total": 0,
        "chunks": [],
        "doc_aggs": {},
    }


def test_retrieval_errors(api: Api, corpus: tuple[str, dict[str, Any]]) -> None:
    dataset_id, _ = corpus
    cases = [
        ({"question": "x"}, 102, "`dataset_ids` is required."),
        ({"question": "x", "dataset_ids": ["0" * 32]}, 102, "You don't own the dataset"),
        ({"dataset_ids": [dataset_id]}, 102, "`question` is required."),
        ({"question": "x", "dataset_ids": [dataset_id], "top_k": 0}, 102, "`top_k`"),
        ({"question": "x", "dataset_ids": [dataset_id], "page_size": 101}, 100, "page_size"),
        ({"question": "x", "dataset_ids": [dataset_id], "highlight": 3}, 102, "`highlight`"),
        (
            {"question": "x", "dataset_ids": [dataset_id], "document_ids": ["nope"]},
            102,
            "don't own the document",
        ),
    ]
    for body, code, fragment in cases:
        answer = api.json("POST", "/retrieval", json=body)
        assert answer["code"] == code, body
        assert fragment in answer["message"], (body, answer)


def test_disabled_chunks_and_documents_are_not_retrieved(
    api: Api, corpus: tuple[str, dict[str, Any]]
) -> None:
    dataset_id, docs = corpus
    bees = docs["bees.txt"]["id"]
    question = "honey bees nectar"
    assert (
        retrieve(api, question=question, dataset_ids=[dataset_id])["chunks"][0]["document_id"]
        == bees
    )
    base = f"/datasets/{dataset_id}/documents/{bees}/chunks"
    chunk_ids = [c["id"] for c in api.ok("GET", base)["chunks"]]
    api.ok("PATCH", base, json={"chunk_ids": chunk_ids, "available": False})
    hits = retrieve(api, question=question, dataset_ids=[dataset_id], similarity_threshold=0)
    assert bees not in {c["document_id"] for c in hits["chunks"]}
    api.ok("PATCH", base, json={"chunk_ids": chunk_ids, "available": True})
    api.ok("PATCH", f"/datasets/{dataset_id}/documents/{bees}", json={"enabled": 0})
    hits = retrieve(api, question=question, dataset_ids=[dataset_id], similarity_threshold=0)
    assert bees not in {c["document_id"] for c in hits["chunks"]}
    api.ok("PATCH", f"/datasets/{dataset_id}/documents/{bees}", json={"enabled": 1})
    assert (
        retrieve(api, question=question, dataset_ids=[dataset_id])["chunks"][0]["document_id"]
        == bees
    )


def test_metadata_condition_and_reference_metadata(
    api: Api, corpus: tuple[str, dict[str, Any]]
) -> None:
    dataset_id, docs = corpus
    metas = {
        "python.md": {"topic": "computing", "year": 1991},
        "france.txt": {"topic": "geography", "year": 1889},
        "bees.txt": {"topic": "biology", "year": 2020},
        "volcano.html": {"topic": "geography", "year": 2021},
    }
    for name, meta in metas.items():
        api.ok(
            "PATCH",
            f"/datasets/{dataset_id}/documents/{docs[name]['id']}",
            json={"meta_fields": meta},
        )

    def names(condition: dict[str, Any]) -> set[str]:
        data = retrieve(
            api,
            question="the of in",
            dataset_ids=[dataset_id],
            similarity_threshold=0.0,
            metadata_condition=condition,
        )
        return {c["document_keyword"] for c in data["chunks"]}

    geo = {"conditions": [{"name": "topic", "comparison_operator": "=", "value": "Geography"}]}
    assert names(geo) == {"france.txt", "volcano.html"}
    recent = {
        "logic": "and",
        "conditions": [
            {"name": "topic", "comparison_operator": "=", "value": "geography"},
            {"name": "year", "comparison_operator": ">", "value": "2000"},
        ],
    }
    assert names(recent) == {"volcano.html"}
    # RAGFlow reads the value as a literal only when it is text: a JSON number matches nothing
    as_number = {"conditions": [{"name": "year", "comparison_operator": ">", "value": 2000}]}
    assert names(as_number) == set()
    assert names(
        {
            "conditions": [
                {"name": "topic", "comparison_operator": "in", "value": ["biology", "computing"]}
            ]
        }
    ) == {"bees.txt", "python.md"}
    assert (
        names({"conditions": [{"name": "nothing", "comparison_operator": "=", "value": "x"}]})
        == set()
    )
    data = retrieve(
        api,
        question="honey bees",
        dataset_ids=[dataset_id],
        reference_metadata={"include": True, "fields": ["year"]},
    )
    assert data["chunks"][0]["document_metadata"] == {"year": 2020}
    legacy = retrieve(api, question="honey bees", dataset_ids=[dataset_id], include_metadata=True)
    assert legacy["chunks"][0]["document_metadata"] == {"topic": "biology", "year": 2020}


def test_chunk_shape(api: Api, corpus: tuple[str, dict[str, Any]]) -> None:
    dataset_id, _ = corpus
    chunk = retrieve(api, question="volcano lava", dataset_ids=[dataset_id])["chunks"][0]
    for key in (
        "id",
        "content",
        "content_ltks",
        "document_id",
        "document_keyword",
        "dataset_id",
        "important_keywords",
        "image_id",
        "similarity",
        "vector_similarity",
        "term_similarity",
        "positions",
        "doc_type_kwd",
    ):
        assert key in chunk, key
    assert "vector" not in chunk and "highlight" not in chunk
    assert "<" not in chunk["content"]  # HTML was stripped at parse time
