"""Who made a request or correction version: signing the versions this node makes and checking
those it is handed. The cryptography is the caller's (node/security/signing.py, wired in
node/server.py); this module only knows, per kind of document (`Kind`), which bytes of a version
are signed (`canonical`) and who may make what (`maker_refusal`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Callable, NamedTuple

from node.model import correction
from node.model.request import Request, canonical, maker_refusal

SignBytes = Callable[[bytes], tuple[bytes, bytes]]  # data -> (signature, signer's certificate)
VerifyBytes = Callable[..., "str | None"]  # (signer, data, signature, certificate, at=) -> why not, or None


class Kind(NamedTuple):
    """What a seal needs to know of one kind of signed document."""

    canonical: Callable[[Any], bytes]
    maker_refusal: Callable[[Any, Any], "str | None"]


REQUESTS = Kind(canonical, maker_refusal)
CORRECTIONS = Kind(correction.canonical, correction.maker_refusal)


class Seal:
    """Signs as `node_id`; checks a version's maker against the rule and its signature."""

    def __init__(self, node_id: str, sign_bytes: SignBytes, verify_bytes: VerifyBytes):
        self.node_id = node_id
        self.sign_bytes = sign_bytes
        self.verify_bytes = verify_bytes

    def sign(self, request, kind: Kind = REQUESTS):
        unsigned = dataclasses.replace(request, signer=self.node_id, signature=b"", signer_cert=b"")
        signature, cert = self.sign_bytes(kind.canonical(unsigned))
        return dataclasses.replace(unsigned, signature=signature, signer_cert=cert)

    def signed(self, request, at: datetime | None = None, kind: Kind = REQUESTS) -> str | None:
        """Why the version's signature does not show that `request.signer` made it (None: it does)."""
        return signature_refusal(self.verify_bytes, request, at, kind)

    def refusal(self, request, held, at: datetime | None = None, kind: Kind = REQUESTS) -> str | None:
        """Why this node must not take the version (None: it may): its maker may not make it, or
        the signature does not show who made it."""
        return kind.maker_refusal(request, held) or self.signed(request, at, kind)

    @staticmethod
    def refusal_checked(request: Request, held: Request | None, signed: str | None) -> str | None:
        """`refusal` for a request version whose signature was checked already (`signature_refusal`,
        in a worker process for a pulled batch): `signed` is that check's answer."""
        return maker_refusal(request, held) or signed

    def grant_refusal(self, request: Request) -> str | None:
        """Why a grant held here must not be served: it must be signed by this node, its owner.
        (No validity window: the grant was checked when it was made; a later rotation of this
        node's certificate does not end it.)"""
        if request.signer != self.node_id:
            return f"the grant is signed by {request.signer or 'nobody'}, not by its owner's node {self.node_id}"
        return maker_refusal(request, None) or self.signed(request)


def signature_refusal(verify_bytes: VerifyBytes, request, at: datetime | None = None,
                      kind: Kind = REQUESTS) -> str | None:
    """Why the version's signature does not show that `request.signer` made it (None: it does)."""
    if not request.signature:
        return "unsigned"
    return verify_bytes(request.signer, kind.canonical(request), request.signature, request.signer_cert, at=at)
