"""`python -m node.cli` runs the `cascade` command."""

from node.cli import main

main()
