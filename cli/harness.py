"""`cascade harness ...`: bring a federation up, watch it, break it, tear it down."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from node.errors import ConfigError

if TYPE_CHECKING:  # harness.runner loads grpc and the protos: imported where a command needs it,
    from harness.runner import Federation  # because every `cascade` command loads this module

DEFAULT_STATE = ".cascade-harness"

state_option = click.option("--state", "state_dir", envvar="CASCADE_HARNESS_DIR", default=DEFAULT_STATE,
                            show_default=True, help="Where the harness keeps configs, logs, databases and pids "
                                                    "(env CASCADE_HARNESS_DIR).")


def fed_of(state_dir: str) -> Federation:
    from harness.runner import Federation

    fed = Federation(state_dir)
    if not fed.state:
        raise click.ClickException(f"no federation in {state_dir}: `cascade harness up FILE` first")
    return fed


def guarded(fn):
    """Harness and config errors become one-line messages."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from harness.runner import HarnessError

        try:
            return fn(*args, **kwargs)
        except (HarnessError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


@click.group()
def harness() -> None:
    """Start, watch and break a whole federation on this machine (loopback only)."""


@harness.command()
@click.argument("compose_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--seed", "seed_entries", is_flag=False, flag_value=-1, default=None, type=int,
              help="Seed every department's responsibility list once up: --seed for the compose file's "
                   "seed.entries_per_department, --seed N for N entries each. Default: no seeding.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="With --seed: wait (up to 300 s) until the hub has converged.")
@state_option
@guarded
def up(compose_file: str, seed_entries: int | None, wait: bool, state_dir: str) -> None:
    """Start every node of COMPOSE_FILE as its own process and wait until all are healthy. If the
    federation of COMPOSE_FILE is up already in --state, say so and exit 0."""
    from harness import compose as compose_mod
    from harness.runner import Federation
    from node.progress import progress

    start = time.monotonic()
    with progress("up", len(compose_mod.load(compose_file).all), unit="nodes healthy") as advance:
        fed = Federation.up(compose_file, state_dir, on_ready=lambda node_id: advance(1))
    if fed.already_up:
        click.echo(f"already up: {len(fed.state['nodes'])} nodes of {fed.state['name']} from {compose_file} "
                   f"(hub {fed.hub_id} at {fed.address(fed.hub_id)}; state in {fed.dir}); nothing started"
                   + ("" if seed_entries is None else ", not seeded again (`cascade harness seed` seeds)"))
        return
    click.echo(f"up: {len(fed.state['nodes'])} nodes of {fed.state['name']} healthy in {time.monotonic() - start:.1f}s "
               f"(hub {fed.hub_id} at {fed.address(fed.hub_id)}; state in {fed.dir})")
    if fed.state.get("portal"):
        click.echo(f"portal: open {fed.portal_url()}")
    if seed_entries is not None:
        _seed(fed, None if seed_entries < 0 else seed_entries, wait)


def _seed(fed: Federation, per_department: int | None, wait: bool) -> None:
    from node.progress import progress

    start = time.monotonic()
    with progress("seed", fed.seed_size(per_department)) as advance:
        count = fed.seed(per_department, on_published=advance)
    click.echo(f"seeded {count} entries, with synthetic data mounted on those shared by database or file, "
               f"in {time.monotonic() - start:.1f}s")
    if wait:
        seconds = fed.wait_converged(timeout=300)
        click.echo(f"hub converged: its copy of every peer equals the peer (by digest) {seconds:.1f}s after seeding")


@harness.command()
@click.option("--entries", "per_department", type=int, default=None,
              help="Entries per department. Default: the compose file's seed.entries_per_department.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait (up to 300 s) until the hub has converged.")
@state_option
@guarded
def seed(per_department: int | None, wait: bool, state_dir: str) -> None:
    """Publish a realistic responsibility list for every department of every node, and mount
    synthetic data on each entry shared by database or file."""
    _seed(fed_of(state_dir), per_department, wait)


@harness.command()
@state_option
@guarded
def ps(state_dir: str) -> None:
    """Every node: role, address, health, pid, live entries; the hub's view of each peer's lag."""
    from cli.tables import ago, print_table  # not at the top: cli imports this module

    fed = fed_of(state_dir)
    rows = fed.ps()
    hub = next((r for r in rows if r["node"] == fed.hub_id), {})
    peers = hub.get("peers", {})
    header = ("node", "role", "address", "metrics", "health", "pid", "entries", "link", "hub: behind", "last ok",
              "hub: last error")
    table = []
    for r in rows:
        p = peers.get(r["node"])
        link = r["link"]
        up = r.get("uplink") or (link if r["role"] == "national" else {})  # the hub: its own link is into it
        cut = {(True, True): "partitioned", (True, False): "cut to node", (False, True): "cut to hub"}.get(
            (bool(link.get("partitioned")), bool(up.get("partitioned"))))
        link_word = (cut or (f"delay {link['delay_ms']}ms" if link.get("delay_ms")
                     else f"drop@{link['drop_after_bytes']}B" if link.get("drop_after_bytes") else "ok")) if link \
            else "-" if r["role"] == "portal" else "?"
        table.append((r["node"], r["role"], r["address"], r.get("metrics") or "-", r["health"], str(r["pid"] or "-"),
                      "-" if r["entries"] is None else str(r["entries"]), link_word,
                      "" if p is None else f"{p.behind} ({p.state}{f', pulling {p.pulling_seconds:.0f}s' if p.pulling_seconds >= 1 else ''})",
                      "" if p is None else ago(p.seconds_since_success),
                      "" if p is None else p.last_error[:50]))
    print_table(header, table)


@harness.command()
@click.argument("node")
@click.option("--tail", "lines", default=40, show_default=True, help="How many lines from the end of the log.")
@state_option
@guarded
def logs(node: str, lines: int, state_dir: str) -> None:
    """Print the end of NODE's log ("proxy" for the fault proxy's, "portal" for the portal's)."""
    fed = fed_of(state_dir)
    path = (fed.dir / "logs" / f"{node}.log" if node in ("proxy", "portal") else fed.node(node)["log"])
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f.readlines()[-lines:]:
            click.echo(line.rstrip())


def _node_command(name: str, doc: str):
    """`cascade harness NAME NODE` calls the Federation method NAME on NODE."""
    @harness.command(name=name, help=doc)
    @click.argument("node")
    @state_option
    @guarded
    def command(node: str, state_dir: str) -> None:
        fed = fed_of(state_dir)
        getattr(fed, name)(node)
        click.echo(f"{name}: {node}")
    return command


for _name, _doc in (
    ("stop", "SIGTERM NODE: it finishes in-flight calls and closes its database."),
    ("kill", "SIGKILL NODE: it dies at once, wherever it is."),
    ("start", "Start a stopped or killed NODE again (same port, same database)."),
    ("restart", "Stop NODE gracefully, then start it again."),
    ("pause", "SIGSTOP NODE: it keeps its connections but answers nothing."),
    ("resume", "SIGCONT a paused NODE."),
    ("heal", ("Give the links between the hub and NODE back their clean state, both ways (no partition, "
              "delay or drops).")),
):
    _node_command(_name, _doc)


@harness.command()
@click.argument("node")
@click.option("--way", type=click.Choice(["both", "to-node", "to-hub"]), default="both", show_default=True,
              help="to-node: only the hub's calls to NODE fail (NODE can still Notify the hub); to-hub: only "
                   "NODE's calls to the hub fail. For the hub itself: its links with every peer.")
@state_option
@guarded
def partition(node: str, way: str, state_dir: str) -> None:
    """Cut the link between the hub and NODE: new connections are refused, open ones cut."""
    fed_of(state_dir).partition(node, way)
    click.echo(f"partition: {node}{'' if way == 'both' else f' ({way})'}")


@harness.command()
@click.argument("node")
@state_option
@guarded
def address(node: str, state_dir: str) -> None:
    """Print NODE's HOST:PORT (for --target), or the portal's URL for `portal`."""
    fed = fed_of(state_dir)
    click.echo(fed.portal_url() if node == "portal" else fed.address(node))


@harness.command()
@click.argument("node")
@click.argument("department", required=False, default="")
@click.option("--operator", "as_operator", is_flag=True,
              help="Print the operator's certificate instead (Status, SyncNow, Verify, ListExchanges: every node, "
                   "every department's requests). Never hand it to a department.")
@click.option("--authority", "as_authority", is_flag=True,
              help="Act as NODE's data authority (数据主管部门): its department's certificate and token, which "
                   "also carries review, coordinate and compile (docs/sharing.md).")
@click.option("--env", "as_env", is_flag=True,
              help="Print `export CASCADE_...=...` lines for `eval`, so that every `cascade` command uses them.")
@state_option
@guarded
def creds(node: str, department: str, as_operator: bool, as_authority: bool, as_env: bool, state_dir: str) -> None:
    """Print what an outside tool reaches NODE with, and NODE's address: DEPARTMENT's own client
    certificate, key, CA and token (it may act only as that department), with --authority the
    node's data authority's, or with --operator the operator's certificate."""
    fed = fed_of(state_dir)
    if not fed.secure:
        raise click.ClickException("this federation runs plaintext (compose `secure: false`): no credentials needed")
    if as_authority:
        department = department or _authority(fed, node)
    if bool(department) == as_operator:
        raise click.ClickException("name a DEPARTMENT of NODE (its own certificate and token), or pass --operator "
                                   "for the operator's certificate")
    address = fed.address(node)
    try:
        credentials = fed.client() if as_operator else fed.department_client(node, department)
    except KeyError as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    values = {"CASCADE_TARGET": address, "CASCADE_CERT": credentials.cert, "CASCADE_KEY": credentials.key,
              "CASCADE_CA": credentials.ca, "CASCADE_TOKEN": credentials.token}
    for name, value in values.items():
        click.echo(f"export {name}={value}" if as_env else f"{name[len('CASCADE_'):].lower():<7} {value}")


@harness.command()
@click.argument("node")
@click.argument("department")
@click.option("--scope", default="",
              help="Issue a new token with only these scopes (comma-separated: publish, request, decide, read; "
                   "at the node's data authority also review, coordinate, compile). "
                   "Default: print the department's token, which has them all.")
@state_option
@guarded
def token(node: str, department: str, scope: str, state_dir: str) -> None:
    """Print the bearer token of DEPARTMENT at NODE (for --token or CASCADE_TOKEN); DEPARTMENT
    `authority` is NODE's data authority."""
    fed = fed_of(state_dir)
    if not fed.secure:
        raise click.ClickException("this federation runs plaintext (compose `secure: false`): no tokens needed")
    if department == "authority":
        department = _authority(fed, node)
    try:
        if scope:
            click.echo(fed.credentials.issue(fed.node(node)["database"], department,
                                             [s.strip() for s in scope.split(",") if s.strip()]))
        else:
            click.echo(fed.token(node, department))
    except (KeyError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None


@harness.command()
@click.argument("node")
@click.argument("department")
@click.argument("resource_code")
@click.option("--item", "items", multiple=True, required=True, help="A data item asked for (repeat).")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["fetch", "query", "verify"]),
              help="A mode of call asked for (repeat); none: all three.")
@click.option("--quota", "daily_quota", type=click.IntRange(0), default=0, show_default=True,
              help="The owner's daily quota, if the owner has to decide (a conditional entry); 0: none.")
@click.option("--rate", type=click.IntRange(0), default=0, show_default=True,
              help="The owner's calls per second, if the owner has to decide; 0: none.")
@click.option("--timeout", type=float, default=90.0, show_default=True,
              help="Seconds to wait for the grant to come back to NODE.")
@state_option
@guarded
def grant(node: str, department: str, resource_code: str, items: tuple[str, ...], modes: tuple[str, ...],
          daily_quota: int, rate: int, timeout: float, state_dir: str) -> None:
    """A request of DEPARTMENT at NODE for RESOURCE_CODE carried to its grant in one step: filed,
    passed by NODE's data authority if it reviews, approved by the owner department if the entry is
    conditional (with --mode, --quota and --rate), and waited for; prints the request id."""
    from harness import grants

    fed = fed_of(state_dir)
    request_id = grants.file(fed, node, department, resource_code, items, modes)
    held = grants.see_granted(fed, node, department, request_id, modes=modes, daily_quota=daily_quota, rate=rate,
                              timeout=timeout)
    click.echo(request_id)
    click.echo(f"granted: {', '.join(held.modes)}; items {', '.join(held.granted_items or held.data_items)}; "
               f"daily quota {held.daily_quota or 'none'}; rate {held.rate or 'none'}", err=True)


@harness.command()
@click.argument("node")
@click.argument("resource_code")
@click.option("--rows", default=100_000, show_default=True, help="How many synthetic rows to mount.")
@state_option
@guarded
def data(node: str, resource_code: str, rows: int, state_dir: str) -> None:
    """Mount ROWS synthetic rows (names, credit codes, ID numbers, addresses...) on NODE's entry
    RESOURCE_CODE (shared by database: an SQLite table; by file: a CSV file), replacing its source."""
    from harness.data import KIND_FOR_METHOD
    from node import wire
    from node.proto import catalog_pb2

    fed = fed_of(state_dir)
    entry = wire.entry_from_proto(fed.catalog(node).GetEntry(catalog_pb2.GetEntryRequest(resource_code=resource_code),
                                                              timeout=30))
    if entry.share_method not in KIND_FOR_METHOD:
        raise click.ClickException(f"{resource_code} is shared by {entry.share_method}: the harness mounts data only "
                                   f"on entries shared by {' or '.join(KIND_FOR_METHOD)}")
    start = time.monotonic()
    location = fed.mount_data(node, entry, rows)
    click.echo(f"mounted {rows:,} rows on {resource_code} ({location}) in {time.monotonic() - start:.1f}s")


@harness.command()
@click.argument("node")
@click.argument("ms", type=int)
@state_option
@guarded
def delay(node: str, ms: int, state_dir: str) -> None:
    """Delay every chunk on the hub's link to NODE by MS milliseconds."""
    fed_of(state_dir).delay(node, ms)
    click.echo(f"delay: {node} {ms}ms")


@harness.command()
@click.argument("node")
@click.option("--after-bytes", default=20_000, show_default=True,
              help="Cut each connection after this many bytes from the node.")
@state_option
@guarded
def drop(node: str, after_bytes: int, state_dir: str) -> None:
    """Make the hub's link to NODE drop every connection mid-stream."""
    fed_of(state_dir).drop(node, after_bytes)
    click.echo(f"drop: {node} after {after_bytes} bytes")


@harness.command()
@click.option("--purge", is_flag=True, help="Also remove the state directory (configs, logs, databases).")
@state_option
@guarded
def down(purge: bool, state_dir: str) -> None:
    """Stop every node and the proxy; keep the data unless --purge."""
    from harness.runner import Federation

    fed = Federation(state_dir)
    fed.down(purge=purge)
    click.echo(f"down{' and purged' if purge else ''}: {state_dir}")


@harness.command()
@click.option("--timeout", default=120.0, show_default=True,
              help="Seconds to wait before failing with the peers that still differ.")
@state_option
@guarded
def converge(timeout: float, state_dir: str) -> None:
    """Wait (without pulling) until the hub's copy of every peer equals the peer."""
    seconds = fed_of(state_dir).wait_converged(timeout=timeout)
    click.echo(f"converged in {seconds:.1f}s")


def _authority(fed, node: str) -> str:
    """The department code of NODE's data authority, as the harness wrote it into NODE's config."""
    code = fed.node(node).get("data_authority", "")
    if not code:
        raise click.ClickException(f"node {node} names no data authority (compose `data_authority`)")
    return code
