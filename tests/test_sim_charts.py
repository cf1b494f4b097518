"""The report's charts read at a glance: counts on integer ticks with their values on the bars,
faults named in Chinese inside the plot, nodes by their Chinese names."""

from __future__ import annotations

import pathlib

import pytest

from sim import charts

pytest.importorskip("matplotlib")


def small_result() -> dict:
    faults = [{"fault": "partition guangdong, xpcc", "kind": "partition", "nodes": ["guangdong", "xpcc"],
               "planned_at": 3600.0, "began": 3600.0, "ended": 7200.0, "converged": True,
               "converge_wall_seconds": 1.2, "converge_sim_hours": 0.3}]
    lag = [{"at": float(t * 600), "peers": {"hebei": {"behind": 0}, "guangdong": {"behind": t % 3},
                                            "xpcc": {"behind": 0}}, "rss_mib": {"national": 80.0}}
           for t in range(20)]
    owner = {"department": "广东省公安厅", "node": "guangdong", "received": 3, "conditional": 3, "answered": 2,
             "in_time": 1, "median_working_days": 1.0}
    return {"faults": faults, "lag": lag,
            "scenario": {"compose": "configs/federation-small.yaml", "hub": "national", "answer_days": 2},
            "throughput": {"per_sim_day": {"0": {"publish": 3, "request": 1}}},
            "latency_ms": {"publish": {"p50": 1.0, "p90": 2.0, "p99": 3.0}},
            "memory_mib": {"largest_other": ""},
            "requests": {"per_owner_department": {"440000001": owner}, "per_owner_node": {"guangdong": owner}}}


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    figures = {}

    def keep(fig, path: pathlib.Path):
        fig.canvas.draw()
        figures[path.stem] = fig

    monkeypatch.setattr(charts, "save", keep)
    result = small_result()
    charts.charts(result, result["lag"], tmp_path)
    return figures


def test_counts_have_integer_ticks_and_values_on_bars(drawn):
    for name, axis in (("lag", "y"), ("throughput", "y"), ("requests_in_time", "x")):
        ax = drawn[name].axes[0]
        ticks = ax.get_yticks() if axis == "y" else ax.get_xticks()
        assert all(float(t).is_integer() for t in ticks), (name, ticks)
    assert "4" in [t.get_text() for t in drawn["throughput"].axes[0].texts]  # the day's total on its bar
    in_bars = [t.get_text() for t in drawn["requests_in_time"].axes[0].texts]
    assert "1" in in_bars  # answered in time, and late: one each, written on the bars


def test_faults_and_nodes_are_named_in_chinese_inside_the_plot(drawn):
    ax = drawn["lag"].axes[0]
    (label,) = [t for t in ax.texts]
    assert label.get_text() == "断网：广东省、新疆生产建设兵团"
    assert label.get_rotation() == 0
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"河北省", "广东省", "新疆生产建设兵团"}
    styles = {(line.get_linestyle(), line.get_marker()) for line in ax.get_lines()}
    assert len(styles) == 3  # lines that lie on each other at zero are still told apart
