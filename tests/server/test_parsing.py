"""Parsing life cycle (§3.3): worker states, chunking rules, formats, failures, cancel."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import requests

from ragflow_integrations.testing import LocalRAGFlowServer

from .conftest import Api


def chunks_of(api: Api, dataset_id: str, doc_id: str) -> list[str]:
    data = api.ok(
        "GET", f"/datasets/{dataset_id}/documents/{doc_id}/chunks", params={"page_size": 100}
    )
    return [c["content"] for c in data["chunks"]]


def test_life_cycle_unstart_running_done(api: Api) -> None:
    dataset_id = api.dataset("life")
    doc = api.upload(dataset_id, {"a.txt": b"Line one.\nLine two."})[0]
    assert doc["run"] == "UNSTART"
    api.server.parse_delay = 0.3
    assert api.json(
        "POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc["id"]]}
    ) == {"code": 0}
    running = api.docs(dataset_id, id=doc["id"])[0]
    assert running["run"] == "RUNNING" and 0 <= running["progress"] < 1
    again = api.json("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc["id"]]})
    assert again == {
        "code": 102,
        "message": "Can't parse document that is currently being processed",
    }
    done = api.wait(dataset_id, [doc["id"]])[doc["id"]]
    assert done["run"] == "DONE" and done["progress"] == 1.0
    assert done["chunk_count"] == 1 and done["token_count"] == 4
    assert "Task has been received" in done["progress_msg"]
    dataset = api.ok("GET", f"/datasets/{dataset_id}")
    assert (dataset["chunk_count"], dataset["token_num"]) == (1, 4)


def test_progress_moves_while_running(api: Api) -> None:
    dataset_id = api.dataset("progress")
    doc_id = api.upload(dataset_id, {"p.txt": b"progress text"})[0]["id"]
    api.server.parse_delay = 0.6
    api.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc_id]})
    seen = []
    while True:
        doc = api.docs(dataset_id, id=doc_id)[0]
        seen.append(doc["progress"])
        if doc["run"] != "RUNNING":
            break
        time.sleep(0.05)
    assert doc["run"] == "DONE" and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len({p for p in seen if 0 < p < 1}) >= 3, seen


def test_chunk_token_num_and_delimiters(api: Api) -> None:
    dataset_id = api.dataset(
        "chunking", parser_config={"chunk_token_num": 5, "delimiter": "\n`##`"}
    )
    text = b"one two three\nfour five six\nseven##eight nine\n" + b" ".join(
        f"w{i}".encode() for i in range(12)
    )
    doc = api.ingest(dataset_id, {"c.txt": text})["c.txt"]
    assert doc["run"] == "DONE"
    # RAGFlow's text parser: the delimiters go, paragraphs group up to ~5 tokens, and the
    # merge step adds groups behind a newline until a chunk passes the limit
    assert chunks_of(api, dataset_id, doc["id"]) == [
        "\none two three\nfour five six\nseven",
        "\neight nine\n" + " ".join(f"w{i}" for i in range(12)),
    ]


def test_old_text_parser_glues_paragraphs(api22: Api) -> None:
    dataset_id = api22.dataset("chunking", parser_config={"chunk_token_num": 5, "delimiter": "\\n"})
    doc = api22.ingest(dataset_id, {"c.txt": b"one two three\nfour five six\nseven\n\neight"})
    assert chunks_of(api22, dataset_id, doc["c.txt"]["id"]) == [
        "\none two threefour five six",
        "\nseveneight",
    ]


def test_formats(api: Api) -> None:
    dataset_id = api.dataset("formats", parser_config={"chunk_token_num": 12})
    csv_text = b"name,city\nAnn,Paris\nBob,Rome\nCid,Oslo\nDee,Lima\n"
    docs = api.ingest(
        dataset_id,
        {
            "people.csv": csv_text,
            "page.html": b"<html><head><title>T</title><script>alert(1)</script></head>"
            b"<body><p>Hello <b>web</b></p><p>Second</p></body></html>",
            "data.json": b'[{"id": 1, "text": "first"}, {"id": 2, "text": "second"}]',
            "bom.md": "\ufeff# Title\nBody text".encode(),
        },
    )
    assert {d["run"] for d in docs.values()} == {"DONE"}
    rows = chunks_of(api, dataset_id, docs["people.csv"]["id"])
    assert len(rows) == 2 and all(r.startswith("name, city\n") for r in rows)
    assert "name: Ann; city: Paris" in rows[0] and "name: Dee; city: Lima" in rows[1]
    html = chunks_of(api, dataset_id, docs["page.html"]["id"])
    assert html == ["\nT\nHello web\nSecond"]
    assert chunks_of(api, dataset_id, docs["data.json"]["id"]) == [
        '\n{"id": 1, "text": "first"}\n{"id": 2, "text": "second"}'
    ]
    assert chunks_of(api, dataset_id, docs["bom.md"]["id"]) == ["\n# Title\nBody text"]


def test_any_bytes_decode_like_ragflow(api: Api) -> None:
    # RAGFlow tries codec after codec and keeps NUL bytes: such text files parse fine
    dataset_id = api.dataset("codecs")
    docs = api.ingest(
        dataset_id, {"latin1.txt": "café au lait".encode("latin-1"), "nul.txt": b"abc\x00def"}
    )
    assert chunks_of(api, dataset_id, docs["latin1.txt"]["id"]) == ["\ncafé au lait"]
    assert docs["nul.txt"]["run"] == "DONE" and docs["nul.txt"]["chunk_count"] == 1


def test_failures_have_useful_messages(api: Api) -> None:
    dataset_id = api.dataset("failures")
    docs = api.ingest(dataset_id, {"broken.json": b"{not json", "picture.png": b"\x89PNG\r\n"})
    for name, fragment in (
        ("broken.json", "Invalid JSON"),
        ("picture.png", "cannot parse '.png'"),
    ):
        doc = docs[name]
        assert doc["run"] == "FAIL", name
        assert doc["progress"] == -1.0
        assert fragment in doc["progress_msg"], (name, doc["progress_msg"])
        assert doc["chunk_count"] == 0


def test_pdf_and_docx_need_optional_libraries(api: Api) -> None:
    dataset_id = api.dataset("office")
    docs = api.ingest(dataset_id, {"a.pdf": b"%PDF-1.4 not really", "b.docx": b"PK\x03\x04"})
    if importlib.util.find_spec("pypdf") is None:
        assert "pypdf" in docs["a.pdf"]["progress_msg"]
    assert docs["a.pdf"]["run"] == "FAIL"  # not a real PDF either way
    if importlib.util.find_spec("docx") is None:
        assert "python-docx" in docs["b.docx"]["progress_msg"]
    assert docs["b.docx"]["run"] == "FAIL"


def test_empty_file_is_done_without_chunks(api: Api) -> None:
    dataset_id = api.dataset("empty")
    doc = api.ingest(dataset_id, {"empty.txt": b"  \n"})["empty.txt"]
    assert doc["run"] == "DONE" and doc["chunk_count"] == 0
    assert "No chunk built" in doc["progress_msg"]


def test_cancel_mid_parse(api: Api) -> None:
    dataset_id = api.dataset("cancel")
    doc_id = api.upload(dataset_id, {"slow.txt": b"some text to parse"})[0]["id"]
    api.server.parse_delay = 2.0
    api.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc_id]})
    assert api.docs(dataset_id, id=doc_id)[0]["run"] == "RUNNING"
    assert api.json(
        "DELETE", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc_id]}
    ) == {"code": 0}
    cancelled = api.docs(dataset_id, id=doc_id)[0]
    assert cancelled["run"] == "CANCEL" and cancelled["chunk_count"] == 0
    time.sleep(0.1)
    assert api.docs(dataset_id, id=doc_id)[0]["run"] == "CANCEL"
    not_running = api.json(
        "DELETE", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc_id]}
    )
    assert not_running == {
        "code": 102,
        "message": "Can't stop parsing document that has not started or already completed",
        "data": {"error_code": "DOC_STOP_PARSING_INVALID_STATE"},
    }
    api.server.parse_delay = 0.0
    api.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc_id]})
    assert api.wait(dataset_id, [doc_id])[doc_id]["run"] == "DONE"


def test_new_parse_and_stop_routes(api: Api) -> None:
    dataset_id = api.dataset("parse-routes")
    ids = [d["id"] for d in api.upload(dataset_id, {"a.txt": b"a b", "b.txt": b"c d"})]
    api.server.parse_delay = 2.0
    assert api.ok(
        "POST", f"/datasets/{dataset_id}/documents/parse", json={"document_ids": ids}
    ) == {"success_count": 2}
    stopped = api.ok(
        "POST", f"/datasets/{dataset_id}/documents/stop", json={"document_ids": [ids[0]]}
    )
    assert stopped == {"success_count": 1}
    cancelled = api.docs(dataset_id, id=ids[0])[0]
    assert cancelled["run"] == "CANCEL" and cancelled["progress_msg"].endswith(
        "Task stopped by user."
    )
    # a cancelled document may be stopped again; one never started may not
    again = api.ok(
        "POST", f"/datasets/{dataset_id}/documents/stop", json={"document_ids": [ids[0]]}
    )
    assert again == {"success_count": 1}
    api.ok("POST", f"/datasets/{dataset_id}/documents/stop", json={"document_ids": [ids[1]]})
    fresh = api.upload(dataset_id, {"c.txt": b"e f"})[0]["id"]
    never = api.ok("POST", f"/datasets/{dataset_id}/documents/stop", json={"document_ids": [fresh]})
    assert never == {
        "success_count": 0,
        "errors": ["Can't stop parsing document that has not started or already completed"],
    }
    api.server.parse_delay = 0.0
    partial = api.json(
        "POST", f"/datasets/{dataset_id}/documents/parse", json={"document_ids": [fresh, "nope"]}
    )
    assert partial == {"code": 102, "message": "Documents not found: ['nope']"}
    assert api.wait(dataset_id, [fresh])[fresh]["run"] == "DONE"  # the valid id was parsed
    missing = api.json(
        "POST", f"/datasets/{dataset_id}/documents/parse", json={"document_ids": ["nope"]}
    )
    assert missing["code"] == 102 and "nope" in missing["message"]
    assert api.json("POST", f"/datasets/{dataset_id}/chunks", json={})["code"] == 102


def test_reparse_replaces_chunks(api: Api) -> None:
    dataset_id = api.dataset("reparse")
    doc = api.ingest(dataset_id, {"r.txt": b"alpha beta"})["r.txt"]
    api.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": [doc["id"]]})
    again = api.wait(dataset_id, [doc["id"]])[doc["id"]]
    assert again["chunk_count"] == 1
    assert chunks_of(api, dataset_id, doc["id"]) == ["\nalpha beta"]


def test_data_survives_a_restart(tmp_path: Path) -> None:
    with LocalRAGFlowServer(data_dir=tmp_path, api_key="k") as first:
        api = Api(first)
        dataset_id = api.dataset("persistent")
        doc = api.ingest(dataset_id, {"keep.txt": b"Persistent storage keeps chunks."})
        doc_id = doc["keep.txt"]["id"]
    with LocalRAGFlowServer(data_dir=tmp_path, api_key="k") as second:
        api = Api(second)
        assert api.docs(dataset_id)[0]["run"] == "DONE"
        assert (
            api.call("GET", f"/documents/{doc_id}").content == b"Persistent storage keeps chunks."
        )
        hits = api.ok(
            "POST",
            "/retrieval",
            json={"question": "persistent storage", "dataset_ids": [dataset_id]},
        )
        assert [c["document_id"] for c in hits["chunks"]] == [doc_id]
    assert (tmp_path / "ragflow-local.sqlite3").exists()


def test_parse_delay_is_settable(server27: LocalRAGFlowServer) -> None:
    server27.parse_delay = 0.25
    assert server27.parse_delay == 0.25
    server27.parse_delay = -1
    assert server27.parse_delay == 0.0
    assert requests.get(server27.base_url + "/api/v1/system/ping", timeout=5).text == "pong"
