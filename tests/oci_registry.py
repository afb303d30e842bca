"""A real registry for the OCI provider's tests: Debian's ``docker-registry`` (the CNCF
distribution server, 2.8) on a free port with a temporary storage dir and a generated config;
optionally behind token auth, with a local token server following Docker's token spec.

Token server (distribution.github.io/distribution/spec/auth/token/ "Requesting a Token",
"Token Response Fields"; spec/auth/jwt/ for the claims): ``GET <realm>?service=&scope=`` with
HTTP Basic credentials; 200 ``{"token", "access_token", "expires_in", "issued_at"}``; a JWT
(ES256) with ``iss``, ``sub``, ``aud`` (the service), ``exp``/``nbf``/``iat``, ``jti`` and
``access: [{"type": "repository", "name", "actions"}]``, signed by a key whose certificate is
the registry's ``rootcertbundle`` and named in the header by its libtrust key id (``kid``), as
distribution 2.8 looks keys up. Wrong credentials: 401 (Docker Hub's body says ``details``).
"""

from __future__ import annotations

import base64
import ctypes
import datetime
import hashlib
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.ports import free_port
from tests.waiting import wait_until

REGISTRY_BIN = "/usr/bin/docker-registry"
SERVICE = "registry.test"
ISSUER = "bdg-test-token-issuer"


@dataclass
class TokenServer:
    username: str
    password: str
    key: ec.EllipticCurvePrivateKey
    url: str = ""
    asked: list[dict[str, list[str]]] = field(default_factory=list)
    failures_left: int = 0  # answer 503 with Retry-After this many times first

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        query = parse_qs(urlsplit(path).query)
        self.asked.append(query)
        if self.failures_left > 0:
            self.failures_left -= 1
            return 503, {"Retry-After": "0"}, {"details": "try again"}
        scheme, _, given = headers.get("authorization", "").partition(" ")
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if scheme.lower() != "basic" or not secrets.compare_digest(given, expected):
            return 401, {}, {"details": "incorrect username or password"}
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self.username,
            "aud": query.get("service", [""])[0],
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        token = jwt.encode(
            claims, self.key, algorithm="ES256", headers={"kid": libtrust_kid(self.key)}
        )
        issued = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat()
        body = {"token": token, "access_token": token, "expires_in": 300, "issued_at": issued}
        return 200, {}, body


def libtrust_kid(key: ec.EllipticCurvePrivateKey) -> str:
    """libtrust's key id: the first 240 bits of the sha256 of the DER public key, base32, in
    twelve groups of four joined by colons."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(text[i : i + 4] for i in range(0, 48, 4))


def _certificate(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@contextmanager
def token_server(username: str, password: str) -> Iterator[TokenServer]:
    server_state = TokenServer(username, password, ec.generate_private_key(ec.SECP256R1()))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = server_state.answer(self.path, headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in {**extra, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()


def bcrypt_hash(password: str) -> str:
    """An htpasswd line's hash, as ``htpasswd -B`` writes it (libxcrypt's bcrypt, via ctypes:
    the registry accepts bcrypt only)."""
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = lib.crypt.restype = ctypes.c_char_p
    salt = lib.crypt_gensalt(b"$2b$", 5, None, 0)
    return str(lib.crypt(password.encode(), salt).decode())


@contextmanager
def registry(
    root: Path,
    tokens: TokenServer | None = None,
    basic: tuple[str, str] | None = None,
    readonly: bool = False,
) -> Iterator[str]:
    """A running registry storing under ``root``; its base URL. Behind the token flow with
    ``tokens``, behind htpasswd (HTTP Basic) with ``basic`` (user, password); refusing every
    write with ``readonly`` (its ``maintenance: readonly`` mode)."""
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn"},  # the access log stays: tests count requests
        "storage": {"filesystem": {"rootdirectory": str(root / "storage")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if tokens is not None:
        bundle = root / "token-cert.pem"
        bundle.write_bytes(_certificate(tokens.key))
        config["auth"] = {
            "token": {
                "realm": tokens.url,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(bundle),
            }
        }
    if readonly:
        config["storage"]["maintenance"] = {"readonly": {"enabled": True}}
    if basic is not None:
        htpasswd = root / "htpasswd"
        htpasswd.write_text(f"{basic[0]}:{bcrypt_hash(basic[1])}\n")
        config["auth"] = {"htpasswd": {"realm": "registry", "path": str(htpasswd)}}
    path = root / "config.yml"
    path.write_text(json.dumps(config))  # YAML reads JSON
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(path)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"registry exited: {(root / 'registry.log').read_text()}")
        try:
            return httpx.get(f"{url}/v2/", timeout=1).status_code in (200, 401)
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=20, what="the registry to listen")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
