"""Warn about modules over 450 lines: a prompt for review, never a failure.

A long module is a question for the reviewer (does it hold more than one idea? would it
read better split by idea?), not a reason to squeeze code to fit under a number, so this
prints one warning line per long module and always exits 0. `make lint` runs it.

    python scripts/module_sizes.py [--limit 450] [ROOT ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# kagglekit itself and the built-in competitions and models it ships
ROOTS = ("kagglekit", "competitions", "plugins")
LIMIT = 450


def long_modules(roots: list[Path], limit: int = LIMIT) -> list[tuple[Path, int]]:
    """The .py files under ``roots`` with more than ``limit`` lines, longest first."""
    sizes = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > limit:
                sizes.append((path, n))
    return sorted(sizes, key=lambda item: (-item[1], str(item[0])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "roots",
        nargs="*",
        default=list(ROOTS),
        help="folders to scan, relative to the repository (default: %(default)s)",
    )
    parser.add_argument("--limit", type=int, default=LIMIT, help="lines (default: %(default)s)")
    args = parser.parse_args(argv)
    for path, n in long_modules([REPO / root for root in args.roots], args.limit):
        name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(
            f"warning: {name} has {n} lines (over {args.limit}): does it hold more than one "
            "idea? Split it by idea rather than squeeze it",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
