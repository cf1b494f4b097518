"""`cascade node init`: everything a node's config names but does not find yet, so that a node
on a fresh machine starts with mutual TLS and tokens (a local CA, for trying things out)."""

from __future__ import annotations

import os
import pathlib

import click
import yaml

from cli.common import config_option, fail, load_config

OPERATOR = "operator"
ENV_FILE = "client.env"


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


@click.command("init")
@config_option
def node_init(config_path: str) -> None:
    """Create what the config names and is missing: a local CA, the node's certificate and an
    operator certificate (beside the CA), and a token for every department; write
    `client.env` beside the CA, which `. client.env` turns into the CASCADE_* settings every
    client command reads. Safe to run again: it creates only what is missing."""
    from node.security import tokens
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
                    issued[department.code], _ = tokens.issue(tx.conn, department.code, note="node init")
    finally:
        store.close()
    ca_dir = files["ca"].parent
    env_file = ca_dir / ENV_FILE
    if issued:
        lines = [f"export CASCADE_TARGET={cfg.listen}", f"export CASCADE_CA={files['ca']}",
                 f"export CASCADE_CERT={ca_dir / f'{OPERATOR}.pem'}", f"export CASCADE_KEY={ca_dir / f'{OPERATOR}.key'}"]
        first = True
        for department in cfg.departments:
            if department.code in issued:
                line = f"CASCADE_TOKEN={issued[department.code]}  # {department.code} {department.name}"
                lines.append(("export " if first else "# export ") + line)
                first = False
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        made.append(f"{len(issued)} department tokens, in {env_file}")
    click.echo("\n".join(f"created {thing}" for thing in made) if made else "nothing to create: all present")
    if env_file.exists():
        click.echo(f"for client commands: . {env_file}")
