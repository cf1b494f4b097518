"""The federation simulator: `cascade sim run SCENARIO.yaml` drives a whole federation through
the compose harness over simulated time and writes a report.

scenario (YAML -> frozen dataclasses), clock (simulated time, working days), synthetic (the seeded
synthetic catalog), workload (events over simulated time), faults (applied through the harness),
invariants (what every run checks), report (report.json, report.md, charts), runner (ties them).

May import: harness (runner, compose), node.config's Reader, node.model.rules, node.sharing
.calendar, node.proto and node.wire; node.store's backup and
restore (the restore_backup fault); never a servicer.
"""
