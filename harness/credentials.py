"""The federation's credentials in the harness, all under the state directory: a CA and a
certificate per node (`pki/`), an operator certificate for the harness's own operator calls
(and a tester who asks for it: `cascade harness creds NODE --operator`), a certificate per
department (`<code>.<node>.pem`, made on first use) that it presents with its bearer token
(`secrets/tokens.json`, readable by the owner only): a department never holds the operator's."""

from __future__ import annotations

import json
import os
import pathlib

from node.security import pki, tokens
from node.security.client import Credentials
from node.store import Store
from node.store.private import make_dirs

OPERATOR = "operator"
PORTAL = "portal"  # the portal's client certificate, under which departments' calls go
HOSTS = ("127.0.0.1", "localhost")  # the harness reaches every node on loopback


class FederationCredentials:
    def __init__(self, state_dir: pathlib.Path):
        self.pki = state_dir / "pki"
        self.tokens_path = state_dir / "secrets" / "tokens.json"

    def create(self, node_ids: list[str]) -> None:
        """A new CA, a certificate for every node and one for the operator."""
        if (self.pki / pki.CA_CERT).exists():
            return  # a federation brought up again in the same state directory keeps its CA
        pki.init_ca(self.pki, name="catalog cascade harness CA")
        for node_id in node_ids:
            pki.issue(self.pki, node_id, kind="node", hosts=HOSTS)
        pki.issue(self.pki, OPERATOR, kind="operator", hosts=HOSTS)

    def tls(self, node_id: str) -> dict:
        """The node config's `tls:` block."""
        return {"cert": str(self.pki / f"{node_id}.pem"), "key": str(self.pki / f"{node_id}.key"),
                "ca": str(self.pki / pki.CA_CERT)}

    def client(self, token: str = "") -> Credentials:
        """The operator's certificate (with a token when given: an operator-scope one, say)."""
        return Credentials(str(self.pki / f"{OPERATOR}.pem"), str(self.pki / f"{OPERATOR}.key"),
                           str(self.pki / pki.CA_CERT), token)

    def department_client(self, node_id: str, department: str, token: str) -> Credentials:
        """A department's own certificate (made on first use) and its token: what it calls its node with."""
        name = pki.department_name(department, node_id)
        if not (self.pki / f"{name}.pem").exists():
            pki.issue_department(self.pki, department, node_id, hosts=HOSTS)
        return Credentials(str(self.pki / f"{name}.pem"), str(self.pki / f"{name}.key"), str(self.pki / pki.CA_CERT),
                           token)

    def portal_client(self) -> Credentials:
        """The portal's client certificate (made on first use): calls that carry a department's
        token go under it, so that each node judges them by the token alone."""
        if not (self.pki / f"{PORTAL}.pem").exists():
            pki.issue(self.pki, PORTAL, kind="client", hosts=HOSTS)
        return Credentials(str(self.pki / f"{PORTAL}.pem"), str(self.pki / f"{PORTAL}.key"), str(self.pki / pki.CA_CERT))

    def issue_tokens(self, node_id: str, database: str, departments: list[str], authority: str = "") -> None:
        """A token for every department of a node, written into its database (before it starts,
        or while it runs: SQLite takes one writer at a time); the node's data authority's also
        carries the authority's scopes (review, coordinate, compile), as `cascade node init` issues it."""
        known = self._tokens()
        wanted = [code for code in departments if code not in known.get(node_id, {})]
        if not wanted:
            return
        store = Store(database, synchronous="normal")
        try:
            with store.transaction() as tx:
                for code in wanted:
                    scopes = tokens.DEPARTMENT_SCOPES | (tokens.AUTHORITY_SCOPES if code == authority else frozenset())
                    token, _ = tokens.issue(tx.conn, code, scopes, note="harness")
                    known.setdefault(node_id, {})[code] = token
        finally:
            store.close()
        self._save(known)

    def token(self, node_id: str, department: str) -> str:
        try:
            return self._tokens()[node_id][department]
        except KeyError:
            raise KeyError(f"no token for department {department!r} at node {node_id!r}") from None

    def issue(self, database: str, department: str, scopes: list[str]) -> str:
        """A new token with the given scopes (a tester asking for less than a department has)."""
        store = Store(database, synchronous="normal")
        try:
            with store.transaction() as tx:
                token, _ = tokens.issue(tx.conn, department, scopes, note="harness")
        finally:
            store.close()
        return token

    def _tokens(self) -> dict:
        try:
            return json.loads(self.tokens_path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, known: dict) -> None:
        make_dirs(self.tokens_path.parent)
        tmp = self.tokens_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(known, out, indent=2)
        tmp.replace(self.tokens_path)
