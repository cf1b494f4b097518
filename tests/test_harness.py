"""End to end through the compose harness: real processes, the fault proxy, and the hub
converging to the union of its peers whatever is broken on the way."""

import sqlite3
import stat

import grpc
import pytest

from harness.processes import alive as _alive
from harness.runner import Federation
from conftest import wait_until
from harness.seed import entries_for
from node import wire
from node.proto import catalog_pb2, sharing_pb2

SMALL = "configs/federation-small.yaml"
STATUS_DEADLINE = 30  # a loaded machine can take more than the harness's 2 s to answer Status


def publish(fed, node, entries):
    """Each department's entries published with its own token."""
    return fed.publish(node, entries, timeout=120)


def hub_total(fed):
    """Live entries the hub holds of its peers (its own departments' entries left out)."""
    return sum(p.entries_at_hub for p in fed.status(fed.hub_id, STATUS_DEADLINE).peers)


def assert_union(fed):
    """The hub holds exactly the union of its peers: each peer's copy equal by digest and count."""
    verdicts = fed.verify()
    assert all(v.equal for v in verdicts.values()), {p: v for p, v in verdicts.items() if not v.equal}
    states = {p.node_id: p for p in fed.status(fed.hub_id, STATUS_DEADLINE).peers}
    for peer in fed.peer_ids:
        assert states[peer].entries_at_hub == fed.status(peer, STATUS_DEADLINE).live_entries, peer


def peers_total(fed):
    return sum(fed.status(p, STATUS_DEADLINE).live_entries for p in fed.peer_ids)


def peer_state(fed, peer):
    return {p.node_id: p for p in fed.status(fed.hub_id, STATUS_DEADLINE).peers}[peer]


def hub_entries(fed):
    """Entries in the hub's database, read from the file (the hub may be mid-pull)."""
    with sqlite3.connect(f"file:{fed.node(fed.hub_id)['database']}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT count(*) FROM entries").fetchone()[0]


def hold(fed, node, after_bytes):
    """The link from the node to the hub passes after_bytes more, then stalls until lifted (0) or healed."""
    fed.proxy("set", node, hold_after_bytes=after_bytes)


def holding(fed, node):
    """How many of the hub's connections to the node the link's hold has stopped right now."""
    return fed.proxy("status")["links"][node]["holding"]


def wire_size(entries):
    return sum(wire.entry_to_proto(e).ByteSize() for e in entries)


def test_small_federation_end_to_end(federation):
    fed = federation(SMALL)
    assert fed.seed() == 660
    fed.wait_converged(timeout=60)
    assert_union(fed)
    assert hub_total(fed) == 620 and fed.status(fed.hub_id).live_entries == 660

    # publish at Hebei, partition Guangdong, kill the hub, heal: the hub ends equal to the union
    publish(fed, "hebei", list(entries_for("130000001", "河北省公安厅", 5, seed="e2e", start=900)))
    fed.partition("guangdong")
    publish(fed, "guangdong", list(entries_for("440000001", "广东省公安厅", 5, seed="e2e", start=900)))
    fed.kill(fed.hub_id)
    publish(fed, "xpcc", list(entries_for("660000001", "兵团公安局", 5, seed="e2e", start=900)))
    fed.start(fed.hub_id)
    cut_off = wait_until(lambda: peer_state(fed, "guangdong"), 60, "status to show Guangdong failing, with the error",
                         until=lambda s: s.state == "failing" and s.last_error)  # stored just after the failure
    assert "UNAVAILABLE" in cut_off.last_error
    fed.heal("guangdong")
    fed.wait_converged(timeout=60)
    entry = fed.catalog(fed.hub_id).GetEntry(catalog_pb2.GetEntryRequest(resource_code="440000001/000900"))
    assert entry.origin == "guangdong" and entry.version == 1
    assert_union(fed)
    assert all(r["health"] == "serving" for r in fed.ps())


