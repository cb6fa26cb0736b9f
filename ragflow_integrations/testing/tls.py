"""Throw-away TLS material for serving the local server over HTTPS in tests.

``make_test_certificates(directory)`` writes a private CA and a server certificate for
``127.0.0.1`` and ``localhost`` with the ``openssl`` command; pass ``cert_pem``/``key_pem`` to
``LocalRAGFlowServer(ssl_certfile=..., ssl_keyfile=...)`` and ``ca_pem`` to a client's ``verify=``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TestCertificates", "make_test_certificates"]

_SERVER_EXTENSIONS = (
    "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=serverAuth\n"
    "authorityKeyIdentifier=keyid\n"
    "subjectKeyIdentifier=hash\n"
)


@dataclass(frozen=True)
class TestCertificates:
    """A CA bundle (``ca_pem``) and the server certificate and key it signed."""

    __test__ = False  # not a pytest test class

    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_test_certificates(directory: str | Path, *, days: int = 2) -> TestCertificates:
    """Write a throw-away CA and a server certificate for 127.0.0.1 into ``directory``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError(
            "making test certificates needs the openssl command (apt install openssl)"
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    extensions = folder / "server.ext"
    extensions.write_text(_SERVER_EXTENSIONS, encoding="ascii")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
        "-out", str(ca_pem), "-days", str(days), "-subj", "/CN=ragflow-integrations test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    run(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", str(days), "-extfile", str(extensions),
    )  # fmt: skip
    return TestCertificates(ca_pem, cert, key)
