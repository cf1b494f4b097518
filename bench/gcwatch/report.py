"""What sitecustomize.py in this folder wrote, one block per process:

    python bench/gcwatch/report.py FOLDER
"""

import json
import pathlib
import sys


def main(folder: str) -> None:
    for path in sorted(pathlib.Path(folder).glob("*.json"), key=lambda p: int(p.stem)):
        seen = json.loads(path.read_text())
        print(f"pid {path.stem}: {' '.join(seen['argv'])[:100]}")
        for generation, g in seen["generations"].items():
            if g["collections"]:
                print(f"  generation {generation}: {g['collections']} collections, {g['ms']:.1f} ms in all, "
                      f"longest {g['longest_ms']:.1f} ms")
        for slow in seen["slow"][:10]:
            print(f"  over 5 ms: generation {slow['generation']}, {slow['ms']} ms, {slow['freed']:,} objects freed")
        if seen["garbage"]:
            print("  garbage: " + ", ".join(f"{kind} {n:,}" for kind, n in list(seen["garbage"].items())[:8]))


if __name__ == "__main__":
    main(sys.argv[1])
