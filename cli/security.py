"""`cascade pki ...`, `cascade token ...` and `cascade audit ...`: the federation's certificates,
a node's department tokens and its audit trail, all handled on the node's own machine (files and
its SQLite file), never over the network."""

from __future__ import annotations

import contextlib
import pathlib
import sys
from datetime import datetime, timezone

import click

from cli.common import config_option, fail, load_config, quiet_option
from cli.tables import print_table
from node.security import audit, tokens

ACTOR = "operator@cli"  # who the audit trail names for what these commands change
DEFAULT_SCOPES = "publish,request,decide,read"
DEFAULT_EXPIRY_DAYS = 365


def moment(at: datetime | None, empty: str = "-") -> str:
    return empty if at is None else at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


# --- pki -----------------------------------------------------------------------------------------

@click.group()
def pki() -> None:
    """Create the federation's CA and issue node, operator and client certificates."""


@contextlib.contextmanager
def pki_errors():
    """A refused PKI operation or an unreadable file ends the command with exit status 2."""
    from node.security.pki import PkiError

    try:
        yield
    except PkiError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


@pki.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--days", default=3650, show_default=True, type=click.IntRange(min=1),
              help="How long the CA is valid; every certificate it issues must expire before it does.")
def pki_init(directory: str, days: int) -> None:
    """Create the federation CA in DIRECTORY (ca.pem, and ca.key readable by you alone). Once per
    federation: it refuses to overwrite an existing CA."""
    from node.security import pki as pki_mod

    with pki_errors():
        cert_path = pki_mod.init_ca(directory, days=days)
    click.echo(cert_path)
    click.echo(cert_path.with_name(pki_mod.CA_KEY))


@pki.command("issue")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("name")
@click.option("--kind", type=click.Choice(["node", "operator", "client", "department"]), default="node",
              show_default=True,
              help="What the certificate is for: node (a node serving and calling its hub), operator (a person "
                   "running `cascade` commands), department (a department's own people and systems: NAME is "
                   "CODE.NODE, e.g. 130000001.hebei, and the node lets it act only as that department, with its "
                   "token) or client (a shared tool such as the portal, judged by the token it carries).")
@click.option("--days", default=825, show_default=True, type=click.IntRange(min=1),
              help="How long the certificate is valid.")
@click.option("--host", "hosts", multiple=True,
              help="An extra DNS name or IP address the certificate is valid for, after NAME (repeat for "
                   "several), e.g. 127.0.0.1 for tools that reach the node by its address. Default: none.")
def pki_issue(directory: str, name: str, kind: str, days: int, hosts: tuple[str, ...]) -> None:
    """Issue NAME.pem and NAME.key, signed by the CA in DIRECTORY, and print their paths. NAME is
    the identity (a lowercase node id such as hebei, an operator's name, or for a department
    CODE.NODE); re-issuing replaces the files."""
    from node.security import pki as pki_mod

    if not (pathlib.Path(directory) / pki_mod.CA_KEY).exists():
        fail(f"no CA in {directory} (no {pki_mod.CA_KEY}): create it first with `cascade pki init {directory}`")
    with pki_errors():
        cert_path, key_path = pki_mod.issue(directory, name, kind=kind, days=days, hosts=hosts)
    click.echo(cert_path)
    click.echo(key_path)


@pki.command("show")
@click.argument("cert", type=click.Path(dir_okay=False))
def pki_show(cert: str) -> None:
    """Show who the certificate CERT speaks for, its validity, serial and SHA-256 fingerprint
    (compare it with `openssl x509 -noout -fingerprint -sha256 -in CERT`)."""
    from node.security import pki as pki_mod

    with pki_errors():
        try:
            facts = pki_mod.describe(cert)
        except ValueError as exc:  # cryptography's word for "this is not a PEM certificate"
            fail(f"{cert}: not a PEM certificate ({exc})")
    now = datetime.now(timezone.utc)
    state = ("expired" if facts["not_after"] <= now else "not yet valid" if facts["not_before"] > now else "valid")
    for label, value in (("name", facts["name"]), ("kind", facts["kind"] or "-"), ("issuer", facts["issuer"]),
                         ("valid", f"{moment(facts['not_before'])} to {moment(facts['not_after'])} ({state})"),
                         ("serial", facts["serial"]), ("sha256", facts["sha256"])):
        click.echo(f"{label + ':':<8}{value}")


# --- tokens --------------------------------------------------------------------------------------

@contextlib.contextmanager
def node_store(config_path: str, *, create: bool = False):
    """The config and the Store of the node at CONFIG_PATH; unless CREATE, the database must exist."""
    from node.store import Store

    cfg = load_config(config_path)
    if cfg.database == ":memory:":
        fail(f"{config_path}: database is :memory:, which keeps no tokens or audit trail between runs")
    if not create and not pathlib.Path(cfg.database).exists():
        fail(f"{cfg.database}: no such database (the node has never run and no token was issued there)")
    store = Store(cfg.database)
    try:
        yield cfg, store
    finally:
        store.close()


def holder(info: tokens.TokenInfo) -> str:
    return "operator" if info.is_operator else f"department {info.department_code}"


def token_object(info: tokens.TokenInfo) -> str:
    """What the audit trail names: the token and who it speaks for."""
    return f"token {info.token_id} {holder(info)}"


@click.group()
def token() -> None:
    """Issue, list and revoke the bearer tokens a node accepts (one per department system or operator)."""


@token.command("issue")
@config_option
@click.option("--department", default="",
              help="The department the token acts for (its 9-digit code, one of the config's departments). "
                   "Leave it out, with --scope operator, for an operator token.")
