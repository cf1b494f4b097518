"""The federation's certificate authority: one CA per federation, one certificate per node, operator or client.

A directory holds the CA (`ca.pem`, `ca.key`) and the certificates it issued (`<name>.pem`,
`<name>.key`). The name is a lowercase node id (`hebei`, `national-2`, `mps`) and goes into both
the subject CN and the subject alternative name as a DNSName; the kind (`node`, `operator`,
`client`, `department`) goes into the subject OU.

A department's certificate is named `<department code>.<node id>` (`130000001.hebei`): the
department and the node it belongs to. A node lets its holder act only as that department, with
that department's token (node/api/interceptors/identity.py); it is what a department is handed,
never the operator's.

What grpcio 1.85 shows a server about its mutual-TLS peer (found by experiment, pinned by
tests/test_pki_and_tls.py):

- `context.auth_context()` has `x509_subject_alternative_name` and `peer_dns`, each [b"<SAN DNS
  name>"]; `x509_common_name` [b"<CN>"]; `x509_subject` [b"O=catalog cascade,OU=node,CN=hebei"]
  (RFC 2253 order); `x509_pem_cert` [the peer's leaf certificate, PEM]; and, about the
  connection, `transport_security_type` [b"ssl"], `security_level`, `ssl_session_reused`,
  `ssl_tls_version`, `ssl_negotiated_key_exchange_group` and `ssl_requested_server_name` (the
  name the client expects, i.e. its `grpc.ssl_target_name_override`).
- `context.peer_identity_key()` is "x509_subject_alternative_name" and
  `context.peer_identities()` is [b"<SAN DNS name>"].
- The OU has no key of its own; it shows only inside the `x509_subject` string, whose escaping
  is the library's. So the server reads the kind by parsing `x509_pem_cert` with `identity_of`.

Names with '_' are fine: cryptography stores the DNSName as given and gRPC matches the expected
server name against it by plain comparison (checked with a server named `national_2`).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import re
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
KINDS = ("node", "operator", "client", "department")
NAME_RULE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")  # used with fullmatch: `$` alone lets "hebei\n" through
DEPARTMENT_NAME_RULE = re.compile(r"^(\d{9})\.([a-z][a-z0-9_-]{0,39})$")  # <department code>.<node id>
ORGANIZATION = "catalog cascade"

# Nodes' clocks drift; a certificate valid from "a minute ago" is usable at once on a peer
# whose clock runs slightly behind the issuer's.
CLOCK_SKEW = dt.timedelta(minutes=1)


class PkiError(Exception):
    """A PKI operation was refused; the message says why and what to do."""


def init_ca(directory: str | os.PathLike, *, name: str = "catalog cascade federation CA", days: int = 3650) -> Path:
    """Create the federation CA in `directory`; return the path of `ca.pem`."""
    directory = Path(directory)
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    for existing in (cert_path, key_path):
        if existing.exists():
            raise PkiError(f"{existing} already exists; a CA is created once per federation "
                           f"(remove the old CA files first if you really mean to replace it)")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # new: owner-only, as the keys in it
    # EC P-256 rather than Ed25519: gRPC's BoringSSL accepts it on every platform grpcio ships for.
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path


def issue(directory: str | os.PathLike, name: str, *, kind: str = "node", days: int = 825,
          not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
          hosts: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """Issue `<name>.pem` and `<name>.key` signed by the CA in `directory`; return (cert path, key path).

    The name is the certificate's identity (its first subject alternative name); `hosts` (DNS
    names or IP addresses) are added after it, so that a client that knows only the node's
    address (an operator's tool on `127.0.0.1:PORT`) can still check the server's certificate.

    Re-issuing a name replaces its files atomically, so a node reloading them never reads half a file.
    """
    if kind not in KINDS:
        raise PkiError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "department":
        if not isinstance(name, str) or not DEPARTMENT_NAME_RULE.fullmatch(name):
            raise PkiError(f"name {name!r} breaks the rule {DEPARTMENT_NAME_RULE.pattern}: a department's "
                           f"certificate is named <9-digit department code>.<node id>, e.g. 130000001.hebei")
    elif not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise PkiError(f"name {name!r} breaks the rule {NAME_RULE.pattern}: a lowercase node id "
                       f"starting with a letter, up to 40 letters, digits, '-' or '_'")
    if name == Path(CA_CERT).stem:
        raise PkiError(f"name {name!r} is taken by the CA's own files")
    directory = Path(directory)
    ca_cert, ca_key = _load_ca(directory)
    now = _now()
    not_before = now - CLOCK_SKEW if not_before is None else not_before
    not_after = now + dt.timedelta(days=days) if not_after is None else not_after
    if not_after > ca_cert.not_valid_after_utc:
        raise PkiError(f"the certificate would outlive the CA, which expires at "
                       f"{ca_cert.not_valid_after_utc.isoformat()}; issue for fewer days or renew the CA")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), *map(_host_name, hosts)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        # Every node is both a server (to its children) and a client (of its hub).
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    # Key first: a reloader that sees the new certificate then finds the key that matches it.
    _write_key(key_path, key)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path, key_path


def department_name(department_code: str, node_id: str) -> str:
    """The name of a department's certificate: its code and its node's id."""
    return f"{department_code}.{node_id}"


def department_of(name: str) -> tuple[str, str] | None:
    """(department code, node id) a department certificate's name says, or None if it is not one."""
    found = DEPARTMENT_NAME_RULE.fullmatch(name)
    return (found.group(1), found.group(2)) if found else None


def issue_department(directory: str | os.PathLike, department_code: str, node_id: str, *, days: int = 825,
                     hosts: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """A department's client certificate (`<code>.<node>.pem`, `.key`): it speaks only for that department."""
    return issue(directory, department_name(department_code, node_id), kind="department", days=days, hosts=hosts)


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


@functools.lru_cache(maxsize=1024)
def identity_of(cert_pem: bytes) -> tuple[str, str]:
    """The (name, kind) a certificate speaks for: its SAN DNS name and its subject OU. Kept per
    certificate: every call a node serves asks it of its caller's (a few hundred a second)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise PkiError("the certificate has no subject alternative name; it was not issued by `cascade pki`") from None
    names = san.get_values_for_type(x509.DNSName)
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not names or len(units) != 1:
        raise PkiError("the certificate must carry a DNS name (its identity, first) and exactly one OU")
    return names[0], str(units[0].value)


def describe(cert_path: str | os.PathLike) -> dict:
    """What an operator wants to see of a certificate file (`cascade pki show`)."""
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    try:
        name, kind = identity_of(cert.public_bytes(serialization.Encoding.PEM))
    except PkiError:  # the CA's own certificate, or one from elsewhere
        name, kind = _first(cert.subject, NameOID.COMMON_NAME), "ca" if _is_ca(cert) else ""
    fingerprint = cert.fingerprint(hashes.SHA256()).hex().upper()
    return {
        "name": name,
        "kind": kind,
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        "serial": format(cert.serial_number, "x"),
        "issuer": _first(cert.issuer, NameOID.COMMON_NAME),
        # Colon-separated like `openssl x509 -fingerprint -sha256`, so the two can be compared by eye.
        "sha256": ":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)),
    }


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if not cert_path.exists() or not key_path.exists():
        raise PkiError(f"no CA in {directory} (expected {CA_CERT} and {CA_KEY}); create it first with init_ca")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return cert, key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _write_atomically(path, pem, mode=0o600)


def _write_atomically(path: Path, content: bytes, *, mode: int) -> None:
    # mkstemp creates the file 0600, so a key is never readable by others, not even for a moment.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attributes = name.get_attributes_for_oid(oid)
    return str(attributes[0].value) if attributes else ""


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
