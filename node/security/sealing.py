"""Sealing a few bytes to one node: only the holder of that node's key can open them.

A correction's record key (node/model/correction.py) must reach the owner's node and no other,
yet it travels through the hub, which stores what it relays. So the filer's node seals the key
to the owner's node certificate (the one the owner signed its grant with): ECDH on P-256 with a
fresh key, HKDF-SHA256, AES-256-GCM with the correction id as associated data (a sealed key
moved onto another correction does not open). The sealed bytes are: the fresh public key
(65 bytes, uncompressed), the 12-byte nonce, then the ciphertext and its tag.

A federation without TLS has no node keys: its keys travel `PLAIN` (a marked prefix) and the
hub holds them; docs/governance.md says so.
"""

from __future__ import annotations

import os

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PLAIN = b"plain:"  # the prefix of a key that an insecure federation carries unsealed
_INFO = b"catalog-cascade correction key"
_POINT = 65


class SealError(Exception):
    """The sealed bytes do not open with this key (another node's, or tampered with)."""


def _shared(private: ec.EllipticCurvePrivateKey, public: ec.EllipticCurvePublicKey) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=_INFO).derive(private.exchange(ec.ECDH(), public))


def seal(cert_der: bytes, plaintext: bytes, context: bytes) -> bytes:
    """`plaintext` sealed to the node whose certificate (DER) is `cert_der`."""
    public = x509.load_der_x509_certificate(cert_der).public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SealError("the certificate has no EC key to seal to")
    fresh = ec.generate_private_key(public.curve)
    nonce = os.urandom(12)
    point = fresh.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return point + nonce + AESGCM(_shared(fresh, public)).encrypt(nonce, plaintext, context)


def open_sealed(private: ec.EllipticCurvePrivateKey, sealed: bytes, context: bytes) -> bytes:
    """The plaintext of `sealed`, or SealError when it was not sealed to this key for `context`."""
    if len(sealed) < _POINT + 12 + 16:
        raise SealError("too short to be sealed bytes")
    try:
        point = ec.EllipticCurvePublicKey.from_encoded_point(private.curve, sealed[:_POINT])
        return AESGCM(_shared(private, point)).decrypt(sealed[_POINT:_POINT + 12], sealed[_POINT + 12:], context)
    except (ValueError, InvalidTag):
        raise SealError("the sealed key does not open with this node's key") from None
