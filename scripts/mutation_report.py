"""The mutation score of the last `mutmut run` (`make mutation`), per module and in all.

    .venv/bin/python scripts/mutation_report.py [--mutants mutants] [--equivalents docs/mutation.md]
                                                [--names SAMPLE_FILE]

mutmut leaves one `.meta` JSON per mutated module (`exit_code_by_key`: mutant -> exit code of
the tests run against it). A mutant is *killed* when a test failed (or timed out, or the type
check refused it); it *survived* when every test covering it passed. Survivors judged equivalent
(no test could tell them apart from the original: same behaviour) are listed, each with its
reason, in docs/mutation.md as `` `mutant_name` ``; the score is killed / (all − equivalent).
Prints the survivors still to look at, then one JSON line.

`--names` scores only the mutants of a sample (scripts/mutation_sample.py's output): the type
check records a verdict for every mutant before any test runs (scripts/mutation_generate.py),
and counting those outside the sample would weigh the sample's score toward them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 24, -24, 36, 37, 152, 255}  # tests failed, pytest internal error, timeouts, type check (37)
SURVIVED = {0}
NO_TESTS = {5, 33}


def load(mutants: Path, names: set[str] | None = None) -> dict[str, dict[str, int | None]]:
    """module path -> {mutant name: exit code} from mutmut's .meta files (only `names`, if given)."""
    results: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        module = str(meta.relative_to(mutants)).removesuffix(".meta")
        codes = data.get("exit_code_by_key", {})
        results[module] = {k: v for k, v in codes.items() if names is None or k in names}
    return {module: codes for module, codes in results.items() if codes}


def equivalents(path: Path) -> set[str]:
    """Mutant names listed as equivalent (in backticks, first cell of a table row)."""
    if not path.is_file():
        return set()
    return set(re.findall(r"^\|\s*`([^`]+)`", path.read_text(), flags=re.MULTILINE))


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a kill rate measured on `n` mutants: what a sampled run
    (`make mutation-sample`) can claim about all of them."""
    if n == 0:
        return 0.0, 0.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def classify(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no_tests"
    return "not_checked" if code is None else "other"


def all_mutants(
    population: dict[str, dict[str, int | None]],
    sample: Counter[str],
    equivalent: int,
    score: float,
    interval: tuple[float, float],
) -> dict[str, object]:
    """The score of every mutant, from a sample of those the type check let through.

    scripts/mutation_sample.py draws only from mutants without a verdict, so a sample taken after
    scripts/mutation_generate.py comes from the stratum mypy did not refuse; the refused stratum
    is known whole (all killed). Every mutant's score is the two strata weighed by their sizes,
    the sample's equivalent share taken as that of its stratum."""
    codes = [code for module in population.values() for code in module.values()]
    refused = sum(1 for code in codes if code == 37)
    rest = len(codes) - refused
    run = sum(sample.values()) - sample["not_checked"]
    real = rest * (1 - equivalent / run) if run else float(rest)

    def overall(p: float) -> float:
        return (refused + p * real) / (refused + real) if refused + real else 0.0

    return {
        "population": len(codes),
        "refused_by_type_check": refused,
        "sampled_from": rest,
        "score_all_mutants": round(overall(score), 4),
        "score_all_mutants_95_interval": [round(overall(x), 4) for x in interval],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--equivalents", type=Path, default=Path("docs/mutation.md"))
    parser.add_argument("--names", type=Path, help="score only these mutants (a sample's names file)")
    args = parser.parse_args(argv)
    results = load(args.mutants, set(args.names.read_text().split()) if args.names else None)
    if not results:
        print(f"no mutmut results under {args.mutants}: run `make mutation` first", file=sys.stderr)
        return 2
    judged = equivalents(args.equivalents)
    totals: Counter[str] = Counter()
    open_survivors: list[str] = []
    for module, codes in results.items():
        counts = Counter(classify(code) for code in codes.values())
        totals.update(counts)
        survivors = sorted(name for name, code in codes.items() if classify(code) in ("survived", "no_tests"))
        open_survivors += [name for name in survivors if name not in judged]
        print(f"{module}: {counts['killed']} killed, {counts['survived']} survived, {counts['no_tests']} no tests")
    equivalent = sum(
        1
        for codes in results.values()
        for name, code in codes.items()
        if name in judged and classify(code) in ("survived", "no_tests")
    )
    considered = sum(totals.values()) - equivalent - totals["not_checked"]
    score = totals["killed"] / considered if considered else 0.0
    for name in open_survivors:
        print(f"survivor to look at: {name}  (mutmut show {name})")
    interval = wilson(totals["killed"], considered)
    summary: dict[str, object] = {}
    if args.names:
        summary = all_mutants(load(args.mutants), totals, equivalent, score, interval)
    print(
        json.dumps(
            {
                **summary,
                "mutants": sum(totals.values()),
                "killed": totals["killed"],
                "killed_by_type_check": sum(1 for codes in results.values() for code in codes.values() if code == 37),
                "survived": totals["survived"],
                "no_tests": totals["no_tests"],
                "not_checked": totals["not_checked"],
                "equivalent": equivalent,
                "open_survivors": len(open_survivors),
                "score_non_equivalent": round(score, 4),
                "score_95_interval": [round(x, 4) for x in interval],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
