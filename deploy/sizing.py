"""Resource requests and limits of a node's container, from what the simulator measured.

The figures (resident memory, peak) come from committed reports: reports/national-day/report.json (the
1+32+10 through a working day: the hub peaked at 168 MiB, every province at 89-91 MiB, every
ministry at 84-85 MiB) and reports/scale/report.md (the hub at 3,000,000 entries peaked at 278 MiB, 438 in
an earlier run; its bulk workers at 324 MiB beside it and its reader processes at about 95 MiB: the
container's limit counts them all, about 700 MiB if all peak at once). A request is what a node holds in a normal day, rounded up; a limit
leaves room for the scale run's peak and a resync, so that the kubelet never kills a node for
memory it was measured to need. CPU is requested low (nodes idle between pulls) and limited
where a bulk load or a 42-peer pull would otherwise starve the node's neighbours.
"""

from __future__ import annotations

# role -> (requests, limits), in Kubernetes quantities
NODE = {
    "national": ({"cpu": "500m", "memory": "256Mi"}, {"cpu": "2", "memory": "1Gi"}),
    "provincial": ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "512Mi"}),
    "ministry": ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "512Mi"}),
}
# The portal keeps no data: one gRPC client and its pages (reports/README.md: portal_bench).
PORTAL = ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "384Mi"})
# The database volume: the hub holds every node's catalog (the scale run: 3,000,000 entries), a
# province or ministry its own; a volume can be grown later (allowVolumeExpansion).
STORAGE = {"national": "20Gi", "provincial": "5Gi", "ministry": "5Gi"}


def resources(role: str) -> dict:
    requests, limits = NODE[role]
    return {"requests": dict(requests), "limits": dict(limits)}


def portal_resources() -> dict:
    requests, limits = PORTAL
    return {"requests": dict(requests), "limits": dict(limits)}