def test_hub_killed_during_initial_sync(federation):
    fed = federation(SMALL, sync={"batch_size": 100})
    fed.stop(fed.hub_id)
    loaded = {}
    for peer, dept, name in (("hebei", "130000001", "河北省公安厅"), ("guangdong", "440000001", "广东省公安厅")):
        loaded[peer] = list(entries_for(dept, name, 3000, seed="kill"))
        publish(fed, peer, loaded[peer])
    expected = peers_total(fed)
    # Each link passes the size of a thousand entries (five or so batches of 100 with their
    # changes), then stalls: the hub is caught in the middle of its initial sync however fast it pulls.
    for peer, entries in loaded.items():
        hold(fed, peer, wire_size(entries[:1000]))
    fed.start(fed.hub_id)
    wait_until(lambda: (hub_entries(fed), {p: holding(fed, p) for p in loaded}), 60,
               "the hub to apply over 500 entries and its links from Hebei and Guangdong to hold",
               until=lambda seen: seen[0] > 500 and all(seen[1].values()))
    fed.kill(fed.hub_id)
    assert 500 < hub_entries(fed) < expected - 1000, "the kill did not land in the middle of the initial sync"
    for peer in loaded:
        fed.heal(peer)
    fed.start(fed.hub_id)
    fed.wait_converged(timeout=120)
    assert hub_total(fed) == expected
    assert_union(fed)
    hub_db = fed.node(fed.hub_id)["database"]
    with sqlite3.connect(hub_db) as db:  # nothing applied twice: every copy has its origin's version
        assert db.execute("SELECT count(*) FROM entries WHERE version != 1").fetchone()[0] == 0


def test_paused_node_longer_than_the_pull_deadline(federation):
    fed = federation(SMALL, interval=0.5, sync={"call_deadline": 2, "backoff_max": 2})
    fed.seed(5)
    fed.wait_converged(timeout=60)
    fed.pause("hebei")
    publish(fed, "guangdong", list(entries_for("440000002", "广东省民政厅", 3, seed="pause", start=500)))
    wait_until(lambda: peer_state(fed, "hebei").last_error, 60, "a pull of the paused Hebei to exceed its deadline",
               until=lambda error: "DEADLINE_EXCEEDED" in error)
    # Guangdong's entry travels while Hebei is still paused (the hub pulls it on its own schedule).
    arrived = wait_until(
        lambda: fed.catalog(fed.hub_id).GetEntry(catalog_pb2.GetEntryRequest(resource_code="440000002/000500")), 60,
        "Guangdong's new entry at the hub while Hebei is paused", ignoring=grpc.RpcError)
    assert arrived.name
    assert peer_state(fed, "hebei").state == "failing" and peer_state(fed, "guangdong").state == "ok"
    rows = {r["node"]: r for r in fed.ps()}
    assert rows["hebei"]["health"] == "paused"
    fed.resume("hebei")
    publish(fed, "hebei", list(entries_for("130000002", "河北省民政厅", 3, seed="pause", start=500)))
    fed.wait_converged(timeout=60)
    wait_until(lambda: peer_state(fed, "hebei").state, 60, "Hebei's state at the hub to be ok again",
               until=lambda state: state == "ok")


def test_link_that_drops_the_stream_mid_batch(federation):
    # call_deadline: the pull stalled by the hold below must not time out before the test has read status.
    fed = federation(SMALL, interval=0.5, sync={"batch_size": 200, "backoff_initial": 0.1, "backoff_max": 0.5,
                                                "call_deadline": 120})
    fed.stop(fed.hub_id)  # one catch-up of 1 MB, not pulls racing the writes: no pull fits in one connection
    entries = list(entries_for("130000003", "河北省人力资源和社会保障厅", 2000, seed="drop"))
    publish(fed, "hebei", entries)
    # A pulled batch of 200 takes about 1.4 times its entries' own bytes on the wire (the change
    # records around them, framing, TLS): each stream dies in its second batch, after one came through.
    fed.drop("hebei", after_bytes=int(2.2 * wire_size(entries[:200])))
    # The link stalls after the size of a thousand entries, a few drops in, so that the failures
    # stay on show until the test has read them (the next successful pull clears them).
    hold(fed, "hebei", wire_size(entries[:1000]))
    fed.start(fed.hub_id)
    failing, _ = wait_until(lambda: (peer_state(fed, "hebei"), holding(fed, "hebei")), 60,
                            "status to show a dropped pull of Hebei, with the link holding",
                            until=lambda seen: seen[0].failures > 0 and seen[0].last_error and seen[1])
    error = failing.last_error
    assert "UNAVAILABLE" in error or "INTERNAL" in error or "CANCELLED" in error, error
    hold(fed, "hebei", 0)  # lifted; the drops go on
    fed.wait_converged(timeout=180)  # progress survives the drops: each batch came with its cursor
    assert fed.proxy("status")["links"]["hebei"]["dropped"] > 1
    fed.heal("hebei")
    assert_union(fed)


