"""`cascade sim run SCENARIO.yaml`: plays a scenario against a federation started through the
harness and writes its report; `cascade sim report DIR` draws a report again from its
report.json (the simulator lives in sim/, imported when the command runs)."""

from __future__ import annotations

import pathlib
import signal
import sys

import click


@click.group()
def sim() -> None:
    """The federation simulator: workloads and faults over simulated time, with a report."""


@sim.command("run")
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Where the report goes (report.json, report.md, charts); default reports/<scenario name>.")
@click.option("--state", "state", type=click.Path(file_okay=False), default=None,
              help="The federation's state directory (configs, logs, databases), kept afterwards; "
                   "default a temporary one, removed.")
@click.option("--federation", "federation", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A federation file (addresses, the operator's certificate, departments' tokens, where faults "
                   "land: sim/remote.py): drive that federation, such as a deployed one, instead of starting the "
                   "scenario's. Default: start it through the harness.")
def sim_run(scenario_path: str, out: str | None, state: str | None, federation: str | None) -> None:
    """Run SCENARIO.yaml; exits 1 if an invariant did not hold."""
    # SIGTERM (a kill, a CI job's timeout) ends the run as Ctrl-C does: the federation it started
    # is brought down on the way out, not left running.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    from harness.processes import HarnessError
    from node.config_rules import read_yaml
    from node.errors import ConfigError
    from sim import hall, hall_plan, multisource, runner, scenario as scenario_mod

    try:
        if hall_plan.is_kind(scenario_path):  # the service hall's day of query and verify calls (sim/hall.py)
            hall_day = hall_plan.load(scenario_path)
            name, run = hall_day.name, lambda out_dir: hall.run(hall_day, out_dir, state, note=click.echo)
        elif (read_yaml(scenario_path) or {}).get("kind") == "multi-source":  # its own federation (sim/multisource.py)
            checks = multisource.load(scenario_path)
            name, run = checks["name"], lambda out_dir: multisource.run(checks, out_dir, state)
        else:
            scenario = scenario_mod.load(scenario_path)
            name, run = scenario.name, lambda out_dir: runner.run(scenario, out_dir, state, federation=federation)
        out_dir = pathlib.Path(out or f"reports/{name}")
        result = run(out_dir)
    except (ConfigError, HarnessError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    held = result["all_invariants_held"]
    click.echo(f"{name}: {'every invariant held' if held else 'an invariant FAILED'}; "
               f"report in {out_dir / 'report.md'}")
    if not held:
        raise SystemExit(1)


@sim.command("report")
@click.argument("out", metavar="DIR", type=click.Path(exists=True, file_okay=False))
def sim_report(out: str) -> None:
    """Write DIR's report.md and charts again from its report.json (no federation is started):
    for a run that took an hour, after the report's layout changed."""
    from sim import report

    try:
        report.redraw(pathlib.Path(out))
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{out}: cannot draw the report from report.json: {exc}") from None
    click.echo(f"report in {pathlib.Path(out) / 'report.md'}")
