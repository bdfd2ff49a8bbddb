"""A seeded random sample of the mutants `mutmut run` generated but has not checked yet.

    .venv/bin/python scripts/mutation_sample.py [--size 400] [--seed 1] [--mutants mutants]

Prints mutant names, one per line, for `mutmut run <names>` (what `make mutation-sample` does).
Why a sample: every mutant of the money paths run against the tests that reach it takes many
hours on 2 cores; a uniform sample of a few hundred estimates the kill rate to a few points
(scripts/mutation_report.py prints the 95% interval), and `make mutation` still runs them all.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path


def unchecked(mutants: Path) -> list[str]:
    """Every mutant name with no result yet, in a stable order."""
    names: list[str] = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        names += sorted(name for name, code in codes.items() if code is None)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    args = parser.parse_args(argv)
    names = unchecked(args.mutants)
    if not names:
        print(f"no unchecked mutants under {args.mutants}: run `mutmut run` first", file=sys.stderr)
        return 2
    for name in sorted(random.Random(args.seed).sample(names, min(args.size, len(names)))):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
