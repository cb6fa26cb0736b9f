"""System endpoints, authentication, unknown routes, the stand-in header."""

from __future__ import annotations

import requests

from ragflow_integrations.testing import LocalRAGFlowServer

from .conftest import Api


def test_ping_is_text_without_auth(api: Api) -> None:
    response = requests.get(api.root + "/system/ping", timeout=5)
    assert response.status_code == 200
    assert response.text == "pong" and response.headers["content-type"].startswith("text/html")


def test_version_reports_the_emulated_release(api: Api) -> None:
    body = requests.get(api.root + "/system/version", timeout=5).json()
    assert body == {"code": 0, "message": "success", "data": "v0.27.0"}


def test_old_servers_have_no_api_system_routes(api22: Api) -> None:
    """v0.22.1 had no 404 handler: its catch-all turned NotFound into HTTP 200, code 100."""
    for path in ("/system/version", "/system/ping", "/system/healthz", "/no/such/route"):
        response = requests.get(api22.root + path, timeout=5)
        assert response.status_code == 200, path
        assert response.json() == {
            "code": 100,
            "message": "<NotFound '404: Not Found'>",
            "data": None,
        }
    ping = requests.get(api22.server.base_url + "/v1/system/ping", timeout=5)
    assert ping.text == "pong" and ping.headers["content-type"].startswith("text/html")


def test_web_ping_is_gone_in_027(api: Api) -> None:
    response = requests.get(api.server.base_url + "/v1/system/ping", timeout=5)
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found: /v1/system/ping"


def test_healthz(api: Api) -> None:
    response = requests.get(api.root + "/system/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {
        "db": "ok",
        "redis": "ok",
        "doc_engine": "ok",
        "storage": "ok",
        "status": "ok",
    }


def test_every_response_says_it_is_a_stand_in(api: Api, server27: LocalRAGFlowServer) -> None:
    for response in (
        requests.get(api.root + "/system/ping", timeout=5),
        api.call("GET", "/datasets"),
        api.call("GET", "/no/such/route"),
        requests.get(api.root + "/datasets", timeout=5),
    ):
        assert response.headers["X-RAGFlow-Stand-In"] == (
            f"ragflow_integrations.testing/{server27.version}; emulates v0.27.0"
        )
    assert server27.description.endswith("emulating RAGFlow v0.27.0")
    assert server27.api_key not in repr(server27)


def test_missing_or_bad_key_is_http_401_in_027(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "wrong"}):
        response = requests.get(api.root + "/datasets", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json() == {
            "code": 401,
            "message": "<Unauthorized '401: Unauthorized'>",
            "data": None,
        }


def test_bare_token_is_accepted(api: Api, server27: LocalRAGFlowServer) -> None:
    response = requests.get(
        api.root + "/datasets", headers={"Authorization": server27.api_key}, timeout=5
    )
    assert response.status_code == 200
    assert response.json()["code"] == 0


def test_bad_key_is_code_109_with_http_200_in_022(api22: Api) -> None:
    response = requests.get(
        api22.root + "/datasets", headers={"Authorization": "Bearer x"}, timeout=5
    )
    assert response.status_code == 200
    assert response.json() == {
        "code": 109,
        "data": False,
        "message": "Authentication error: API key is invalid!",
    }
    missing = requests.get(api22.root + "/datasets", timeout=5).json()
    assert missing == {"code": 0, "data": False, "message": "`Authorization` can't be empty"}
    bare = requests.get(
        api22.root + "/datasets", headers={"Authorization": api22.server.api_key}, timeout=5
    ).json()
    assert bare == {"code": 0, "data": False, "message": "Please check your authorization format."}
    # v0.22.1 reads the second word, whatever the scheme
    other = requests.get(
        api22.root + "/datasets",
        headers={"Authorization": f"Token {api22.server.api_key}"},
        timeout=5,
    )
    assert other.json()["code"] == 0


def test_unknown_route_is_http_404(api: Api) -> None:
    response = api.call("POST", "/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": "Not Found: /api/v1/no/such/thing",
        "data": None,
        "error": "Not Found",
    }


def test_wrong_method_is_code_100(api: Api) -> None:
    body = api.json("PATCH", "/datasets")
    assert body["code"] == 100
    assert "MethodNotAllowed" in body["message"]


def test_old_server_lacks_new_routes(api22: Api) -> None:
    for method, path in (
        ("POST", "/chat/completions"),
        ("POST", "/openai/x/chat/completions"),
        ("POST", "/chat/recommendation"),
        ("GET", "/models"),
        ("GET", "/models/default"),
        ("GET", "/agents/x/versions"),
        ("GET", "/agents/x/sessions/y"),
        ("DELETE", "/chats/x/sessions/y/messages/z"),
    ):
        response = api22.call(method, path, json={})
        assert response.status_code == 200, path
        assert response.json()["message"] == "<NotFound '404: Not Found'>", path
    for method, path in (("GET", "/chats/x"), ("DELETE", "/chats/x"), ("PATCH", "/chats/x")):
        body = api22.json(method, path)
        assert body["message"] == "<MethodNotAllowed '405: Method Not Allowed'>", path
    # like the old Flask route, /agents/chat/completions lands on /agents/<agent_id>/completions
    body = api22.json("POST", "/agents/chat/completions", json={"question": "hi", "stream": False})
    assert body == {"code": 100, "message": "AssertionError('Agent not found.')", "data": None}


def test_custom_key_and_base_url() -> None:
    with LocalRAGFlowServer(api_key="ragflow-custom", port=0) as server:
        assert server.api_key == "ragflow-custom"
        assert server.base_url.startswith("http://127.0.0.1:")
        assert not server.base_url.endswith("/api/v1")
        response = requests.get(
            server.base_url + "/api/v1/datasets",
            headers={"Authorization": "Bearer ragflow-custom"},
            timeout=5,
        )
        assert response.json()["code"] == 0


def test_generated_key_shape() -> None:
    server = LocalRAGFlowServer()
    assert server.api_key.startswith("ragflow-local-")
    assert len(server.api_key) == len("ragflow-local-") + 32


def test_old_web_health_route_answers_on_both_modes(api: Api, api22: Api) -> None:
    for each in (api, api22):
        response = requests.get(each.server.base_url + "/v1/system/healthz", timeout=5)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