def test_down_leaves_no_process_or_directory(federation, tmp_path):
    fed = federation(SMALL)
    pids = [n["pid"] for n in fed.state["nodes"].values()] + [fed.state["proxy"]["pid"]]
    # the federation's state is its owner's alone: the directories, every database
    assert {oct(stat.S_IMODE(d.stat().st_mode)) for d in [fed.dir, *fed.dir.iterdir()] if d.is_dir()} == {"0o700"}
    databases = list((fed.dir / "data").glob("*.db"))
    assert len(databases) == len(fed.state["nodes"])
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in databases} == {"0o600"}
    fed.pause("mps")  # even a stopped process goes
    other = Federation(fed.dir)  # a simulator steering the same state dir restarts a node behind fed's back
    other.kill("xpcc")
    other.start("xpcc")
    pids.append(other.node("xpcc")["pid"])
    fed.down(purge=True)
    assert not any(_alive(pid) for pid in pids)
    assert not fed.dir.exists()


def test_bad_compose_file_names_file_key_and_rule(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nhub: {id: national}\nnodes:\n  - {id: hebei, role: provincial, region_code: '130000', "
                    "departments: [{code: '440000001', name: 广东}]}\n")
    with pytest.raises(Exception) as caught:
        Federation.up(path, tmp_path / "state")
    assert str(path) in str(caught.value) and "departments[0].code" in str(caught.value)
    assert "region" in str(caught.value)


def test_request_round_trip_through_the_cli(federation):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    fed = federation(SMALL)
    fed.seed()
    fed.wait_converged(timeout=60)
    hub = fed.address(fed.hub_id)
    found = fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="unconditional"), page_size=1)).entries[0]

    def cascade(*args, env: dict[str, str] | None = None, ok: bool = True):
        """The CLI as a tester runs it, with what `eval $(cascade harness creds ...)` set."""
        result = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT,
                                timeout=60, env=dict(os.environ, **(env or {}), CASCADE_HARNESS_DIR=str(fed.dir)))
        assert (result.returncode == 0) == ok, result.stderr
        return result.stdout if ok else result.stderr

    def creds(*args) -> dict[str, str]:
        return dict(line[len("export "):].split("=", 1)
                    for line in cascade("harness", "creds", *args, "--env").splitlines())

    police, operator = creds("hebei", "130000001"), creds("national", "--operator")
    assert "operator" not in police["CASCADE_CERT"] and police["CASCADE_TOKEN"] == fed.token("hebei", "130000001")
    assert "name a DEPARTMENT" in cascade("harness", "creds", "hebei", ok=False)
    out = cascade("requests", "submit", "--consumer", "130000001", "--resource", found.resource_code,
                  "--purpose", "企业开办一网通办", "--basis", "《优化营商环境条例》", "--item", found.data_items[0].name,
                  env=police)
    request_id = out.split()[0]
    wait_until(lambda: cascade("requests", "get", request_id, env=police), 60,
               f"`cascade requests get {request_id}` to show it granted", until=lambda shown: "granted" in shown)
    shown = cascade("requests", "get", request_id, env=police)
    assert "submitted" in shown and "granted" in shown  # the history
    # The department's certificate is the department's only: no operator calls, no other department's requests.
    assert "PERMISSION_DENIED" in cascade("status", env=police, ok=False)
    assert "PERMISSION_DENIED" in cascade("requests", "list", "--owner", found.provider_code, env=police, ok=False)
    hub_env = dict(operator, CASCADE_TARGET=hub)
    card = cascade("scorecard", env=hub_env)
    assert found.provider_code in card
    assert "guangdong" in cascade("scorecard", "--nodes", env=hub_env)
    assert "guangdong" in cascade("status", env=hub_env)
    # A verify grant on a conditional entry in one command: filed, approved by the owner with
    # the quota, waited for.
    keyed = next(e for e in fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="conditional"), page_size=200)).entries
        if any(i.key for i in e.data_items))
    items = [i.name for i in keyed.data_items if i.key][:1] + [i.name for i in keyed.data_items if not i.key][:1]
    out = cascade("harness", "grant", "hebei", "130000001", keyed.resource_code, *(f"--item={i}" for i in items),
                  "--mode", "verify", "--quota", "5")
    held = fed.sharing("hebei", "130000001").GetRequest(sharing_pb2.GetRequestRequest(request_id=out.split()[0]))
    assert (held.state, list(held.modes), held.daily_quota, list(held.data_items)) == ("granted", ["verify"], 5, items)


