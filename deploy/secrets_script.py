"""secrets.sh beside the tree: the commands that turn `cascade pki` files into the Secrets the
tree mounts, printed as manifests for `kubectl apply -f -`. The script holds names and paths only;
the values stay in the operator's PKI directory and the cluster, never in the tree or in git."""

from __future__ import annotations

import pathlib

from deploy import manifests as m

HEAD = """#!/bin/sh
# The Secrets of this tree, from a `cascade pki` directory, as manifests on stdout:
#   sh secrets.sh PKI_DIR | kubectl apply -f -
# First, once per federation (docs/deploy.md):
#   cascade pki init PKI_DIR
{issue}
# Nothing here is a secret: the values are read from PKI_DIR when the script runs.
set -eu
pki=${{1:?usage: sh secrets.sh PKI_DIR}}
kubectl=${{KUBECTL:-kubectl}}
secret() {{ "$kubectl" create secret generic "$@" --namespace {namespace} --dry-run=client -o yaml; echo ---; }}
"""


def _hosts(node_id: str, namespace: str) -> str:
    service = m.service_name(node_id)
    return f"--host {service} --host {service}.{namespace} --host {service}.{namespace}.svc"


def write(path: pathlib.Path, specs, namespace: str, portal: bool) -> None:
    issue = [f"#   cascade pki issue PKI_DIR {spec.id} {_hosts(spec.id, namespace)}" for spec in specs]
    if portal:
        issue += ["#   cascade pki issue PKI_DIR portal-operator --kind operator",
                  "#   cascade pki issue PKI_DIR portal --kind client"]
    lines = [HEAD.format(issue="\n".join(issue), namespace=namespace)]
    for spec in specs:
        lines.append(f'secret {m.service_name(spec.id)}-tls --from-file=tls.crt="$pki/{spec.id}.pem" '
                     f'--from-file=tls.key="$pki/{spec.id}.key" --from-file=ca.crt="$pki/ca.pem"')
    if portal:
        # the session key is made here, once: re-running the script signs everyone out
        lines.append(f'secret {m.PORTAL_SECRET} --from-file=operator.crt="$pki/portal-operator.pem" '
                     '--from-file=operator.key="$pki/portal-operator.key" --from-file=department.crt="$pki/portal.pem" '
                     '--from-file=department.key="$pki/portal.key" --from-file=ca.crt="$pki/ca.pem" '
                     '--from-literal=session-secret="$(head -c 32 /dev/urandom | base64 | tr -d \'\\n\')"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
