"""Run chosen mutants, each in a fresh pytest process, and record the verdicts where mutmut does.

    .venv/bin/python scripts/mutation_run.py NAMES_FILE [--mutants mutants] [--children 2]

After `scripts/mutation_generate.py` and one mutmut stats run (`mutants/mutmut-stats.json`),
each named mutant runs the tests that reach its function (from the stats), fastest first, with
`-x`, and `MUTANT_UNDER_TEST` set: what mutmut's own children do. The exit code goes into the
module's `.meta` (`exit_code_by_key`), so `scripts/mutation_report.py` scores it like any run.

Why beside mutmut: `mutmut run` first runs every selected test once more ("clean tests") in the
process that collected the stats; on this suite that took over 25 minutes on 2 cores before a
single mutant ran (its heap from the stats phase makes every garbage collection long), where
the stats phase itself took 7. Each process here is fresh, so the sample starts at once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mutmut.utils.format_utils import get_module_from_key, mangled_name_from_mutant_name

NO_TESTS = 33  # mutmut's code for a mutant no test reaches
TIMEOUT = 36  # mutmut's code for a timeout (counted as killed)
TYPE_CHECKED = 37  # mutmut's code for a mutant the type checker refused (counted as killed)


def run_one(root: Path, name: str, tests: list[str], estimate_s: float) -> int:
    """The pytest exit code of the mutant's tests (1: killed, 0: survived)."""
    if not tests:
        return NO_TESTS
    env = dict(os.environ, MUTANT_UNDER_TEST=name, PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *tests]
    try:
        limit_s = max(120, estimate_s * 15 + 60)  # mutmut's own multiplier over the stats' durations
        done = subprocess.run(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return TIMEOUT
    return done.returncode


def meta_path_of(root: Path, name: str) -> Path:
    return root / (get_module_from_key(mangled_name_from_mutant_name(name)).replace(".", "/") + ".py.meta")


def type_checked(root: Path) -> set[str]:
    """The mutants scripts/mutation_generate.py recorded mypy refusing (read before any run
    writes a .meta)."""
    return {
        name
        for meta in root.rglob("*.py.meta")
        for name, code in json.loads(meta.read_text()).get("exit_code_by_key", {}).items()
        if code == TYPE_CHECKED
    }


def record(root: Path, name: str, code: int) -> None:
    """Write the verdict into the mutated module's .meta, as mutmut does."""
    meta_path = meta_path_of(root, name)
    meta = json.loads(meta_path.read_text())
    meta.setdefault("exit_code_by_key", {})[name] = code
    meta_path.write_text(json.dumps(meta, indent=4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", type=Path, help="a file of mutant names (scripts/mutation_sample.py's output)")
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--children", type=int, default=int(os.environ.get("MUTMUT_CHILDREN", "2")))
    args = parser.parse_args(argv)
    root = args.mutants.resolve()
    stats = json.loads((root / "mutmut-stats.json").read_text())
    tests_by, durations = stats["tests_by_mangled_function_name"], stats["duration_by_test"]
    refused = type_checked(root)

    def one(name: str) -> tuple[str, int, float]:
        if name in refused:
            return name, TYPE_CHECKED, 0.0
        tests = sorted(tests_by.get(mangled_name_from_mutant_name(name), []), key=lambda t: durations.get(t, 1.0))
        started = time.monotonic()
        code = run_one(root, name, tests, sum(durations.get(t, 1.0) for t in tests))
        return name, code, time.monotonic() - started

    names = args.names.read_text().split()
    with ThreadPoolExecutor(args.children) as pool:
        for name, code, seconds in pool.map(one, names):
            record(root, name, code)
            print(f"{code:>3} {seconds:6.1f}s {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