def test_hub_killed_between_pulling_a_request_and_delivering_it(federation):
    from node.proto import sharing_pb2, sharing_pb2_grpc

    fed = federation(SMALL, sync={"backoff_max": 1})
    fed.seed(data=False)  # the catalog to ask for; the sharing workflow reads no mounted data
    fed.wait_converged(timeout=60)
    found = fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="unconditional"), page_size=1)).entries[0]
    fed.partition("guangdong")  # the hub can pull the request but not deliver it
    consumer = fed.sharing("hebei", "130000001")
    filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130000001", resource_code=found.resource_code, purpose="跨省通办", basis="《政务服务条例》",
        data_items=[found.data_items[0].name]))
    hub = fed.sharing(fed.hub_id)  # the operator reads every request

    wait_until(lambda: peer_state(fed, "guangdong"), 60, "status to show the delivery to Guangdong waiting, and why",
               until=lambda state: state.deliveries_waiting == 1 and state.delivery_error)
    assert hub.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).state == "submitted"
    fed.kill(fed.hub_id)
    fed.heal("guangdong")
    fed.start(fed.hub_id)

    wait_until(lambda: consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).state, 60,
               "the request granted at Hebei after the hub's restart", until=lambda state: state == "granted")
    owner = fed.sharing("guangdong", found.provider_code)
    at_owner = owner.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id))
    assert [e.state for e in at_owner.history] == ["submitted", "granted"]  # delivered exactly once
    wait_until(lambda: peer_state(fed, "guangdong").deliveries_waiting, 60, "the hub's outbox for Guangdong to empty",
               until=lambda waiting: waiting == 0)


def test_hub_killed_while_an_objection_waits_for_delivery_and_the_coordination_binds_everywhere(federation):
    """The lifecycle across nodes with the hub killed (SIGKILL) in the middle: a refusal objected
    to at Hebei reaches the hub, which cannot deliver it to Guangdong and is killed; after its
    restart the national data authority coordinates, and its grant is the one final state at the
    consumer's node, the owner's node and the hub, every version numbered apart."""
    from node.proto import sharing_pb2

    fed = federation(SMALL, sync={"backoff_max": 1})
    fed.seed(data=False)  # the catalog to ask for; the sharing workflow reads no mounted data
    fed.wait_converged(timeout=60)
    found = fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="conditional"), page_size=1)).entries[0]
    consumer, owner = fed.sharing("hebei", "130000001"), fed.sharing("guangdong", found.provider_code)
    filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130000001", resource_code=found.resource_code, purpose="跨省通办", basis="《政务服务条例》",
        data_items=[found.data_items[0].name]))
    ask = sharing_pb2.GetRequestRequest(request_id=filed.request_id)

    def state(stub) -> str:  # "" while the copy has not reached that node
        try:
            return stub.GetRequest(ask).state
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return ""

    wait_until(lambda: state(owner), 60, "the request pending at Guangdong",
               until=lambda state: state == "pending")
    owner.DecideRequest(sharing_pb2.DecideRequestRequest(request_id=filed.request_id,
                                                         department_code=found.provider_code, approve=False,
                                                         reason="不符合共享条件"))
    wait_until(lambda: state(consumer), 60, "the refusal back at Hebei",
               until=lambda state: state == "rejected")

    fed.partition("guangdong")  # the hub can pull the objection but not pass it on
    consumer.ObjectRequest(sharing_pb2.ObjectRequestRequest(request_id=filed.request_id, consumer_code="130000001",
                                                            reason="依据充分，属跨省通办事项"))
    hub_authority = fed.state["nodes"][fed.hub_id]["data_authority"]
    coordinator = fed.sharing(fed.hub_id, hub_authority)
    wait_until(lambda: state(coordinator), 60, "the objection at the hub",
               until=lambda state: state == "objected")
    fed.kill(fed.hub_id)
    fed.heal("guangdong")
    fed.start(fed.hub_id)

    coordinator = fed.sharing(fed.hub_id, hub_authority)
    coordinator.CoordinateRequest(sharing_pb2.CoordinateRequestRequest(
        request_id=filed.request_id, department_code=hub_authority, decision="share", reason="经协调，同意共享"))
    copies = {"hebei": consumer, "guangdong": owner, fed.hub_id: coordinator}
    for node, stub in copies.items():
        wait_until(lambda: state(stub), 60, f"the coordinator's grant at {node}",
                   until=lambda state: state == "granted")
    histories = {node: [(e.version, e.maker, e.state) for e in stub.GetRequest(ask).history]
                 for node, stub in copies.items()}
    assert histories["hebei"] == histories["guangdong"] == histories[fed.hub_id], histories
    numbers = [(version, maker) for version, maker, _ in histories["hebei"]]
    assert len(numbers) == len(set(numbers))  # no two events under one number
    assert [state for *_, state in histories["hebei"]][-3:] == ["rejected", "objected", "granted"]


