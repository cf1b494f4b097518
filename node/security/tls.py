"""Mutual-TLS credentials for a node: a server that picks up rotated files without restart, and clients that name the peer they expect.

How grpcio 1.85 behaves (found by experiment, pinned by tests/test_pki_and_tls.py):

- A client certificate from another CA, an expired one or a not-yet-valid one is refused in
  the handshake. The server logs it at INFO ("CERTIFICATE_VERIFY_FAILED: unable to get local
  issuer certificate" / "certificate has expired" / "certificate is not yet valid"); no handler
  runs. The client's call fails with UNAVAILABLE ("failed to connect to all addresses ... Socket
  closed"): under TLS 1.3 the server checks the client's certificate after the client thinks the
  handshake is done, so the client learns nothing more specific.
- The client checks the server's certificate against the name in
  `grpc.ssl_target_name_override` (else the host of the address). On a mismatch the call fails
  with UNAVAILABLE whose details say "Hostname Verification Check failed".
- `grpc.dynamic_ssl_server_credentials(initial, fetcher, require_client_authentication=True)`
  calls `fetcher()` before every new connection's handshake, on a gRPC core thread, never at
  start. Returning None keeps the current configuration; returning a new
  `grpc.ssl_server_certificate_configuration` (certificate pairs and root CAs) applies it to that
  handshake and all later ones; a fetcher that raises is logged by gRPC and the previous
  configuration stays. Open connections keep the certificates they were made with.
- Channel credentials are fixed when made: a client picks up its own rotated certificate on
  its next channel.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from node.security.pki import PkiError, identity_of


class TlsError(Exception):
    """The node's certificate files cannot be used; the message names the file and the problem."""


def channel_credentials(cert: str | os.PathLike, key: str | os.PathLike, ca: str | os.PathLike) -> grpc.ChannelCredentials:
    """Credentials for calling peers: this node's certificate and key, trusting only the federation CA."""
    return grpc.ssl_channel_credentials(_read(ca), _read(key), _read(cert))


def peer_options(node_id: str) -> list[tuple[str, str]]:
    """Channel options that make the client accept only a server whose certificate names `node_id`."""
    # Peers are addressed by IP or an internal host name; the certificate names the node, not the host.
    return [("grpc.ssl_target_name_override", node_id)]


def caller_identity(context) -> tuple[str, str] | None:
    """(name, kind) of the certificate the caller presented, or None when the call came without one."""
    pems = context.auth_context().get("x509_pem_cert")
    if not pems:
        return None
    try:
        return identity_of(pems[0])
    except PkiError:
        return None


class ServerTls:
    """A server's certificate, key and CA files; gRPC asks before every handshake whether they changed."""

    def __init__(self, cert: str | os.PathLike, key: str | os.PathLike, ca: str | os.PathLike, *, watch: bool = True):
        self.paths = (Path(cert), Path(key), Path(ca))
        self.watch = watch
        self.last_error: Exception | None = None  # why the last automatic re-read was not applied
        self._lock = threading.Lock()
        self._stamp = self._stamp_files()
        self._pending: grpc.ServerCertificateConfiguration | None = None
        initial = self._configuration()
        self.credentials: grpc.ServerCredentials = grpc.dynamic_ssl_server_credentials(
            initial, self._fetch, require_client_authentication=True)

    def reload(self) -> None:
        """Re-read the files now (on SIGHUP); raises TlsError, keeping the old ones, if they are unusable."""
        with self._lock:
            stamp = self._stamp_files()
            self._pending = self._configuration()
            self._stamp = stamp
            self.last_error = None

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        with self._lock:
            if self._pending is None and self.watch:
                self._notice_changes()
            configuration, self._pending = self._pending, None
            return configuration

    def _notice_changes(self) -> None:
        stamp = self._stamp_files()
        if stamp == self._stamp:
            return
        # Remember the stamp even when the files are unusable, so that a half-finished rotation
        # is read again once its next file lands, not on every handshake in between.
        self._stamp = stamp
        try:
            self._pending = self._configuration()
            self.last_error = None
        except TlsError as error:
            self.last_error = error

    def _stamp_files(self) -> tuple:
        stamps = []
        for path in self.paths:
            try:
                status = path.stat()
            except OSError:
                stamps.append(None)
            else:
                # The inode catches os.replace even within one mtime tick; mtime catches `touch`.
                stamps.append((status.st_ino, status.st_mtime_ns, status.st_size))
        return tuple(stamps)

    def _configuration(self) -> grpc.ServerCertificateConfiguration:
        cert_path, key_path, ca_path = self.paths
        cert_pem, key_pem, ca_pem = _read(cert_path), _read(key_path), _read(ca_path)
        check_pair(cert_pem, key_pem, ca_pem, where=cert_path)
        return grpc.ssl_server_certificate_configuration([(key_pem, cert_pem)], root_certificates=ca_pem)


def server_credentials(cert: str | os.PathLike, key: str | os.PathLike, ca: str | os.PathLike,
                       *, reload: bool = True) -> ServerTls:
    """Server credentials that require a client certificate from the CA; pass `.credentials` to `add_secure_port`.

    With `reload` (the default) changed files are noticed at the next handshake; either way the
    returned object's `reload()` re-reads them at once (SIGHUP).
    """
    return ServerTls(cert, key, ca, watch=reload)


def check_pair(cert_pem: bytes, key_pem: bytes, ca_pem: bytes, *, where: Path) -> None:
    """Refuse a certificate whose key does not match it or that no CA in the bundle issued.

    gRPC would only find out in the next handshake and refuse every caller; finding out here lets
    the node keep serving with the files it has.
    """
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        authorities = x509.load_pem_x509_certificates(ca_pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:  # TypeError: an encrypted key
        raise TlsError(f"{where}: cannot read the certificate, key or CA: {error}") from None
    raw = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
        raise TlsError(f"{where}: the key file does not belong to this certificate")
    # A CA file may hold the old and the new CA together while a federation changes its CA.
    for authority in authorities:
        try:
            cert.verify_directly_issued_by(authority)
            return
        except (ValueError, TypeError, InvalidSignature):  # another CA's name, key type or signature
            continue
    raise TlsError(f"{where}: not issued by any CA in the CA file")


def _read(path: str | os.PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise TlsError(f"cannot read {path}: {error.strerror}") from None
