"""Sort the lines of standard input."""

import argparse
import sys
from collections.abc import Sequence


def sort_lines(lines: list[str], *, numeric: bool = False) -> list[str]:
    """The lines in ascending order, compared as numbers with ``numeric``."""
    return sorted(lines, key=float) if numeric else sorted(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numeric", action="store_true", help="compare lines as numbers")
    args = parser.parse_args(argv)
    for line in sort_lines(sys.stdin.read().splitlines(), numeric=args.numeric):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
