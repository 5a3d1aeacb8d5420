"""The device certificate: HTTPS for the web console and wss:// for the browser softphone.

Browsers give a page the microphone (getUserMedia) only on a secure origin: http://localhost
or HTTPS. An agent at another desk therefore opens https://<device>:<https port>/, served with
the certificate in `<data dir>/tls/`:

- `device.crt`: PEM, the server certificate first, then any intermediate certificates;
- `device.key`: PEM, its private key, unencrypted (pbxd cannot ask for a passphrase).

When neither file exists at start, pbxd makes a self-signed one (ECDSA P-256, 10 years; its
subjectAltName holds the host name, `localhost`, 127.0.0.1, ::1 and the bind and external
addresses). An administrator may put his own pair there instead (a certificate of the
company's CA, for a warning-free browser); pbxd uses it as it is. A pair it cannot use
(unreadable, not PEM, an encrypted key, a key that is not the certificate's, one of the two
files missing) stops pbxd at start with a `CertificateError` naming the file: it never
overwrites what an administrator put there.

The certificate is read once at start: replacing the files takes a restart.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import shutil
import socket
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

log = logging.getLogger(__name__)

TLS_DIR = "tls"
CERT_FILE = "device.crt"
KEY_FILE = "device.key"
VALID_DAYS = 3650  # 10 years: the appliance outlives a short certificate, and nobody renews it
# A device without a battery-backed clock may start in 1970 before NTP answers: a certificate
# dated then would have expired long ago in every browser. No firmware was built before this.
CLOCK_FLOOR = datetime(2024, 1, 1, tzinfo=UTC)
BACKDATE = timedelta(days=1)  # clients whose clocks run a little behind still accept it
_STAGING_PREFIX = ".tls-new-"
_WILDCARDS = ("0.0.0.0", "::", "")


class CertificateError(Exception):
    """The device certificate cannot be used: pbxd does not start (the message says why)."""


@dataclass(frozen=True)
class DeviceCertificate:
    """The certificate pbxd serves, read from its files, with the TLS context to serve it."""

    cert_path: Path
    key_path: Path
    fingerprint_sha256: str  # "AB:CD:...", as browsers show it
    subject: str  # RFC 4514, e.g. "CN=CooCenter S10 coocenter-s10"
    issuer: str
    not_before: datetime  # UTC
    not_after: datetime
    alt_names: tuple[str, ...]  # DNS names and IP addresses of the subjectAltName
    generated: bool  # made by this start (else: found in the data directory)
    context: ssl.SSLContext = field(repr=False, compare=False)

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def info(self, https_port: int) -> dict[str, Any]:
        """The `tls` object of GET /api/v1/system/info."""
        return {
            "https_port": https_port,
            "fingerprint_sha256": self.fingerprint_sha256,
            "subject": self.subject,
            "issuer": self.issuer,
            "self_signed": self.self_signed,
            "not_before": _iso(self.not_before),
            "not_after": _iso(self.not_after),
            "alt_names": list(self.alt_names),
        }


def ensure_device_certificate(
    data_dir: Path,
    *,
    addresses: Iterable[str] = (),
    hostname: str | None = None,
    now: datetime | None = None,
) -> DeviceCertificate:
    """The certificate in `data_dir/tls/`, made first when neither of its files exists.

    `addresses`: where the device is reached besides the loopback addresses (the bind
    address, the external address); wildcards and None-like values are left out.
    """
    tls_dir = data_dir / TLS_DIR
    cert_path, key_path = tls_dir / CERT_FILE, tls_dir / KEY_FILE
    _remove_staging_leftovers(data_dir)
    have_cert, have_key = cert_path.exists(), key_path.exists()
    if have_cert != have_key:
        present, missing = (cert_path, key_path) if have_cert else (key_path, cert_path)
        raise CertificateError(
            f"{present} exists but {missing} does not: put both files there, or remove "
            f"{present} to have pbxd make a new self-signed certificate"
        )
    if have_cert:
        return load_device_certificate(cert_path, key_path)
    name = socket.gethostname() if hostname is None else hostname
    cert_pem, key_pem = make_self_signed(name, addresses, now or datetime.now(UTC))
    _install(data_dir, tls_dir, cert_pem, key_pem)
    certificate = load_device_certificate(cert_path, key_path, generated=True)
    log.info(
        "made a self-signed device certificate %s (SHA-256 %s) for %s",
        cert_path,
        certificate.fingerprint_sha256,
        ", ".join(certificate.alt_names),
    )
    return certificate


def make_self_signed(hostname: str, addresses: Iterable[str], now: datetime) -> tuple[bytes, bytes]:
    """(certificate, private key), both PEM: ECDSA P-256, valid VALID_DAYS."""
    c = _crypto()
    x509 = c.x509
    key = c.ec.generate_private_key(c.ec.SECP256R1())
    dns_names, ips = _alt_names(hostname, addresses)
    if now < CLOCK_FLOOR:
        log.warning("the clock says %s: dating the device certificate from %s", now, CLOCK_FLOOR)
        now = CLOCK_FLOOR
    label = f"CooCenter S10 {dns_names[0]}"[:64]  # RFC 5280: a common name has 64 characters
    name = x509.Name([
        x509.NameAttribute(c.NameOID.COMMON_NAME, label),
        x509.NameAttribute(c.NameOID.ORGANIZATION_NAME, "CooCenter S10 (self-signed)"),
    ])  # fmt: skip
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(a) for a in ips]
            ),
            critical=False,
        )
        # An end-entity certificate (browsers take an exception for it, or an administrator
        # trusts it as it is); the key identifiers keep strict verifiers (X509_STRICT) happy.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([c.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, c.hashes.SHA256())
    )
    pem = c.serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, c.serialization.PrivateFormat.PKCS8, c.serialization.NoEncryption()
    )
    return certificate.public_bytes(pem), key_pem


def load_device_certificate(
    cert_path: Path, key_path: Path, *, generated: bool = False
) -> DeviceCertificate:
    """Read and check a certificate and its key; CertificateError says what is wrong."""
    c = _crypto()
    cert_data, key_data = _read(cert_path), _read(key_path)
    try:
        chain = c.x509.load_pem_x509_certificates(cert_data)
    except ValueError as exc:
        raise CertificateError(
            f"{cert_path} is not a PEM certificate (-----BEGIN CERTIFICATE-----): {exc}"
        ) from None
    leaf = chain[0]
    try:
        key = c.serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise CertificateError(
            f"{key_path} is encrypted with a passphrase, which pbxd cannot ask for: store it "
            "unencrypted (openssl pkey -in encrypted.key -out device.key)"
        ) from None
    except (ValueError, c.UnsupportedAlgorithm) as exc:
        raise CertificateError(f"{key_path} is not a PEM private key: {exc}") from None
    spki = c.serialization.Encoding.PEM, c.serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise CertificateError(
            f"{key_path} is not the private key of {cert_path} (the first certificate there)"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as exc:
        raise CertificateError(f"{cert_path}, {key_path}: TLS refuses them: {exc}") from None
    not_before, not_after = _validity(leaf)
    now = datetime.now(UTC)
    if not_after < now:
        log.warning("the device certificate %s expired on %s: browsers refuse it", cert_path,
                    _iso(not_after))  # fmt: skip
    if os.stat(key_path).st_mode & 0o077:
        log.warning("%s can be read by other users: chmod 600 it", key_path)
    return DeviceCertificate(
        cert_path=cert_path,
        key_path=key_path,
        fingerprint_sha256=leaf.fingerprint(c.hashes.SHA256()).hex(":").upper(),
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=not_before,
        not_after=not_after,
        alt_names=_san_of(leaf, c.x509),
        generated=generated,
        context=context,
    )


# -- helpers ------------------------------------------------------------------------------------


def _crypto() -> SimpleNamespace:
    """The `cryptography` modules, imported on first use: only HTTPS needs them."""
    try:
        from cryptography import x509
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:
        raise CertificateError(
            f"HTTPS needs the Python package cryptography (Debian: python3-cryptography): {exc}"
        ) from None
    return SimpleNamespace(
        x509=x509,
        hashes=hashes,
        serialization=serialization,
        ec=ec,
        NameOID=NameOID,
        ExtendedKeyUsageOID=ExtendedKeyUsageOID,
        UnsupportedAlgorithm=UnsupportedAlgorithm,
    )


def _alt_names(
    hostname: str, addresses: Iterable[str]
) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """subjectAltName entries: DNS names (the host name first when usable), IP addresses."""
    names: list[str] = []
    host = hostname.strip().rstrip(".").lower()
    if host and host.isascii() and host != "localhost":
        names.append(host)
    names.append("localhost")
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    for text in addresses:
        if not text or text in _WILDCARDS:
            continue
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address not in ips and not address.is_unspecified:
            ips.append(address)
    return names, ips


def _san_of(certificate, x509) -> tuple[str, ...]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san.get_values_for_type(x509.DNSName)) + tuple(
        str(address) for address in san.get_values_for_type(x509.IPAddress)
    )


def _validity(certificate) -> tuple[datetime, datetime]:
    # cryptography >= 42 has the aware *_utc properties; Debian's older ones the naive pair.
    if hasattr(certificate, "not_valid_before_utc"):
        return certificate.not_valid_before_utc, certificate.not_valid_after_utc
    return (
        certificate.not_valid_before.replace(tzinfo=UTC),
        certificate.not_valid_after.replace(tzinfo=UTC),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read {path}: {exc.strerror or exc}") from None


def _install(data_dir: Path, tls_dir: Path, cert_pem: bytes, key_pem: bytes) -> None:
    """Write the pair so that a crash or power loss leaves both files or neither: both go into
    a fresh directory (mode 0700) that is then renamed to tls/ in one step."""
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=data_dir))
    try:
        _write_synced(staging / KEY_FILE, key_pem, 0o600)
        _write_synced(staging / CERT_FILE, cert_pem, 0o644)
        _fsync_directory(staging)
        try:
            # An empty tls/ (an administrator made it, or emptied it) is replaced too.
            os.rename(staging, tls_dir)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            # tls/ holds other files: move the two in, the key first (a key without its
            # certificate is refused with a clear message at the next start).
            os.replace(staging / KEY_FILE, tls_dir / KEY_FILE)
            os.replace(staging / CERT_FILE, tls_dir / CERT_FILE)
            _fsync_directory(tls_dir)
        _fsync_directory(data_dir)
    except OSError as exc:
        raise CertificateError(f"cannot write the device certificate to {tls_dir}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_synced(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)  # whatever the umask says
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_staging_leftovers(data_dir: Path) -> None:
    """A start cut short while making the certificate leaves its staging directory behind."""
    try:
        leftovers = [p for p in data_dir.iterdir() if p.name.startswith(_STAGING_PREFIX)]
    except OSError:
        return
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
