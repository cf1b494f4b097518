"""What more than one command group shares: errors, the channel to a node, the options every
client command takes, and reading a node's config."""

from __future__ import annotations

import sys

import click

from node import config as config_mod

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_MESSAGE = 64 * 1024 * 1024


def fail(message: str) -> None:
    """A bad argument or file: one line on stderr and exit status 2, like click's usage errors."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def channel(target: str):
    import grpc  # here, not at the top: `cascade --help` and `node check-config` start faster without it

    return grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", MAX_MESSAGE)])


def call(fn, request, timeout: float = 30.0):
    """Runs one RPC; a gRPC error becomes a one-line message and exit status 1."""
    import grpc

    try:
        return fn(request, timeout=timeout)
    except grpc.RpcError as exc:
        click.echo(f"error: {exc.code().name}: {exc.details()}", err=True)
        sys.exit(1)


def admin_stub(target: str):
    """The Admin service: status, sync, verify (hub operations) and the scorecard (requests)."""
    from node.proto import admin_pb2_grpc

    return admin_pb2_grpc.AdminStub(channel(target))


def load_config(path: str) -> config_mod.Config:
    """The validated config at PATH; a bad one ends the command with the file, key path and rule."""
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        fail(str(exc))


target_option = click.option(
    "--target", envvar="CASCADE_TARGET", default=DEFAULT_TARGET, show_default=True,
    help="HOST:PORT of the node to call (env CASCADE_TARGET).")


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
