"""`cascade portal`: serve the portal in front of a node (normally the hub)."""

from __future__ import annotations

import click

from cli.common import Target, client_options, fail


def _nodes(values: tuple[str, ...]) -> dict[str, str]:
    nodes = {}
    for value in values:
        node_id, sep, address = value.partition("=")
        if not sep or not node_id or ":" not in address:
            fail(f"--node: {value!r} is not ID=HOST:PORT")
        nodes[node_id] = address
    return nodes


@click.command()
@client_options
@click.option("--listen", default="127.0.0.1:8080", show_default=True,
              help="HOST:PORT the web server listens on (port 0 picks a free one).")
@click.option("--department-cert", envvar="CASCADE_PORTAL_DEPARTMENT_CERT", default="", type=click.Path(dir_okay=False),
              help="A client certificate (`cascade pki issue DIR portal --kind client`) under which calls with a "
                   "signed-in department's token go, so that each node judges them by the token alone "
                   "(env CASCADE_PORTAL_DEPARTMENT_CERT). Without it, departments cannot sign in to a secure federation.")
@click.option("--department-key", envvar="CASCADE_PORTAL_DEPARTMENT_KEY", default="", type=click.Path(dir_okay=False),
              help="The private key of --department-cert (env CASCADE_PORTAL_DEPARTMENT_KEY).")
@click.option("--node", "nodes", multiple=True, metavar="ID=HOST:PORT",
              help="Where a department's node is reached (repeatable). Default: as the target hub reaches its peers.")
@click.option("--https-only", is_flag=True,
              help="The portal is served over HTTPS (behind a TLS proxy): the session cookie is marked Secure.")
@click.option("--session-idle-minutes", default=30, show_default=True, type=click.IntRange(min=1),
              help="A signed-in session ends after this long without a request.")
@click.option("--session-hours", default=8, show_default=True, type=click.IntRange(min=1),
              help="A signed-in session ends this long after sign-in, however busy. Sessions are kept in the portal "
                   "process, never in the cookie: restarting the portal signs everybody out.")
@click.option("--title", default="", help="Site title. Default: 国家政务数据目录门户.")
@click.option("--public-url", default="", help="The URL the open-data API names datasets by (e.g. https://data.example.cn). "
                                              "Default: the address the portal listens on; never a request's Host header.")
@click.option("--port-file", default=None, type=click.Path(dir_okay=False),
              help="Write the port listened on to this file once bound (for the harness).")
def portal(target: Target, listen: str, department_cert: str, department_key: str, nodes: tuple[str, ...],
           https_only: bool, session_idle_minutes: int, session_hours: int, title: str, public_url: str,
           port_file: str | None) -> None:
    """Serve the web portal and open-data API in front of the node at --target.

    The portal reads the catalog, the scorecard and (at a hub) the peers' status with the
    --cert/--key/--ca identity, an operator's; a department that signs in with its code and
    token is served by its own node, with its token on each call.
    """
    from node.security import pki
    from node.security.client import Credentials
    from portal.app import create_app
    from portal.client import Identities, NodeClient
    from portal.server import bind, serve

    reader = Credentials(target.cert, target.key, target.ca, target.token)
    department = None
    if bool(department_cert) != bool(department_key):
        fail("--department-cert and --department-key go together")
    if department_cert:
        if not reader.secure:
            fail("--department-cert needs --cert, --key and --ca (the federation's CA)")
        try:
            with open(department_cert, "rb") as f:
                _, kind = pki.identity_of(f.read())
        except (OSError, ValueError, pki.PkiError) as exc:
            fail(f"--department-cert: {exc}")
        if kind in ("operator", "department"):
            fail(f"--department-cert must be a client or node certificate, not a {kind}'s: with an operator's, "
                 "any valid token could read any department's requests; with a department's, only that one "
                 "department could sign in")
        department = Credentials(department_cert, department_key, target.ca)
    try:
        sock = bind(listen)
    except (ValueError, OSError) as exc:
        fail(f"--listen {listen}: {exc}")
    client = NodeClient(target.address, Identities(reader, department), server_name=target.server_name,
                        nodes=_nodes(nodes))
    app = create_app(client, title=title, public_url=public_url, https_only=https_only,
                     session_idle_seconds=session_idle_minutes * 60, session_max_seconds=session_hours * 3600)
    serve(app, sock, port_file)
