"""HTTPS with a self-signed certificate, and the ``serve`` command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ragflow_integrations.testing import (
    LocalRAGFlowServer,
    TestCertificates,
    make_test_certificates,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_test_certificates(tmp_path_factory.mktemp("tls"))


def test_https(certificate: TestCertificates) -> None:
    cert, key = str(certificate.cert_pem), str(certificate.key_pem)
    with LocalRAGFlowServer(ssl_certfile=cert, ssl_keyfile=key) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        headers = {"Authorization": f"Bearer {server.api_key}"}
        response = requests.get(
            server.base_url + "/api/v1/datasets",
            headers=headers,
            verify=str(certificate.ca_pem),
            timeout=5,
        )
        assert response.json()["code"] == 0
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.base_url + "/api/v1/system/ping", timeout=5)
        plain = server.base_url.replace("https://", "http://") + "/api/v1/system/ping"
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(plain, timeout=5)


def test_tls_needs_both_files() -> None:
    with pytest.raises(ValueError, match="both"):
        LocalRAGFlowServer(ssl_certfile="cert.pem")
    with pytest.raises(ValueError, match="emulate"):
        LocalRAGFlowServer(emulate="0.10")


def test_serve_command_prints_url_and_key_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ragflow_integrations.testing",
            "serve",
            "--port",
            "0",
            "--api-key",
            "cli-key",
            "--emulate",
            "0.22",
            "--data-dir",
            str(tmp_path),
            "--parse-delay",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(4)]
        assert "emulating RAGFlow v0.22.1" in lines[0]
        base_url = lines[1].removeprefix("base_url: ")
        assert lines[2] == "api_key:  cli-key"
        body = requests.get(
            base_url + "/api/v1/datasets", headers={"Authorization": "Bearer nope"}, timeout=5
        ).json()
        assert body["code"] == 109
        assert requests.get(base_url + "/v1/system/ping", timeout=5).text == "pong"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0
    assert (tmp_path / "ragflow-local.sqlite3").exists()
