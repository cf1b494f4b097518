"""What a new user meets in the first hour: `cascade --version`, errors that say what to do
when no node answers or a token is shown to the wrong node, `-q` for composing commands, and
`harness up` run twice."""

import socket

import pytest
from click.testing import CliRunner

from conftest import ROOT
from cli import main
from test_cli_security import config, tls_node  # noqa: F401 (fixtures)


def cascade(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_version():
    result = cascade("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("cascade ") and result.stdout.split()[1][0].isdigit()


@pytest.fixture
def nobody_listens():
    """A loopback address bound but not listening: a connection there is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("command", [("status",), ("entry", "search", "社保"), ("entry", "list")])
def test_no_node_at_the_target_names_it_and_how_to_set_it(nobody_listens, command):
    result = cascade(*command, "--target", nobody_listens)
    assert result.exit_code == 1
    first, hint = result.stderr.splitlines()[:2]
    assert first.startswith("error: UNAVAILABLE")
    assert hint.startswith(f"hint: no node answered at {nobody_listens}")
    assert "--target" in hint and ". data/pki/client.env" in hint and "cascade harness creds" in hint


def test_the_target_from_the_environment_is_the_one_named(nobody_listens):
    result = cascade("status", env={"CASCADE_TARGET": nobody_listens})
    assert result.exit_code == 1 and f"no node answered at {nobody_listens}" in result.stderr


def test_a_token_from_another_node_says_whose_it_is_and_that_the_certificate_needs_none(tls_node, config):  # noqa: F811
    operator = ["--target", tls_node.address, *tls_node.operator, "--server-name", "hebei"]
    foreign = cascade("token", "issue", "--config", config, "--department", "130100005", "-q").stdout.strip()
    result = cascade("status", *operator, "--token", foreign)
    assert result.exit_code == 1
    assert "UNAUTHENTICATED: the bearer token is unknown" in result.stderr
    hint = result.stderr.splitlines()[1]
    assert hint.startswith("hint: a token is valid only at the node that issued it")
    assert "operator certificate" in hint and "unset CASCADE_TOKEN" in hint
    assert cascade("status", *operator).exit_code == 0  # as the hint says


def test_entry_publish_quiet_prints_the_resource_code(tls_node):  # noqa: F811
    token = cascade("token", "issue", "--config", tls_node.config, "--department", "130000001",
                    "--scope", "publish", "-q")
    assert token.exit_code == 0 and token.stderr == ""
    police = ["--target", tls_node.address, *tls_node.police, "--server-name", "hebei", "--token", token.stdout.strip()]
    result = cascade("entry", "publish", ROOT / "configs" / "examples" / "entry.yaml", "-q", *police)
    assert result.exit_code == 0, result.output
    assert result.stdout == "130000001/000001\n"


def test_harness_up_twice_with_the_same_file_says_so_and_succeeds(federation, tmp_path):
    import yaml

    small = yaml.safe_load((ROOT / "configs" / "federation-small.yaml").read_text(encoding="utf-8"))
    compose = tmp_path / "two.yaml"  # the hub and Hebei only: the quickest federation to start
    compose.write_text(yaml.safe_dump(small | {"portal": False, "nodes": small["nodes"][:1]}, allow_unicode=True))
    fed = federation(compose)
    again = cascade("harness", "up", compose, "--state", fed.dir)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("already up: 2 nodes") and "nothing started" in again.stdout
    assert {n: fed.node(n)["pid"] for n in ("national", "hebei")} == \
        {n: node["pid"] for n, node in type(fed)(fed.dir).state["nodes"].items()}

    other = tmp_path / "other.yaml"
    other.write_text(compose.read_text(encoding="utf-8"))
    refused = cascade("harness", "up", other, "--state", fed.dir)
    assert refused.exit_code == 1 and "already up" in refused.output and "harness down" in refused.output
