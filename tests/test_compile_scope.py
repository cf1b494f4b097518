"""A city's catalog compiled under its data authority (目录编制), over mutual TLS through a real
node and the real CLI: one responsibility list of fifteen departments imports in one
`cascade entry import --by-name` with the data authority's token; the audit trail names the
authority and the departments it acted for; a `compile` token of any other department is refused
with the rule, nothing changed, on the audit trail as denied."""

import csv
import sqlite3

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from node import config as config_mod
from node.security import audit
from node.server import Node

# 衡水市: fifteen departments, the data authority last.
NAMES = ["衡水市公安局", "衡水市民政局", "衡水市人力资源和社会保障局", "衡水市自然资源和规划局", "衡水市生态环境局",
         "衡水市住房和城乡建设局", "衡水市交通运输局", "衡水市农业农村局", "衡水市商务局", "衡水市卫生健康委员会",
         "衡水市市场监督管理局", "衡水市医疗保障局", "衡水市教育局", "衡水市税务局", "衡水市数据和政务服务局"]
CODES = [f"131100{n:03d}" for n in range(1, 16)]
AUTHORITY, POLICE = CODES[-1], CODES[0]


def cascade(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Hebei's node for 衡水 serving mutual TLS, its data authority named in its config; the
    files of a department's client certificate, and a responsibility list for all fifteen."""
    root = tmp_path_factory.mktemp("city")
    ca_dir = root / "pki"
    assert cascade("pki", "init", ca_dir).exit_code == 0
    for name, kind in (("hebei", "node"), ("system", "client")):
        assert cascade("pki", "issue", ca_dir, name, "--kind", kind, "--host", "127.0.0.1").exit_code == 0
    path = root / "hebei.yaml"
    path.write_text(yaml.safe_dump({
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "listen": "127.0.0.1:0",
        "database": str(root / "hebei.db"),
        "departments": [{"code": code, "name": name} for code, name in zip(CODES, NAMES)],
        "data_authority": AUTHORITY,
        "tls": {"cert": str(ca_dir / "hebei.pem"), "key": str(ca_dir / "hebei.key"), "ca": str(ca_dir / "ca.pem")},
        "log": {"level": "warning", "format": "json"},
        "limits": {"denial_fold_seconds": 0},
        "sharing": {"beyond_calendar": "weekdays"},
    }, allow_unicode=True))
    sheet = root / "衡水市共享责任清单.csv"
    with sheet.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["数据所属部门", "共享信息名称", "数据项", "共享类型", "共享条件", "不予共享依据", "更新周期"])
        for name in NAMES:
            for n in (1, 2):
                writer.writerow([name, f"{name[3:]}共享信息{n}", "统一社会信用代码、名称", "有条件共享",
                                 "须说明办理事项", "", "每月"])
    node = Node(config_mod.load(str(path))).start()
    client = ["--target", node.address, "--cert", ca_dir / "system.pem", "--key", ca_dir / "system.key",
              "--ca", ca_dir / "ca.pem", "--server-name", "hebei"]

    def token(department, *scopes):
        options = ["--scope", ",".join(scopes)] if scopes else []
        result = cascade("token", "issue", "--config", path, "--department", department, *options)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    yield dict(node=node, config=path, sheet=sheet, client=client, token=token)
    node.stop(0)


def entries(city) -> dict[str, int]:
    """Live entries per department, as the node's file holds them."""
    with sqlite3.connect(city["node"].config.database) as conn:
        return dict(conn.execute("SELECT provider_code, count(*) FROM entries WHERE NOT withdrawn "
                                 "GROUP BY provider_code").fetchall())


def trail(city, since: int) -> list[audit.Record]:
    with sqlite3.connect(city["node"].config.database) as conn:
        return [r for r in audit.tail(conn, 1000) if r.seq > since]


def head(city) -> int:
    return city["node"].store.audit_head()[0]


def test_a_compile_token_of_another_department_is_refused_with_the_rule_and_nothing_changes(city):
    police = city["token"](POLICE, "compile", "publish")
    before, seq = entries(city), head(city)
    result = cascade("entry", "import", city["sheet"], "--by-name", "--config", city["config"], *city["client"],
                     "--token", police)
    assert result.exit_code == 1
    assert "PERMISSION_DENIED" in result.stderr and f"data_authority: {AUTHORITY}" in result.stderr
    assert entries(city) == before
    denied = [r for r in trail(city, seq) if r.outcome == "denied"]
    assert denied and denied[0].actor.startswith(POLICE) and "data_authority" in denied[0].detail


def test_the_data_authority_imports_the_whole_city_list_in_one_command_over_tls(city):
    authority = city["token"](AUTHORITY, "publish", "compile")
    seq = head(city)
    result = cascade("entry", "import", city["sheet"], "--by-name", "--config", city["config"], *city["client"],
                     "--token", authority)
    assert result.exit_code == 0, result.output
    assert entries(city) == {code: 2 for code in CODES}
    written = [r for r in trail(city, seq) if r.outcome == "ok"]
    assert len(written) == 1 and written[0].method.endswith("PublishEntries")
    # The record names the authority, then every department it acted for (not itself).
    actor = written[0].actor
    assert actor.startswith(f"{AUTHORITY}@") and all(code in actor for code in CODES[:-1])

    seq = head(city)
    result = cascade("entry", "withdraw", f"{POLICE}/000002", *city["client"], "--token", authority)
    assert result.exit_code == 0, result.output
    assert entries(city)[POLICE] == 1
    [record] = [r for r in trail(city, seq) if r.outcome == "ok"]
    assert record.actor.startswith(f"{AUTHORITY}@") and record.actor.endswith(f"for {POLICE}")


def test_the_data_authority_compiles_only_for_its_own_nodes_departments(city):
    authority = city["token"](AUTHORITY, "compile")
    before, seq = entries(city), head(city)
    result = cascade("entry", "withdraw", "130000001/000001", *city["client"], "--token", authority)
    assert result.exit_code == 1 and "PERMISSION_DENIED" in result.stderr and "130000001 is not one" in result.stderr
    assert entries(city) == before
    assert [r.outcome for r in trail(city, seq)] == ["denied"]
