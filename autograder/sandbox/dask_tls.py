"""Certificates for a grading cluster: mutual TLS between scheduler, workers and the grader.

A Dask scheduler runs whatever its clients submit on its workers, so whoever can talk to it
controls them. With TLS and a certificate authority of the course's own, the scheduler accepts
only workers and clients that hold a certificate it signed (Dask requires the peer's
certificate, `ssl.CERT_REQUIRED`), and everything on the wire is encrypted. `make_certificates`
writes the authority and one key pair per role into a private folder; the CA's key stays
there (it signs nothing else), the others are copied to the machines that need them.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from autograder.errors import CourseError

ROLES = ("scheduler", "worker", "client")
VALID_DAYS = 365


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rnn-course grading cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_certificates(folder: Path, days: int = VALID_DAYS) -> list[Path]:
    """ca.pem (+ ca-key.pem) and <role>.pem + <role>-key.pem for scheduler, worker and client,
    in `folder` (created mode 700; refuses to overwrite a folder that has a CA already)."""
    folder = Path(folder).expanduser()
    if (folder / "ca.pem").exists():
        raise CourseError(f"{folder} holds certificates already; choose an empty folder")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("rnn-course grading CA"))
        .issuer_name(_name("rnn-course grading CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA384())
    )
    written = [folder / "ca.pem", folder / "ca-key.pem"]
    written[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_private(written[1], _pem_key(ca_key))
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP384R1())
        usage = [x509.ExtendedKeyUsageOID.SERVER_AUTH, x509.ExtendedKeyUsageOID.CLIENT_AUTH]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(f"rnn-course {role}"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
            .sign(ca_key, hashes.SHA384())
        )
        cert_path, key_path = folder / f"{role}.pem", folder / f"{role}-key.pem"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        _write_private(key_path, _pem_key(key))
        written += [cert_path, key_path]
    return written


def client_security(folder: Path):
    """Dask's `Security` for the grader: the course's CA, the client's key pair, TLS only."""
    from distributed.security import Security

    folder = Path(folder).expanduser()
    needed = [folder / name for name in ("ca.pem", "client.pem", "client-key.pem")]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise CourseError(
            f"--tls-folder {folder}: missing {', '.join(missing)}; make them with "
            "`rnn-course dask-certificates --out FOLDER`"
        )
    return Security(
        tls_ca_file=str(needed[0]),
        tls_client_cert=str(needed[1]),
        tls_client_key=str(needed[2]),
        require_encryption=True,
    )
