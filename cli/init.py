"""`cascade node init`: everything a node's config names but does not find yet, so that a node
on a fresh machine starts with mutual TLS and tokens (a local CA, for trying things out)."""

from __future__ import annotations

import os
import pathlib

import click
import yaml

from cli.common import config_option, fail, load_config

OPERATOR = "operator"
ENV_FILE = "client.env"  # a department's: its own certificate and token
OPERATOR_ENV_FILE = "operator.env"  # written only with --operator


def _tls_paths(config_path: str) -> tuple[str, dict[str, pathlib.Path]]:
    """The node id and the tls files the config names, read before the config can be validated
    (validation wants the files to exist)."""
    try:
        data = yaml.safe_load(pathlib.Path(config_path).read_text(encoding="utf-8"))
        tls, node_id = data.get("tls"), data["node"]["id"]
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        fail(f"{config_path}: cannot be read as a node config ({exc}); `cascade node check-config` says more")
    if not isinstance(tls, dict) or set(tls) != {"cert", "key", "ca"}:
        fail(f"{config_path}: tls: must name cert, key and ca for `node init` to create them")
    base = pathlib.Path(config_path).parent
    return node_id, {k: (base / v).resolve() for k, v in tls.items()}


def _missing_tls(node_id: str, files: dict[str, pathlib.Path]) -> list[str]:
    from node.security import pki

    made = []
    ca_dir = files["ca"].parent
    if not files["ca"].exists():
        if files["ca"].name != pki.CA_CERT:
            fail(f"tls.ca: {files['ca']} does not exist, and `node init` creates a CA only as {pki.CA_CERT}")
        pki.init_ca(ca_dir, name="catalog cascade local CA")
        made.append(f"a local CA in {ca_dir}")
    if not files["cert"].exists() or not files["key"].exists():
        if files["cert"] != ca_dir / f"{node_id}.pem" or files["key"] != ca_dir / f"{node_id}.key":
            fail(f"tls.cert: {files['cert']} does not exist; `node init` issues it only as {node_id}.pem beside the CA")
        pki.issue(ca_dir, node_id, kind="node", hosts=("127.0.0.1", "localhost"))
        made.append(f"the node's certificate {files['cert']}")
    if not (ca_dir / f"{OPERATOR}.pem").exists():
        pki.issue(ca_dir, OPERATOR, kind="operator", hosts=("127.0.0.1", "localhost"))
        made.append(f"an operator certificate {ca_dir / f'{OPERATOR}.pem'}")
    return made


def _department_certificates(ca_dir: pathlib.Path, node_id: str, codes: list[str]) -> list[str]:
    from node.security import pki

    made = []
    for code in codes:
        name = pki.department_name(code, node_id)
        if not (ca_dir / f"{name}.pem").exists():
            pki.issue_department(ca_dir, code, node_id, hosts=("127.0.0.1", "localhost"))
            made.append(name)
    return [f"{len(made)} department certificates ({', '.join(made)}.pem)"] if made else []


def _write_env(path: pathlib.Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


@click.command("init")
@config_option
@click.option("--operator", "operator_env", is_flag=True,
              help=f"Also write {OPERATOR_ENV_FILE} beside the CA: the operator's certificate, for Status, SyncNow, "
                   f"Verify and every department's requests. Keep it to the node's operators.")
def node_init(config_path: str, operator_env: bool) -> None:
    """Create what the config names and is missing: a local CA, the node's certificate, an
    operator certificate (beside the CA), the node's audit key (beside its database), and for every department its own certificate
    (CODE.NODE.pem: it may act only as that department) and a token; write `client.env` beside
    the CA, which `. client.env` turns into the CASCADE_* settings every client command reads:
    the first department's certificate and token, the others' as comments. The operator's
    certificate goes into an env file only when asked (--operator). Safe to run again: it
    creates only what is missing."""
    from node.security import audit_key, pki, tokens
    from node.store import Store

    node_id, files = _tls_paths(config_path)
    made = _missing_tls(node_id, files)
    cfg = load_config(config_path)
    store = Store(cfg.database)
    try:
        with store.reading() as conn:
            have = {t.department_code for t in tokens.list_tokens(conn) if t.revoked_at is None and "init" in t.note}
        issued = {}
        with store.transaction() as tx:
            for department in cfg.departments:
                if department.code not in have:
                    scopes = tokens.DEPARTMENT_SCOPES | (
                        tokens.AUTHORITY_SCOPES if department.code == cfg.data_authority else frozenset())
                    issued[department.code], _ = tokens.issue(tx.conn, department.code, scopes, note="node init")
    finally:
        store.close()
    if audit_key.load_or_create(cfg.database)[1]:
        made.append(f"the node's audit key {audit_key.key_file(cfg.database)} (the secret under which the audit "
                    "trail hashes the keys of query and verify calls; keep it with the node, out of backups)")
    ca_dir = files["ca"].parent
    made += _department_certificates(ca_dir, node_id, [d.code for d in cfg.departments])
    env_file = ca_dir / ENV_FILE
    if issued:
        lines = [f"export CASCADE_TARGET={cfg.listen}", f"export CASCADE_CA={files['ca']}"]
        first = True
        for department in cfg.departments:
            if department.code in issued:
                name = ca_dir / pki.department_name(department.code, node_id)
                prefix = "export " if first else "# export "
                lines += [f"# {department.code} {department.name}", f"{prefix}CASCADE_CERT={name}.pem",
                          f"{prefix}CASCADE_KEY={name}.key", f"{prefix}CASCADE_TOKEN={issued[department.code]}"]
                first = False
        _write_env(env_file, lines)
        made.append(f"{len(issued)} department tokens, in {env_file}")
    if operator_env:
        operator_file = ca_dir / OPERATOR_ENV_FILE
        _write_env(operator_file, [f"export CASCADE_TARGET={cfg.listen}", f"export CASCADE_CA={files['ca']}",
                                   f"export CASCADE_CERT={ca_dir / f'{OPERATOR}.pem'}",
                                   f"export CASCADE_KEY={ca_dir / f'{OPERATOR}.key'}", "export CASCADE_TOKEN="])
        made.append(f"the operator's settings, in {operator_file}")
    click.echo("\n".join(f"created {thing}" for thing in made) if made else "nothing to create: all present")
    if env_file.exists():
        click.echo(f"for client commands as a department: . {env_file}")
