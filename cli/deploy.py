"""`cascade deploy kubernetes COMPOSE.yaml --out DIR`: a federation's compose file as a kustomize
tree (deploy/), for the whole federation or one node of it."""

from __future__ import annotations

import click


@click.group()
def deploy() -> None:
    """Deploy a federation beyond one machine."""


@deploy.command("kubernetes")
@click.argument("compose_path", metavar="COMPOSE.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Where the kustomize tree goes (its base/, nodes/ and monitoring/ are replaced).")
@click.option("--node", "node_id", default=None, metavar="ID",
              help="Only this node (a province deploying its own): its role's base and its overlay. "
                   "Default: every node of the compose file, and the portal.")
@click.option("--hub-address", default="", metavar="HOST:PORT",
              help="Where the nodes reach the hub, for a node deployed apart from it. "
                   "Default: the hub's Service in the same namespace (cascade-<hub id>:50051).")
@click.option("--namespace", default="cascade", show_default=True, help="The namespace the tree deploys into.")
def deploy_kubernetes(compose_path: str, out: str, node_id: str | None, hub_address: str, namespace: str) -> None:
    """Write the kustomize tree of COMPOSE.yaml into DIR: a base per role, one overlay per node
    (StatefulSet, Service, ConfigMap with its config, NetworkPolicy), the portal, the monitoring,
    and secrets.sh, which makes the Secrets from `cascade pki` files. Build it with
    `kubectl kustomize DIR`; see docs/deploy.md."""
    from deploy import tree
    from harness import compose as compose_mod
    from node.errors import ConfigError

    try:
        if node_id:
            compose_mod.load(compose_path).node(node_id)
        written = tree.write(compose_path, out, node_id=node_id, hub_address=hub_address, namespace=namespace)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyError:
        raise click.ClickException(f"{compose_path}: no node {node_id!r}") from None
    click.echo(f"{out}: {len(written)} node{'s' if len(written) != 1 else ''} ({', '.join(written[:5])}"
               f"{', ...' if len(written) > 5 else ''}); build with `kubectl kustomize {out}`, "
               f"make the Secrets with `sh {out}/secrets.sh PKI_DIR | kubectl apply -f -`")
