"""The device certificate (pbxd.web.tls) and the API served over HTTPS with it.

The certificate is read back with `cryptography` and checked by a TLS client that trusts
nothing but `tls/device.crt`, as an administrator's browser does once he imported it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import ssl
import stat
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from tornado.httpclient import AsyncHTTPClient
from tornado.testing import AsyncHTTPSTestCase

from pbxd.cli import build_parser, main
from pbxd.web import make_app
from pbxd.web.tls import CertificateError, ensure_device_certificate, load_device_certificate

from .sessiontest import SessionTestCase, session_cookie

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def read_pair(data_dir: Path) -> tuple[x509.Certificate, Any]:
    tls = data_dir / "tls"
    certificate = x509.load_pem_x509_certificate((tls / "device.crt").read_bytes())
    key = serialization.load_pem_private_key((tls / "device.key").read_bytes(), None)
    return certificate, key


def alt_names(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName), [
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    ]


def client_context(ca_file: Path) -> ssl.SSLContext:
    """A TLS client that trusts `ca_file` only (checks the name too)."""
    return ssl.create_default_context(cafile=str(ca_file))


# -- a company CA and its server certificate: what an administrator may install ----------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def company_pair(hostname: str = "pbx.example.com") -> tuple[bytes, bytes, bytes]:
    """(certificate chain PEM: server then CA, server key PEM, CA certificate PEM); RSA."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = datetime.now(UTC) - timedelta(days=1)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Example Corp CA"))
        .issuer_name(_name("Example Corp CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(hostname))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return server.public_bytes(pem) + ca.public_bytes(pem), key_pem, ca.public_bytes(pem)


def install(data_dir: Path, cert: bytes | None, key: bytes | None) -> None:
    tls = data_dir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    if cert is not None:
        (tls / "device.crt").write_bytes(cert)
    if key is not None:
        (tls / "device.key").write_bytes(key)
        os.chmod(tls / "device.key", 0o600)


# -- generation -------------------------------------------------------------------------------


def test_first_start_makes_a_self_signed_p256_certificate_for_the_device(tmp_path: Path):
    made = ensure_device_certificate(
        tmp_path, hostname="coocenter-s10", addresses=("0.0.0.0", "192.0.2.7"), now=NOW
    )
    assert made.generated
    certificate, key = read_pair(tmp_path)
    names, ips = alt_names(certificate)
    assert names == ["coocenter-s10", "localhost"]
    assert ips == ["127.0.0.1", "::1", "192.0.2.7"]  # the wildcard bind address left out
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert certificate.issuer == certificate.subject and made.self_signed
    assert certificate.not_valid_before_utc <= NOW
    assert certificate.not_valid_after_utc - NOW >= timedelta(days=3650)
    # what the API shows is the file's
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert made.fingerprint_sha256 == hashlib.sha256(der).digest().hex(":").upper()
    info = made.info(8443)
    assert info["https_port"] == 8443 and info["self_signed"] is True
    assert info["not_after"] == certificate.not_valid_after_utc.isoformat().replace("+00:00", "Z")
    assert info["alt_names"] == ["coocenter-s10", "localhost", "127.0.0.1", "::1", "192.0.2.7"]


def test_the_key_is_private_and_nothing_else_is_left_behind(tmp_path: Path):
    old_umask = os.umask(0)  # a careless umask must not make the key readable
    try:
        ensure_device_certificate(tmp_path, hostname="pbx", now=NOW)
    finally:
        os.umask(old_umask)
    tls = tmp_path / "tls"
    assert stat.S_IMODE((tls / "device.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(tls.stat().st_mode) & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tls"]
    assert sorted(p.name for p in tls.iterdir()) == ["device.crt", "device.key"]


def test_a_bound_address_goes_into_the_certificate(tmp_path: Path):
    made = ensure_device_certificate(tmp_path, hostname="pbx", addresses=("10.1.2.3",), now=NOW)
    _, ips = alt_names(read_pair(tmp_path)[0])
    assert "10.1.2.3" in ips and "10.1.2.3" in made.alt_names


def test_a_clock_still_in_1970_does_not_date_the_certificate_there(tmp_path: Path):
    ensure_device_certificate(tmp_path, hostname="pbx", now=datetime(1970, 1, 1, tzinfo=UTC))
    certificate, _ = read_pair(tmp_path)
    assert certificate.not_valid_before_utc.year >= 2023
    assert certificate.not_valid_after_utc > datetime(2033, 1, 1, tzinfo=UTC)


def test_the_second_start_reuses_the_certificate(tmp_path: Path):
    first = ensure_device_certificate(tmp_path, hostname="pbx", now=NOW)
    files = {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()}
    second = ensure_device_certificate(tmp_path, hostname="another-name", now=NOW)
    assert not second.generated
    assert second.fingerprint_sha256 == first.fingerprint_sha256
    assert {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()} == files


def test_an_empty_tls_directory_or_other_files_there_are_fine(tmp_path: Path):
    (tmp_path / "tls").mkdir()
    assert ensure_device_certificate(tmp_path, hostname="pbx", now=NOW).generated
    other = tmp_path / "other"
    (other / "tls").mkdir(parents=True)
    (other / "tls" / "README").write_text("the admin's notes")
    assert ensure_device_certificate(other, hostname="pbx", now=NOW).generated
    assert (other / "tls" / "README").read_text() == "the admin's notes"
    assert stat.S_IMODE((other / "tls" / "device.key").stat().st_mode) == 0o600


def test_leftovers_of_an_interrupted_generation_are_cleaned_up(tmp_path: Path):
    leftover = tmp_path / ".tls-new-abc123"
    leftover.mkdir()
    (leftover / "device.key").write_bytes(b"half written")
    ensure_device_certificate(tmp_path, hostname="pbx", now=NOW)
    assert not leftover.exists()


# -- an administrator's own certificate ---------------------------------------------------------


def test_an_administrators_certificate_is_used_as_it_is(tmp_path: Path):
    chain, key, _ = company_pair()
    install(tmp_path, chain, key)
    loaded = ensure_device_certificate(tmp_path, hostname="pbx", now=NOW)
    assert not loaded.generated and not loaded.self_signed
    assert loaded.subject == "CN=pbx.example.com" and loaded.issuer == "CN=Example Corp CA"
    assert loaded.alt_names == ("pbx.example.com",)
    leaf = x509.load_pem_x509_certificates(chain)[0]
    assert loaded.fingerprint_sha256 == leaf.fingerprint(hashes.SHA256()).hex(":").upper()
    assert (tmp_path / "tls" / "device.crt").read_bytes() == chain  # untouched
    assert (tmp_path / "tls" / "device.key").read_bytes() == key


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        (b"not a certificate\n", None, "device.crt is not a PEM certificate"),
        (None, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
         "device.key is not a PEM private key"),
        ("other", None, "device.key is not the private key of"),
        (None, "encrypted", "device.key is encrypted with a passphrase"),
    ],
)  # fmt: skip
def test_a_broken_pair_is_refused_with_a_clear_message(tmp_path: Path, cert, key, message):
    chain, good_key, _ = company_pair()
    if cert == "other":
        cert = company_pair()[0]  # another key's certificate
    if key == "encrypted":
        loaded = serialization.load_pem_private_key(good_key, None)
        key = loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    install(tmp_path, cert or chain, key or good_key)
    before = {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()}
    with pytest.raises(CertificateError, match=message):
        ensure_device_certificate(tmp_path, hostname="pbx", now=NOW)
    # nothing of the administrator's is replaced
    assert {p.name: p.read_bytes() for p in (tmp_path / "tls").iterdir()} == before


@pytest.mark.parametrize("present", ["device.crt", "device.key"])
def test_one_file_without_the_other_is_refused_not_overwritten(tmp_path: Path, present: str):
    chain, key, _ = company_pair()
    install(tmp_path, chain if present == "device.crt" else None, key if present != "device.crt"
            else None)  # fmt: skip
    with pytest.raises(CertificateError, match=f"{present} exists but .* does not"):
        ensure_device_certificate(tmp_path, hostname="pbx", now=NOW)
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == [present]


def test_an_unreadable_file_is_named(tmp_path: Path):
    install(tmp_path, None, None)
    (tmp_path / "tls" / "device.crt").mkdir()  # exists, cannot be read as a file
    (tmp_path / "tls" / "device.key").write_bytes(b"x")
    with pytest.raises(CertificateError, match="cannot read .*device.crt"):
        load_device_certificate(tmp_path / "tls" / "device.crt", tmp_path / "tls" / "device.key")


# -- the command line ---------------------------------------------------------------------------


def test_https_is_off_unless_a_port_is_given(tmp_path: Path):
    args = build_parser().parse_args(["--data-dir", str(tmp_path)])
    assert args.https_port == 0
    args = build_parser().parse_args(["--data-dir", str(tmp_path), "--https-port", "8443"])
    assert args.https_port == 8443


def test_https_and_http_on_one_port_is_refused(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--data-dir", str(tmp_path), "--http-port", "8080", "--https-port", "8080"])
    assert exit_info.value.code == 2
    assert "--https-port must differ from --http-port" in capsys.readouterr().err


def test_a_broken_certificate_stops_pbxd_at_start(tmp_path: Path, capsys):
    install(tmp_path, b"garbage\n", b"garbage\n")
    code = main(["--data-dir", str(tmp_path), "--bind", "127.0.0.1", "--http-port", "1",
                 "--sip-port", "1", "--https-port", "2"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "pbxd: cannot start:" in err and "device.crt is not a PEM certificate" in err


# -- served over HTTPS ------------------------------------------------------------------------


class HttpsApiTest(SessionTestCase, AsyncHTTPSTestCase):
    """The API on an HTTPS server with a generated device certificate; the client trusts
    that certificate alone and checks the name (127.0.0.1 is in its subjectAltName)."""

    def setUp(self) -> None:
        self.tls_home = Path(tempfile.mkdtemp(prefix="pbxd-tls-"))
        self.certificate = ensure_device_certificate(self.tls_home, hostname="pbx-test")
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        shutil.rmtree(self.tls_home, ignore_errors=True)

    def get_app(self):
        return make_app(
            self.services,
            clock=self.monotonic,
            tls=self.certificate.info(self.get_http_port()),
        )

    def get_ssl_options(self) -> ssl.SSLContext:  # type: ignore[override]
        return self.certificate.context

    def get_httpserver_options(self) -> dict[str, Any]:
        return {**AsyncHTTPSTestCase.get_httpserver_options(self), "max_body_size": 1 << 20}

    def get_http_client(self) -> AsyncHTTPClient:
        trusted = client_context(self.tls_home / "tls" / "device.crt")
        return AsyncHTTPClient(force_instance=True, defaults={"ssl_options": trusted})

    def test_health_answers_to_a_client_trusting_the_device_certificate(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/health")
        assert (status, data) == (200, {"status": "ok"})

    def test_system_info_shows_the_certificate_being_served(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/system/info", token=self.login())
        assert status == 200, data
        assert data["hostname"] and isinstance(data["interfaces"], list)  # kept as they were
        tls = data["tls"]
        # what a client sees on the wire (in a thread: this loop runs the server)
        address = ("127.0.0.1", self.get_http_port())
        served = self.io_loop.run_sync(
            lambda: asyncio.to_thread(ssl.get_server_certificate, address), timeout=10
        )
        der = ssl.PEM_cert_to_DER_cert(served)
        assert tls["fingerprint_sha256"] == hashlib.sha256(der).digest().hex(":").upper()
        assert tls["https_port"] == self.get_http_port()
        assert tls["self_signed"] is True and "pbx-test" in tls["alt_names"]
        assert tls["not_before"].endswith("Z") and tls["not_after"] > tls["not_before"]

    def test_a_session_over_https_gets_a_secure_cookie_and_same_origin_writes_pass(self) -> None:
        origin = {"Origin": f"https://127.0.0.1:{self.get_http_port()}"}
        status, _, response = self.session_login(headers=origin)
        assert status == 200
        assert session_cookie(response)["pbxd_session"]["secure"] is True
        browser = self.browser()
        body = {"number": "1001", "name": "Alice", "secret": "alice-secret-1"}
        assert browser.call("POST", "/api/v1/extensions", body, headers=origin)[0] == 201
        foreign = {"Origin": f"http://127.0.0.1:{self.get_http_port() + 1}"}
        body = {"number": "1002", "name": "Bob", "secret": "bob-secret-12"}
        status, data, _ = browser.call("POST", "/api/v1/extensions", body, headers=foreign)
        assert (status, data["error"]["code"]) == (403, "csrf")


class HttpOnlyInfoTest(SessionTestCase):
    def test_system_info_says_there_is_no_https(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/system/info", token=self.login())
        assert status == 200 and data["tls"] is None
