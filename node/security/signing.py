"""Signing what a node makes with its node key, and checking what another node signed.

A secure node's TLS key (EC P-256, issued by the federation CA with `cascade pki`) also signs:
ECDSA with SHA-256 over bytes the caller chooses (for a sharing request, the canonical bytes of
one version, node/model/request.py). A signature travels with the signer's certificate (DER), so
any node can check it against the federation CA alone: the certificate must chain to a CA in
the CA file, be a node certificate, and name the claimed signer.

Checking a certificate (parsing, the CA's signature) costs far more than checking a signature
with it, and a federation has a few dozen node certificates, so verified certificates are kept
by their DER bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from node.security.pki import PkiError, identity_of
from node.security.sealing import open_sealed
from node.security.tls import TlsError

KNOWN_CERTIFICATES = 1024  # more than a federation has nodes, rotations included


class NodeKey:
    """This node's signing key and the certificate that vouches for it (the node's TLS files)."""

    def __init__(self, cert: str | os.PathLike, key: str | os.PathLike):
        self.paths = (Path(cert), Path(key))
        self.reload()

    def reload(self) -> None:
        """Reads the files again (after a rotation: SIGHUP); later signatures use the new key."""
        try:
            cert = x509.load_pem_x509_certificate(self.paths[0].read_bytes())
            key = serialization.load_pem_private_key(self.paths[1].read_bytes(), password=None)
            self.node_id, _ = identity_of(cert.public_bytes(serialization.Encoding.PEM))
        except (OSError, ValueError, TypeError, PkiError) as error:  # TypeError: an encrypted key
            raise TlsError(f"{self.paths[0]} / {self.paths[1]}: cannot sign with them: {error}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TlsError(f"{self.paths[1]}: a node key must be an EC key to sign")
        raw = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
            # Half-way through a rotation (the new key, the old certificate): keep the old pair,
            # whose signatures every node can still check.
            raise TlsError(f"{self.paths[1]}: the key file does not belong to {self.paths[0]}")
        self._pair = (key, cert.public_bytes(serialization.Encoding.DER))

    def sign(self, data: bytes) -> tuple[bytes, bytes]:
        """(signature, certificate DER) for `data`."""
        key, cert_der = self._pair
        return key.sign(data, ec.ECDSA(hashes.SHA256())), cert_der

    def unseal(self, sealed: bytes, context: bytes) -> bytes:
        """Opens bytes another node sealed to this node's certificate (node/security/sealing.py)."""
        return open_sealed(self._pair[0], sealed, context)


class Verifier:
    """Checks signatures against the federation CA file (which may hold an old and a new CA)."""

    def __init__(self, ca: str | os.PathLike, pem: bytes | None = None):
        try:
            # The CA file's bytes are kept so that a worker process can check with the same CAs
            # (`verifier_for`), even if the file has changed since.
            self.ca_pem = Path(ca).read_bytes() if pem is None else pem
            self.authorities = x509.load_pem_x509_certificates(self.ca_pem)
        except (OSError, ValueError) as error:
            raise TlsError(f"{ca}: cannot read the federation CA: {error}") from None
        self._known: dict[bytes, tuple[str, ec.EllipticCurvePublicKey, x509.Certificate] | str] = {}
        self._lock = threading.Lock()

    def verify(self, signer: str, data: bytes, signature: bytes, cert_der: bytes,
               at: dt.datetime | None = None) -> str | None:
        """Why the signature does not prove that node `signer` signed `data` (None: it does).
        With `at`, the certificate must also be valid at that moment."""
        if not signature or not cert_der:
            return "unsigned"
        known = self._certificate(cert_der)
        if isinstance(known, str):
            return known
        name, public_key, cert = known
        if name != signer:
            return f"signed with the certificate of {name}, not of {signer or '(nobody)'}"
        if at is not None and not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            return f"the certificate of {name} is not valid at {at.isoformat()}"
        try:
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return f"the signature of {signer} does not match the version"
        return None

    def _certificate(self, cert_der: bytes):
        with self._lock:
            known = self._known.get(cert_der)
        if known is not None:
            return known
        known = self._check_certificate(cert_der)
        with self._lock:
            if len(self._known) >= KNOWN_CERTIFICATES:
                self._known.pop(next(iter(self._known)))
            self._known[cert_der] = known
        return known

    def _check_certificate(self, cert_der: bytes):
        """(node id, public key, certificate) of a node certificate the CA issued, or why not."""
        try:
            cert = x509.load_der_x509_certificate(cert_der)
            name, kind = identity_of(cert.public_bytes(serialization.Encoding.PEM))
        except (ValueError, PkiError) as error:
            return f"the signer's certificate cannot be read: {error}"
        if kind != "node":
            return f"the certificate of {name} is a {kind} certificate, not a node's"
        public_key = cert.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            return f"the certificate of {name} has no EC key"
        for authority in self.authorities:
            try:
                cert.verify_directly_issued_by(authority)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return name, public_key, cert
        return f"the certificate of {name} was not issued by the federation CA"


@functools.lru_cache(maxsize=4)
def verifier_for(ca_pem: bytes) -> Verifier:
    """A verifier of the CAs in `ca_pem`, one per process (a worker process checks the signatures
    of many batches, and its verifier keeps the certificates it has checked)."""
    return Verifier("(federation CA)", pem=ca_pem)
