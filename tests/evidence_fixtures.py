"""Real parts for the evidence tests: a DKIM test key, a DNS server on 127.0.0.1 serving its record
(a local resolver, not the Internet), and an RFC 3161 time-stamping authority made with OpenSSL's
`ts` command, answering over HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# -- the device's chain ----------------------------------------------------------------------------


def new_chain(path: Path):
    """An evidence chain in a new SQLite file, its tables made as the companion's migration will."""
    import sqlite3

    import sqlite_utils

    from companion.evidence.chain import EvidenceChain, create_tables

    db = sqlite_utils.Database(sqlite3.connect(str(path)))
    create_tables(db)
    return EvidenceChain(db)


# -- DKIM ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_pem: bytes
    record: str  # the TXT record a domain would publish

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def sign(self, raw: bytes) -> bytes:
        import dkim

        signature = dkim.sign(
            raw,
            self.selector.encode(),
            self.domain.encode(),
            self.private_pem,
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        return signature + raw


def make_dkim_key(domain: str = "supplier.example", selector: str = "mw2026") -> DkimKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKey(domain, selector, pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())


# -- a DNS server on loopback ----------------------------------------------------------------------


@contextmanager
def local_dns(records: Mapping[str, str]) -> Iterator[int]:
    """A UDP DNS server on 127.0.0.1 answering TXT questions from `records` (NXDOMAIN otherwise);
    yields its port. Long records are split into 255-byte strings, as real zones do."""
    import dns.message
    import dns.rcode
    import dns.rdatatype
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            if name in records and question.rdtype == dns.rdatatype.TXT:
                value = records[name].encode()
                chunks = " ".join(f'"{value[i : i + 255].decode()}"' for i in range(0, len(value), 255))
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "TXT", chunks))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def closed_udp_port() -> int:
    """A loopback UDP port nothing listens on (a DNS that never answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- an RFC 3161 time-stamping authority -----------------------------------------------------------

_TSA_CONF = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class LocalTsa:
    """A real TSA: `openssl ts -reply` behind HTTP on 127.0.0.1 (url), with its own root CA."""

    url: str
    root_pem: bytes
    tsa_pem: bytes
    directory: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tsa_pki(directory: Path, name: str = "Mailwarden Test TSA") -> Path:
    """A root CA and a time-stamping certificate it signed (critical timeStamping EKU)."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is missing: scripts/system-deps.sh test installs it")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tsa.cnf").write_text(_TSA_CONF.replace("{dir}", str(directory)), encoding="utf-8")
    (directory / "serial").write_text("01\n", encoding="ascii")
    new_key = ["-config", "tsa.cnf", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(
        "req",
        *new_key,
        "-x509",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-days",
        "3650",
        "-subj",
        f"/CN={name} Root CA",
        "-extensions",
        "root_ext",
        cwd=directory,
    )
    _openssl("req", *new_key, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name}", cwd=directory)
    _openssl(
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-CAcreateserial",
        "-out",
        "tsa.pem",
        "-days",
        "3650",
        "-extfile",
        "tsa.cnf",
        "-extensions",
        "tsa_ext",
        cwd=directory,
    )
    return directory


@contextmanager
def local_tsa(directory: Path) -> Iterator[LocalTsa]:
    """Serve `openssl ts -reply` on 127.0.0.1 for the PKI in `directory` (make_tsa_pki)."""
    lock = threading.Lock()  # openssl bumps the serial file: one reply at a time

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != "/tsa":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length", 0))
            query = self.rfile.read(length)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415, "expected application/timestamp-query")
                return
            with lock:
                (directory / "query.tsq").write_bytes(query)
                done = subprocess.run(
                    [
                        "openssl",
                        "ts",
                        "-reply",
                        "-config",
                        "tsa.cnf",
                        "-queryfile",
                        "query.tsq",
                        "-out",
                        "reply.tsr",
                    ],
                    cwd=directory,
                    capture_output=True,
                )
                reply = (directory / "reply.tsr").read_bytes() if done.returncode == 0 else b""
            if not reply:
                self.send_error(400, "openssl ts refused the query")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalTsa(
            f"http://127.0.0.1:{server.server_address[1]}/tsa",
            (directory / "root.pem").read_bytes(),
            (directory / "tsa.pem").read_bytes(),
            directory,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
