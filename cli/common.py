"""What more than one command group shares: errors, the node a client command calls and how
(--target, TLS files, token), the channel to it, and reading a node's config."""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import sys

import click

from node import config as config_mod

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_MESSAGE = 64 * 1024 * 1024


def fail(message: str) -> None:
    """A bad argument or file: one line on stderr and exit status 2, like click's usage errors."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@dataclasses.dataclass(frozen=True)
class Target:
    """The node a client command calls: its address, the name its certificate must carry (empty:
    the address's host), our certificate, key and CA (all three, or none for plaintext) and token."""

    address: str
    server_name: str = ""
    cert: str = ""
    key: str = ""
    ca: str = ""
    token: str = ""


def channel(target: Target):
    """A channel to the node: mutual TLS when a certificate is given, else plaintext (nodes with
    `insecure: true`); the token, if any, goes with every call."""
    # Imported here, not at the top: `cascade --help` and `node check-config` start faster without grpc.
    from node.security.client import Credentials, open_channel
    from node.security.tls import TlsError

    credentials = Credentials(target.cert, target.key, target.ca, target.token)
    try:
        return open_channel(target.address, credentials, server_name=target.server_name,
                            options=[("grpc.max_receive_message_length", MAX_MESSAGE)])
    except TlsError as exc:  # a certificate, key or CA file that cannot be read
        fail(str(exc))


# The node the running command calls, set by client_options: what an error's hint names.
_calling: contextvars.ContextVar[Target | None] = contextvars.ContextVar("calling", default=None)

HOW_TO_TARGET = ("set the node with --target HOST:PORT (or CASCADE_TARGET) and, for a node with TLS, its "
                 "credentials: `. data/pki/client.env` for the node of `cascade node init`, "
                 "`eval $(cascade harness creds NODE --operator --env)` for a harness federation")


def hint(code_name: str, details: str, target: Target | None) -> str:
    """What to do about an error whose cause is usually on the caller's side ("" when none):
    a node not reached, or a token shown to a node that did not issue it."""
    address = target.address if target else "the node"
    if code_name == "UNAVAILABLE" and ("failed to connect" in details or "connections to all backends" in details):
        plain = target is not None and not target.cert
        return (f"no node answered at {address}" + (" (in plaintext: no --cert/--key/--ca given)" if plain else "")
                + f"; {HOW_TO_TARGET}")
    if code_name == "UNAUTHENTICATED" and "bearer token is unknown" in details:
        return (f"a token is valid only at the node that issued it, and {address} did not issue this one; "
                "present that node's token, or none: the operator certificate (--cert/--key/--ca) needs no "
                "token (`unset CASCADE_TOKEN`)")
    return ""


def rpc_failed(exc) -> None:
    """A gRPC error as one line on stderr, a hint on the next when the fix is the caller's; exit 1."""
    name, details = exc.code().name, exc.details() or ""
    click.echo(f"error: {name}: {details}", err=True)
    advice = hint(name, details, _calling.get())
    if advice:
        click.echo(f"hint: {advice}", err=True)
    sys.exit(1)


def call(fn, request, timeout: float = 30.0):
    """Runs one RPC; a gRPC error becomes a one-line message (and a hint) and exit status 1."""
    import grpc

    try:
        return fn(request, timeout=timeout)
    except grpc.RpcError as exc:
        rpc_failed(exc)


def admin_stub(target: Target):
    """The Admin service: status, sync, verify (hub operations) and the scorecard (requests)."""
    from node.proto import admin_pb2_grpc

    return admin_pb2_grpc.AdminStub(channel(target))


def load_config(path: str) -> config_mod.Config:
    """The validated config at PATH; a bad one ends the command with the file, key path and rule."""
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        fail(str(exc))


config_option = click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
                             help="The node's YAML config file (docs/config.md).")

_TLS_FILES = ("cert", "key", "ca")

CLIENT_OPTIONS = (  # shown in this order; the command receives them as one Target named `target`
    click.option("--target", envvar="CASCADE_TARGET", default=DEFAULT_TARGET, show_default=True,
                 help="HOST:PORT of the node to call (env CASCADE_TARGET)."),
    click.option("--token", envvar="CASCADE_TOKEN", default="",
                 help="Bearer token to present (env CASCADE_TOKEN), as printed by `cascade token issue`. "
                      "Default: none."),
    click.option("--cert", envvar="CASCADE_CERT", default="", type=click.Path(dir_okay=False),
                 help="Our certificate file, from `cascade pki issue` (env CASCADE_CERT). With --key and --ca "
                      "the call uses mutual TLS; without all three it goes in plaintext, which only nodes "
                      "with `insecure: true` accept."),
    click.option("--key", envvar="CASCADE_KEY", default="", type=click.Path(dir_okay=False),
                 help="The private key of --cert (env CASCADE_KEY)."),
    click.option("--ca", envvar="CASCADE_CA", default="", type=click.Path(dir_okay=False),
                 help="The federation CA certificate the node's certificate must chain to (env CASCADE_CA)."),
    click.option("--server-name", envvar="CASCADE_SERVER_NAME", default="",
                 help="The node id the node's certificate must name, e.g. hebei (env CASCADE_SERVER_NAME). "
                      "Default: the host of --target."),
)


def client_options(fn):
    """Adds --target, --token, --cert, --key, --ca and --server-name to a command that calls a
    node, and hands it a `target` (a Target); a partial cert/key/ca set ends it with exit 2."""

    @functools.wraps(fn)
    def command(*args, target, token, cert, key, ca, server_name, **kwargs):
        files = {"cert": cert, "key": key, "ca": ca}
        given = [name for name in _TLS_FILES if files[name]]
        if given and len(given) < len(_TLS_FILES):
            missing = [f"--{name}" for name in _TLS_FILES if not files[name]]
            fail(f"mutual TLS needs --cert, --key and --ca together (or CASCADE_CERT, CASCADE_KEY, CASCADE_CA); "
                 f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
        called = Target(target, server_name, cert, key, ca, token)
        _calling.set(called)
        return fn(*args, target=called, **kwargs)

    # wraps() shares fn's list of click parameters; a copy keeps fn's own list untouched.
    command.__click_params__ = list(getattr(fn, "__click_params__", []))
    for option in reversed(CLIENT_OPTIONS):
        command = option(command)
    return command


def page_options(what: str, default_size: int):
    """--page-size and --page-token for a listing of WHAT."""
    def decorate(fn):
        fn = click.option("--page-token", default="", help="Continue a listing from the token printed after "
                          "`next page:` by the previous call (default: the first page).")(fn)
        return click.option("--page-size", default=default_size, show_default=True,
                            help=f"{what.capitalize()} per page, from 1 to the node's limits.max_page_size "
                                 "(1000 unless its config says otherwise).")(fn)
    return decorate


def echo_next_page(token: str) -> None:
    if token:
        click.echo(f"next page: --page-token {token}")


quiet_option = click.option("-q", "--quiet", is_flag=True,
                            help="Print only the id of what was created, for `ID=$(cascade ...)`.")
