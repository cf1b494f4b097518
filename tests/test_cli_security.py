"""The operator's security commands: `cascade pki`, `cascade token`, `cascade audit`, and the TLS
and token options every client command takes."""

import sqlite3
import stat
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from conftest import ROOT, wait_until
from node import config as config_mod
from cli import main

HEBEI_DEPARTMENT = "130100005"


def cascade(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def config(tmp_path):
    """A Hebei node's config file with one department; its database does not exist yet."""
    path = tmp_path / "hebei.yaml"
    path.write_text(yaml.safe_dump({
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "listen": "127.0.0.1:0",
        "sharing": {"beyond_calendar": "weekdays"},  # any day of any year (docs/calendar.md)
        "database": str(tmp_path / "hebei.db"),
        "departments": [{"code": HEBEI_DEPARTMENT, "name": "石家庄市数据和政务服务局"}],
        "insecure": True,
    }, allow_unicode=True))
    return path


# --- pki -----------------------------------------------------------------------------------------

def test_pki_init_issue_show_round_trip(tmp_path):
    ca_dir = tmp_path / "pki"
    result = cascade("pki", "init", ca_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(ca_dir / "ca.pem"), str(ca_dir / "ca.key")]
    assert mode(ca_dir / "ca.key") == 0o600

    result = cascade("pki", "issue", ca_dir, "hebei", "--host", "127.0.0.1")
    assert result.exit_code == 0, result.output
    cert_path, key_path = map(type(tmp_path), result.stdout.split())
    assert (cert_path, key_path) == (ca_dir / "hebei.pem", ca_dir / "hebei.key")
    assert mode(key_path) == 0o600

    result = cascade("pki", "issue", ca_dir, "duty", "--kind", "operator", "--days", "30")
    assert result.exit_code == 0, result.output

    result = cascade("pki", "show", cert_path)
    assert result.exit_code == 0, result.output
    shown = dict(line.split(":", 1) for line in result.stdout.splitlines())
    shown = {k: v.strip() for k, v in shown.items()}
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert shown["name"] == "hebei" and shown["kind"] == "node"
    assert shown["serial"] == format(cert.serial_number, "x")
    assert shown["sha256"].replace(":", "") == cert.fingerprint(hashes.SHA256()).hex().upper()
    assert "(valid)" in shown["valid"]
    assert "kind:   operator" in cascade("pki", "show", ca_dir / "duty.pem").stdout


def test_pki_refuses_clearly(tmp_path):
    result = cascade("pki", "issue", tmp_path / "empty", "hebei")
    assert result.exit_code == 2
    assert "error: no CA in" in result.stderr and "cascade pki init" in result.stderr
    assert not (tmp_path / "empty" / "hebei.key").exists()

    assert cascade("pki", "init", tmp_path).exit_code == 0
    result = cascade("pki", "init", tmp_path)
    assert result.exit_code == 2 and "already exists" in result.stderr
    result = cascade("pki", "issue", tmp_path, "Hebei")
    assert result.exit_code == 2 and "error: name 'Hebei'" in result.stderr
    result = cascade("pki", "show", tmp_path / "missing.pem")
    assert result.exit_code == 2 and "No such file" in result.stderr
    result = cascade("pki", "show", tmp_path / "ca.key")
    assert result.exit_code == 2 and "not a PEM certificate" in result.stderr


# --- tokens --------------------------------------------------------------------------------------

def token_rows(config) -> dict[str, str]:
    result = cascade("token", "list", "--config", config)
    assert result.exit_code == 0, result.output
    return {line.split()[0]: line for line in result.stdout.splitlines()[1:-1]}


def test_token_issue_list_revoke(config):
    result = cascade("token", "issue", "--config", config, "--department", HEBEI_DEPARTMENT,
                     "--scope", "publish,read", "--note", "石家庄 publishing system")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n"  # the token alone, so $(cascade token issue ...) captures it
    assert token.startswith("cct_")
    token_id = token.split("_")[1]
    assert token_id in result.stderr and "only this once" in result.stderr

    rows = token_rows(config)
    assert set(rows) == {token_id}
    assert rows[token_id].count("Z ") == 2  # created and expires; not revoked
    assert HEBEI_DEPARTMENT in rows[token_id] and "publish,read" in rows[token_id]
    assert "石家庄 publishing system" in rows[token_id]
    listing = cascade("token", "list", "--config", config).stdout
    assert token.split("_", 2)[2] not in listing  # never the secret
    assert "(1 tokens, 1 active)" in listing

    result = cascade("token", "revoke", "--config", config, token_id)
    assert result.exit_code == 0 and f"revoked token {token_id}" in result.stdout
    assert "(1 tokens, 0 active)" in cascade("token", "list", "--config", config).stdout
    assert token_rows(config)[token_id].count("Z ") == 3  # and now revoked

    result = cascade("token", "revoke", "--config", config, "deadbeef")
    assert result.exit_code == 1 and "no token deadbeef" in result.stderr


def test_an_operator_token_needs_no_department(config):
    result = cascade("token", "issue", "--config", config, "--scope", "operator")
    assert result.exit_code == 0, result.output
    token_id = result.stdout.strip().split("_")[1]
    assert token_rows(config)[token_id].split()[1:3] == ["operator", "operator"]


@pytest.mark.parametrize("args, message", [
    (["--department", "130100009"], "department 130100009 is not a department of hebei"),
    ([], "--department is required"),
    (["--department", HEBEI_DEPARTMENT, "--scope", "publish,operator"], "operator scope"),
    (["--department", HEBEI_DEPARTMENT, "--scope", "publish,admin"], "unknown admin"),
])
def test_a_token_outside_the_rules_is_refused(config, tmp_path, args, message):
    result = cascade("token", "issue", "--config", config, *args)
    assert result.exit_code == 2
    assert message in result.stderr and not result.stdout
    if (tmp_path / "hebei.db").exists():
        with sqlite3.connect(tmp_path / "hebei.db") as db:
            assert db.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM audit").fetchone() == (0,)


# --- audit ---------------------------------------------------------------------------------------

def test_token_changes_are_audited_and_tampering_is_found(config, tmp_path):
    token = cascade("token", "issue", "--config", config, "--department", HEBEI_DEPARTMENT).stdout.strip()
    token_id = token.split("_")[1]
    cascade("token", "revoke", "--config", config, token_id)

    result = cascade("audit", "verify", "--config", config)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 2 records, head 2 ")

    tail = cascade("audit", "tail", "--config", config, "-n", "5").stdout.splitlines()
    assert tail[0].split() == ["seq", "at", "actor", "method", "object", "outcome", "detail"]
    assert "operator@cli" in tail[1] and "token.issue" in tail[1] and f"token {token_id} department {HEBEI_DEPARTMENT}" in tail[1]
    assert "token.revoke" in tail[2] and " ok" in tail[2]

    with sqlite3.connect(tmp_path / "hebei.db") as db:
        db.execute("DROP TRIGGER audit_no_update")  # the trail refuses UPDATE; someone with the file does not care
        db.execute("UPDATE audit SET object = 'token 00000000 operator' WHERE seq = 1")
    result = cascade("audit", "verify", "--config", config)
    assert result.exit_code == 1
    assert result.stdout.startswith("record 1: ") and "edited" in result.stdout


def test_reading_a_node_that_never_ran_is_an_error(config):
    for command in (["audit", "verify"], ["token", "list"]):
        result = cascade(*command, "--config", config)
        assert result.exit_code == 2 and "no such database" in result.stderr


# --- the client options --------------------------------------------------------------------------

@pytest.mark.parametrize("args, env, missing", [
    (["--cert", "a.pem"], {}, "--key and --ca are missing"),
    (["--cert", "a.pem", "--key", "a.key"], {}, "--ca is missing"),
    ([], {"CASCADE_CA": "ca.pem"}, "--cert and --key are missing"),
])
def test_a_partial_certificate_set_is_refused(args, env, missing):
    for command in (["status"], ["entry", "list"], ["requests", "get", "x"], ["sync", "now"]):
        result = cascade(*command, "--target", "127.0.0.1:1", *args, env=env)
        assert result.exit_code == 2, (command, result.output)
        assert "mutual TLS needs --cert, --key and --ca together" in result.stderr and missing in result.stderr


def test_publishing_a_missing_file_says_so(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    result = cascade("entry", "publish", missing, "--target", "127.0.0.1:1")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {missing}: cannot be read: No such file or directory")


@pytest.fixture
def tls_node(tmp_path, start_node):
    """Hebei serving mutual TLS from its config file, and the files of an operator and of a
    department's system that may call it."""
    ca_dir = tmp_path / "pki"
    assert cascade("pki", "init", ca_dir).exit_code == 0
    for name, kind in (("hebei", "node"), ("duty", "operator"), ("police", "client")):
        assert cascade("pki", "issue", ca_dir, name, "--kind", kind, "--host", "127.0.0.1").exit_code == 0
    path = tmp_path / "hebei-tls.yaml"
    path.write_text(yaml.safe_dump({
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "listen": "127.0.0.1:0",
        "sharing": {"beyond_calendar": "weekdays"},  # any day of any year (docs/calendar.md)
        "database": str(tmp_path / "hebei-tls.db"),
        "departments": [{"code": "130000001", "name": "河北省公安厅"}],
        "tls": {"cert": str(ca_dir / "hebei.pem"), "key": str(ca_dir / "hebei.key"), "ca": str(ca_dir / "ca.pem")},
        "log": {"level": "warning", "format": "json"},
    }, allow_unicode=True))
    client = start_node(config_mod.load(str(path)))

    def files(name):
        return ["--cert", ca_dir / f"{name}.pem", "--key", ca_dir / f"{name}.key", "--ca", ca_dir / "ca.pem"]

    return SimpleNamespace(address=client.node.address, config=path, operator=files("duty"), police=files("police"))


def test_client_commands_speak_mutual_tls(tls_node):
    address, operator = tls_node.address, tls_node.operator
    result = cascade("status", "--target", address, *operator, "--server-name", "hebei")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("hebei (provincial")
    # without --server-name the certificate must name the target's host, which it does (--host 127.0.0.1)
    assert cascade("status", "--target", address, *operator).exit_code == 0

    result = cascade("status", "--target", address, *operator, "--server-name", "beijing")
    assert result.exit_code == 1 and "UNAVAILABLE" in result.stderr
    result = cascade("status", "--target", address)  # plaintext to a TLS node
    assert result.exit_code == 1 and "UNAVAILABLE" in result.stderr


def test_client_options_come_from_the_environment(tls_node):
    address, operator = tls_node.address, tls_node.operator
    env = {"CASCADE_TARGET": address, "CASCADE_CERT": str(operator[1]), "CASCADE_KEY": str(operator[3]),
           "CASCADE_CA": str(operator[5]), "CASCADE_SERVER_NAME": "hebei"}
    result = cascade("entry", "list", env=env)
    assert result.exit_code == 0, result.output
    assert "(0 shown)" in result.stdout


def test_an_unreadable_certificate_file_is_named(tmp_path):
    files = ["--cert", tmp_path / "no.pem", "--key", tmp_path / "no.key", "--ca", tmp_path / "ca.pem"]
    result = cascade("status", "--target", "127.0.0.1:1", *files)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read ") and "No such file or directory" in result.stderr


def test_a_token_issued_by_the_cli_lets_its_department_publish_until_revoked(tls_node):
    entry = ROOT / "configs" / "examples" / "entry.yaml"  # provider 130000001
    police = ["--target", tls_node.address, *tls_node.police, "--server-name", "hebei"]
    result = cascade("entry", "publish", entry, *police)
    assert result.exit_code == 1 and "UNAUTHENTICATED" in result.stderr  # a client certificate alone is not enough

    token = cascade("token", "issue", "--config", tls_node.config, "--department", "130000001",
                    "--scope", "publish").stdout.strip()
    result = cascade("entry", "publish", entry, *police, "--token", token)
    assert result.exit_code == 0, result.output
    assert "created 130000001/000001 version 1" in result.stdout

    assert cascade("token", "revoke", "--config", tls_node.config, token.split("_")[1]).exit_code == 0
    # the node caches a token's check for a few seconds
    wait_until(lambda: cascade("entry", "withdraw", "130000001/000001", *police, "--token", token).exit_code, 30,
               "the node to refuse the revoked token", until=lambda code: code == 1)
    result = cascade("entry", "withdraw", "130000001/000001", *police, "--token", token)
    assert "UNAUTHENTICATED" in result.stderr and "revoked" in result.stderr


def test_the_token_and_server_name_reach_the_channel(monkeypatch):
    from node.security import client as client_mod

    opened = []
    real_open_channel = client_mod.open_channel

    def recording_open_channel(target, credentials=None, **options):
        opened.append((target, credentials, options["server_name"]))
        return real_open_channel(target, credentials, **options)

    monkeypatch.setattr(client_mod, "open_channel", recording_open_channel)
    cascade("status", "--target", "127.0.0.1:1", "--token", "cct_0badf00d_secret", "--server-name", "hebei")
    [(target, credentials, server_name)] = opened
    assert (target, credentials.token, credentials.secure, server_name) == ("127.0.0.1:1", "cct_0badf00d_secret",
                                                                          False, "hebei")


def _exports(path) -> dict[str, str]:
    """What `. FILE` would set."""
    return dict(line[len("export "):].split("=", 1) for line in path.read_text().splitlines()
                if line.startswith("export "))


def test_node_init_hands_a_department_its_own_certificate_never_the_operators(tmp_path, start_node):
    from node.security import pki

    path = tmp_path / "hebei.yaml"
    path.write_text(yaml.safe_dump({
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "listen": "127.0.0.1:0",
        "sharing": {"beyond_calendar": "weekdays"},  # any day of any year (docs/calendar.md)
        "database": str(tmp_path / "hebei.db"),
        "departments": [{"code": "130000001", "name": "河北省公安厅"}, {"code": "130000002", "name": "河北省民政厅"}],
        "tls": {"cert": "pki/hebei.pem", "key": "pki/hebei.key", "ca": "pki/ca.pem"},
        "log": {"level": "warning", "format": "json"},
    }, allow_unicode=True))
    made = cascade("node", "init", "--config", path)
    assert made.exit_code == 0, made.output
    env_file = tmp_path / "pki" / "client.env"
    env = _exports(env_file)
    assert pki.identity_of(open(env["CASCADE_CERT"], "rb").read()) == ("130000001.hebei", "department")
    assert "operator" not in env_file.read_text()
    assert not (tmp_path / "pki" / "operator.env").exists(), "the operator's settings were not asked for"

    client = start_node(config_mod.load(str(path)))
    env["CASCADE_TARGET"] = client.node.address
    result = cascade("entry", "publish", ROOT / "configs" / "examples" / "entry.yaml", env=env)
    assert result.exit_code == 0, result.output
    assert cascade("entry", "get", "130000001/000001", env=env).exit_code == 0
    result = cascade("status", env=env)
    assert result.exit_code == 1 and "PERMISSION_DENIED" in result.stderr
    result = cascade("requests", "list", "--owner", "130000002", env=env)
    assert result.exit_code == 1 and "PERMISSION_DENIED" in result.stderr

    assert cascade("node", "init", "--config", path, "--operator").exit_code == 0
    operator = _exports(tmp_path / "pki" / "operator.env")
    operator["CASCADE_TARGET"] = client.node.address
    result = cascade("status", env=operator)
    assert result.exit_code == 0, result.output
