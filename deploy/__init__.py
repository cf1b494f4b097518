"""Deployment of a federation beyond one machine: `cascade deploy kubernetes COMPOSE.yaml` turns
the harness's compose file into a kustomize tree (a base per role, an overlay per node, the
portal, and the monitoring beside them), and `cascade deploy secrets` writes the Secrets an
operator applies from `cascade pki` files. It reads compose files as the harness does
(harness/compose.py) and builds each node's config with the harness's own `node_yaml`, so that
a node deployed on Kubernetes runs the config the harness tests."""
