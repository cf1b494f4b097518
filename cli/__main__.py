"""`python -m cli` runs the `cascade` command."""

from cli import main

if __name__ == "__main__":  # not when a worker process imports this module (node/workers.py)
    main()
