"""Fault injection: status + Retry-After, raw bodies, latency, drops, stream cuts, admin API."""

from __future__ import annotations

import json
import time

import pytest
import requests

from ragflow_integrations.testing import LocalRAGFlowServer

from .conftest import CORPUS, Api


def test_status_with_retry_after_for_the_next_n_requests(
    api: Api, server27: LocalRAGFlowServer
) -> None:
    fault_id = server27.inject_fault(
        "/retrieval", method="POST", status=503, retry_after=2, times=2
    )
    assert isinstance(fault_id, int)
    for _ in range(2):
        response = api.call("POST", "/retrieval", json={})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.json() == {"code": 503, "message": "Injected fault: HTTP 503", "data": None}
        assert "X-RAGFlow-Stand-In" in response.headers
    assert api.call("POST", "/retrieval", json={}).json()["code"] == 102  # normal again


def test_glob_and_method_matching(api: Api, server27: LocalRAGFlowServer) -> None:
    dataset_id = api.dataset("faulty-docs")
    server27.inject_fault("/datasets/*/documents", method="GET", status=429)
    assert api.call("GET", f"/datasets/{dataset_id}/documents").status_code == 429
    assert api.call("GET", f"/datasets/{dataset_id}").status_code == 200
    assert (
        api.call(
            "DELETE", f"/datasets/{dataset_id}/documents", json={"delete_all": True}
        ).status_code
        == 200
    )
    server27.clear_faults()
    assert api.call("GET", f"/datasets/{dataset_id}/documents").status_code == 200


def test_non_json_body(api: Api, server27: LocalRAGFlowServer) -> None:
    server27.inject_fault("/datasets", status=502, body="<html>502 Bad Gateway</html>", times=1)
    response = api.call("GET", "/datasets")
    assert response.status_code == 502
    assert response.text == "<html>502 Bad Gateway</html>"
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_json_body_is_sent_verbatim(api: Api, server27: LocalRAGFlowServer) -> None:
    body = json.dumps({"code": 100, "message": "boom"})
    server27.inject_fault("/datasets", status=200, body=body, times=1)
    response = api.call("GET", "/datasets")
    assert response.status_code == 200 and response.json() == {"code": 100, "message": "boom"}


def test_latency(api: Api, server27: LocalRAGFlowServer) -> None:
    server27.inject_fault("/system/ping", latency=0.3, times=1)
    started = time.monotonic()
    assert api.call("GET", "/system/ping").text == "pong"
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.call("GET", "/system/ping")
    assert time.monotonic() - started < 0.3
    server27.inject_fault("/system/ping", latency=1.0, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.call("GET", "/system/ping", timeout=0.2)


def test_dropped_connection(api: Api, server27: LocalRAGFlowServer) -> None:
    server27.inject_fault("/datasets", drop_connection=True, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(api.root + "/datasets", headers=api.http.headers, timeout=5)
    assert api.call("GET", "/datasets").status_code == 200  # the server keeps serving


def test_stream_cut_after_n_events(api: Api, server27: LocalRAGFlowServer) -> None:
    dataset_id = api.dataset("cut-kb")
    api.ingest(dataset_id, CORPUS)
    chat_id = api.ok("POST", "/chats", json={"name": "cut-chat", "dataset_ids": [dataset_id]})["id"]
    server27.inject_fault("/chat/completions", cut_stream_after=2, times=1)
    response = requests.post(
        api.root + "/chat/completions",
        headers=api.http.headers,
        json={
            "chat_id": chat_id,
            "stream": True,
            "messages": [{"role": "user", "content": "bees honey"}],
        },
        stream=True,
        timeout=5,
    )
    lines: list[str] = []
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for line in response.iter_lines(decode_unicode=True):
            if line:
                lines.append(line)
    assert len(lines) == 2
    assert all(json.loads(line[5:])["data"]["final"] is False for line in lines)
    full = api.call(
        "POST",
        "/chat/completions",
        json={"chat_id": chat_id, "messages": [{"role": "user", "content": "bees honey"}]},
    )
    assert full.text.rstrip().endswith('"data": true}')


def test_admin_endpoint(api: Api, server27: LocalRAGFlowServer) -> None:
    admin = server27.base_url + "/_admin/faults"
    assert (
        requests.post(admin, json={"path": "/datasets", "status": 500}, timeout=5).status_code
        == 401
    )
    created = requests.post(
        admin,
        headers=api.http.headers,
        timeout=5,
        json={"path": "/datasets", "status": 500, "times": 1},
    ).json()
    assert created["code"] == 0 and isinstance(created["data"]["id"], int)
    listed = requests.get(admin, headers=api.http.headers, timeout=5).json()["data"]
    assert listed[0]["path"] == "/datasets" and listed[0]["status"] == 500
    assert api.call("GET", "/datasets").status_code == 500
    assert api.call("GET", "/datasets").status_code == 200
    requests.post(
        api.root + "/_admin/faults",
        headers=api.http.headers,
        timeout=5,
        json={"path": "/api/v1/datasets", "status": 418},
    )
    assert api.call("GET", "/datasets").status_code == 418
    cleared = requests.delete(admin, headers=api.http.headers, timeout=5).json()
    assert cleared["data"] is True
    assert api.call("GET", "/datasets").status_code == 200
    bad = requests.post(
        admin, headers=api.http.headers, json={"path": "/x", "times": 0}, timeout=5
    ).json()
    assert bad["code"] == 101


def test_inject_fault_validates_arguments(server27: LocalRAGFlowServer) -> None:
    with pytest.raises(ValueError):
        server27.inject_fault("/x", status=99)
    with pytest.raises(ValueError):
        server27.inject_fault("/x", times=0)