@pytest.mark.parametrize("path, nodes, provinces, ministries", [
    ("configs/federation-small.yaml", 6, 3, 2), ("configs/federation-full.yaml", 43, 32, 10),
])
def test_bundled_compose_files(path, nodes, provinces, ministries):
    from conftest import ROOT
    from harness import compose
    from node.model import regions

    fed = compose.load(ROOT / path)
    assert len(fed.all) == nodes
    assert sum(n.role == "provincial" for n in fed.nodes) == provinces
    assert sum(n.role == "ministry" for n in fed.nodes) == ministries
    if provinces == 32:
        assert {n.region_code for n in fed.nodes if n.role == "provincial"} == set(regions.PROVINCES)
    codes = [code for n in fed.all for code, _ in n.departments]
    assert len(codes) == len(set(codes))  # one source per datum: no department on two nodes


def test_each_department_of_a_harness_node_has_its_own_sources_directory(tmp_path):
    from conftest import ROOT
    from harness import compose
    from node import config as config_mod

    fed = compose.load(ROOT / SMALL)
    spec = next(n for n in fed.all if len(n.departments) > 1)
    data = compose.node_yaml(fed, spec, "127.0.0.1:0", {n.id: "127.0.0.1:1" for n in fed.nodes},
                             str(tmp_path / "data" / f"{spec.id}.db"), hub_address="127.0.0.1:1",
                             tls={"cert": __file__, "key": __file__, "ca": __file__})
    allow = config_mod.parse(data, "harness").resources.allow
    assert allow == {code: (str(tmp_path / "data" / "sources" / code),) for code, _ in spec.departments}


def test_a_grant_in_one_command_passes_the_data_authoritys_review(federation):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    fed = federation(SMALL, review=True)
    fed.seed(2)
    fed.wait_converged(timeout=60)
    keyed = next(e for e in fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="unconditional"), page_size=200)).entries
        if any(i.key for i in e.data_items))
    key = next(i.name for i in keyed.data_items if i.key)
    done = subprocess.run([sys.executable, "-m", "cli", "harness", "grant", "hebei", "130000001", keyed.resource_code,
                           "--item", key, "--mode", "query"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=dict(os.environ, CASCADE_HARNESS_DIR=str(fed.dir)))
    assert done.returncode == 0, done.stderr
    held = fed.sharing("hebei", "130000001").GetRequest(sharing_pb2.GetRequestRequest(request_id=done.stdout.split()[0]))
    assert held.state == "granted" and list(held.modes) == ["query"]
    assert [e.state for e in held.history] == ["review", "passed", "granted"]  # filed into review, passed, granted
