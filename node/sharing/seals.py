"""Who made a request or correction version: signing the versions this node makes and checking
those it is handed. The cryptography is the caller's (node/security/signing.py, wired in
node/server.py); this module only knows, per kind of document (`Kind`), which bytes of a version
are signed (`canonical`) and who may make what (`maker_refusal`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Callable, NamedTuple

from node.model import correction
from node.model.request import Request, canonical, coordinated, coordinator_node, maker_refusal

SignBytes = Callable[[bytes], tuple[bytes, bytes]]  # data -> (signature, signer's certificate)
VerifyBytes = Callable[..., "str | None"]  # (signer, data, signature, certificate, at=) -> why not, or None


class Kind(NamedTuple):
    """What a seal needs to know of one kind of signed document: the bytes signed, who may make
    a version (given the copy held and the federation's hub), and the version as its maker names
    itself on it before signing."""

    canonical: Callable[[Any], bytes]
    maker_refusal: Callable[[Any, Any, str], "str | None"]
    made_by: Callable[[Any, str], Any]


REQUESTS = Kind(canonical, maker_refusal, lambda request, node_id: request.made_by(node_id))
CORRECTIONS = Kind(correction.canonical, lambda version, held, hub: correction.maker_refusal(version, held),
                   lambda version, node_id: version)


class Seal:
    """Signs as `node_id`; checks a version's maker against the rule and its signature. `hub`:
    the federation's hub, whose node alone decides objections between two nodes."""

    def __init__(self, node_id: str, sign_bytes: SignBytes, verify_bytes: VerifyBytes, hub: str = ""):
        self.node_id = node_id
        self.sign_bytes = sign_bytes
        self.verify_bytes = verify_bytes
        self.hub = hub

    def sign(self, request, kind: "Kind | None" = None):
        kind = kind or REQUESTS
        unsigned = dataclasses.replace(kind.made_by(request, self.node_id), signer=self.node_id, signature=b"",
                                       signer_cert=b"")
        signature, cert = self.sign_bytes(kind.canonical(unsigned))
        return dataclasses.replace(unsigned, signature=signature, signer_cert=cert)

    def signed(self, request, at: datetime | None = None, kind: "Kind | None" = None) -> str | None:
        """Why the version's signature does not show that `request.signer` made it (None: it does)."""
        return signature_refusal(self.verify_bytes, request, at, kind or REQUESTS)

    def refusal(self, request, held, at: datetime | None = None, kind: "Kind | None" = None) -> str | None:
        """Why this node must not take the version (None: it may): its maker may not make it, or
        the signature does not show who made it."""
        kind = kind or REQUESTS
        return kind.maker_refusal(request, held, self.hub) or self.signed(request, at, kind)

    def refusal_checked(self, request: Request, held: Request | None, signed: str | None) -> str | None:
        """`refusal` for a request version whose signature was checked already (`signature_refusal`,
        in a worker process for a pulled batch): `signed` is that check's answer."""
        return maker_refusal(request, held, self.hub) or signed

    def grant_refusal(self, request: Request) -> str | None:
        """Why a grant held here must not be served: it must be signed by this node, its owner,
        or be the coordinator's decision on an objection, signed by the coordinator's node, which
        binds the owner. (No validity window: the grant was checked when it was made; a later
        rotation of a certificate does not end it.)"""
        if coordinated(request):
            coordinator = coordinator_node(request, self.hub)
            if request.signer != coordinator:
                return (f"the coordinator's grant is signed by {request.signer or 'nobody'}, not by the coordinator's "
                        f"node {coordinator}")
        elif request.signer != self.node_id:
            return f"the grant is signed by {request.signer or 'nobody'}, not by its owner's node {self.node_id}"
        return maker_refusal(request, None, self.hub) or self.signed(request)


def signature_refusal(verify_bytes: VerifyBytes, request, at: datetime | None = None,
                      kind: Kind = REQUESTS) -> str | None:
    """Why the version's signature does not show that `request.signer` made it (None: it does)."""
    if not request.signature:
        return "unsigned"
    return verify_bytes(request.signer, kind.canonical(request), request.signature, request.signer_cert, at=at)