@click.option("--scope", "scope_text", default=DEFAULT_SCOPES, show_default=True,
              help="Comma-separated rights: publish, request, decide, read for a department; operator alone "
                   "for an operator token.")
@click.option("--expires-days", default=DEFAULT_EXPIRY_DAYS, show_default=True, type=click.IntRange(min=1),
              help="Days until the token stops working.")
@click.option("--note", default="", help="Who or what holds the token, for `token list` (default: none).")
@quiet_option
def token_issue(config_path: str, department: str, scope_text: str, expires_days: int, note: str,
                quiet: bool) -> None:
    """Issue a token and print it, alone on stdout, once: the node keeps only its hash. A summary
    goes to stderr (not with -q), so `TOKEN=$(cascade token issue ...)` captures the token alone."""
    scopes = frozenset(s.strip() for s in scope_text.replace(" ", ",").split(",") if s.strip())
    unknown = scopes - tokens.SCOPES
    if unknown:
        fail(f"--scope: unknown {', '.join(sorted(unknown))}; the scopes are {', '.join(sorted(tokens.SCOPES))}")
    if not department and scopes != tokens.OPERATOR_SCOPES:
        fail("--department is required, except for an operator token (--scope operator)")
    with node_store(config_path, create=True) as (cfg, store):
        holder = cfg.department(department) if department else None
        if department and holder is None:
            known = ", ".join(d.code for d in cfg.departments) or "none"
            fail(f"department {department} is not a department of {cfg.node_id} ({config_path} lists: {known})")
        with store.transaction() as tx:
            try:
                secret, info = tokens.issue(tx.conn, department, scopes, expires_days, note=note)
            except ValueError as exc:
                fail(str(exc))
            audit.append(tx.conn, ACTOR, "token.issue", token_object(info), "ok",
                         f"scopes {' '.join(sorted(info.scopes))}; expires {moment(info.expires_at)}"
                         + (f"; note {note}" if note else ""))
    who = f"{holder.code} {holder.name}" if holder else "operator"
    click.echo(secret)
    if quiet:
        return
    click.echo(f"issued token {info.token_id} for {who} at {cfg.node_id}, scopes {', '.join(sorted(info.scopes))}, "
               f"expires {moment(info.expires_at)}; it is shown only this once", err=True)


@token.command("list")
@config_option
def token_list(config_path: str) -> None:
    """List every token the node has issued, revoked and expired ones included (never the secrets)."""
    with node_store(config_path) as (cfg, store):
        with store.reading() as conn:
            issued = tokens.list_tokens(conn)
    now = datetime.now(timezone.utc)
    rows, active = [], 0
    for info in issued:
        holder = cfg.department(info.department_code)
        who = "operator" if info.is_operator else f"{info.department_code} {holder.name if holder else '?'}"
        expired = info.expires_at is not None and info.expires_at <= now
        active += info.revoked_at is None and not expired
        rows.append((info.token_id, who, ",".join(sorted(info.scopes)), moment(info.created_at),
                     moment(info.expires_at, "never") + (" (expired)" if expired else ""), moment(info.revoked_at),
                     info.note))
    print_table(("id", "department", "scopes", "created", "expires", "revoked", "note"), rows,
                footer=f"({len(rows)} tokens, {active} active)")


@token.command("revoke")
@config_option
@click.argument("token_id")
def token_revoke(config_path: str, token_id: str) -> None:
    """Revoke the token TOKEN_ID (the id shown by `token list`); a running node refuses it within a
    few seconds. Exit 1 if the node never issued it."""
    with node_store(config_path) as (cfg, store):
        with store.transaction() as tx:
            info = next((t for t in tokens.list_tokens(tx.conn) if t.token_id == token_id), None)
            if info is None:
                click.echo(f"error: {cfg.node_id} has no token {token_id} (see `cascade token list`)", err=True)
                sys.exit(1)
            if info.revoked_at is not None:
                click.echo(f"token {token_id} was already revoked at {moment(info.revoked_at)}")
                return
            tokens.revoke(tx.conn, token_id)
            audit.append(tx.conn, ACTOR, "token.revoke", token_object(info), "ok")
    click.echo(f"revoked token {token_id} ({holder(info)})")


# --- audit ---------------------------------------------------------------------------------------

@click.group("audit")
def audit_group() -> None:
    """Check and read a node's hash-chained audit trail."""


@audit_group.command("verify")
@config_option
def audit_verify(config_path: str) -> None:
    """Walk the audit trail and check every record's hash and link. Print the head (compare it with
    one noted earlier: the chain alone cannot show the newest records cut off), or the first broken
    record and exit 1."""
    with node_store(config_path) as (_, store):
        with store.reading() as conn:
            verdict = audit.verify(conn)
    if verdict.ok:
        click.echo(f"ok: {verdict.count} records, head {verdict.last_seq} {verdict.last_hash[:16]}")
    else:
        click.echo(f"record {verdict.problem_seq}: {verdict.message}")
        sys.exit(1)


@audit_group.command("tail")
@config_option
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many of the newest records to show.")
def audit_tail(config_path: str, count: int) -> None:
    """Show the newest records of the audit trail, oldest first, as a table."""
    with node_store(config_path) as (_, store):
        with store.reading() as conn:
            records = audit.tail(conn, count)
    rows = [(str(r.seq), r.at[:19].replace("T", " ") + "Z", r.actor, r.method, r.object, r.outcome, r.detail)
            for r in records]
    print_table(("seq", "at", "actor", "method", "object", "outcome", "detail"), rows)
