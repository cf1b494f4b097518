"""The Grafana dashboard and the Prometheus alert rules load, parse, and use only metrics a node exports."""

from __future__ import annotations

import json
import re
import subprocess

import yaml

from metrics_support import ALERTS, DASHBOARD, PROMTOOL, hub_scrape
from metrics_support import watched  # noqa: F401 (fixture)


def metric_names(expressions: list[str]) -> set[str]:
    return set(re.findall(r"\b(cascade_[a-z0-9_]+)\b", " ".join(expressions)))


def dashboard_expressions(dashboard: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query") and isinstance(value, str):
                    found.append(value)
                elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                    found.append(value["query"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dashboard)
    return found


def test_dashboard_and_alert_rules_load_and_use_only_exported_metrics(watched, tmp_path):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Federation overview", "Per-peer lag", "Request flow", "Query and verify (核验、查询)"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]

    alerts = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules_ = [r for group in alerts["groups"] for r in group["rules"]]
    assert {r["alert"] for r in rules_} == {"CascadePeerNotPulled", "CascadeOutboxStuck", "CascadeRequestsOverdue",
                                            "CascadeCorrectionsOverdue", "CascadeRequestsEscalated",
                                            "CascadeDigestMismatch"}

    s = hub_scrape(watched)
    used = metric_names(dashboard_expressions(dashboard)) | metric_names([r["expr"] for r in rules_])
    missing = sorted(name for name in used if name not in s.names)
    assert not missing, f"the dashboard or the alert rules use metrics no node exports: {missing}"
    if PROMTOOL is None:
        return
    # The dashboard's queries parse as PromQL: checked as recording rules, Grafana's variables filled in.
    recorded = [{"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "1m").replace("$hub", ".*")}
                for i, expr in enumerate(dashboard_expressions(dashboard)) if "label_values(" not in expr]
    queries = tmp_path / "dashboard-queries.yml"
    queries.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recorded}]}))
    for args in (("check", "rules", str(ALERTS)), ("test", "rules", str(ALERTS.with_name("alerts_test.yml"))),
                 ("check", "rules", str(queries))):
        result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
