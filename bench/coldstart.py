"""Cold start of the real Lambda package: `import app` and the worker module vs a bare `import boto3`.

    .venv/bin/python bench/coldstart.py      # last line: JSON with the ratios (budget <= 1.5 each)

Measured like the package check (infra/package_check.py): the full deployment zip, unzipped,
imported by a CPython 3.12 (the runtime's) with `-I -S` (only the package and the standard
library on sys.path) and the worker's environment from the template; boto3 is the one bundled
in the same package. Each import runs in 7 fresh interpreters; the figure is the median CPU
time of the import (`time.process_time`), which a busy machine disturbs far less than wall time
(the wall medians are reported too). `*_no_pyc_*`: the same imports when every module is
compiled from source, as on Lambda with a package that ships no `.pyc` (its directory is read-only).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra import package_check, packaging, runtime

RUNS = 7
MODULES = {"boto3": "boto3", "app": "app", "worker": package_check.WORKER_MODULE}
PROBE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); c, w = time.process_time(), time.perf_counter(); "
    "import {module}; print(time.process_time() - c, time.perf_counter() - w)"
)


def import_seconds(python: str, root: Path, env: dict[str, str], module: str, pyc: bool = True) -> tuple[float, float]:
    """(cpu, wall) seconds of one import in a fresh clean interpreter."""
    flags = [] if pyc else ["-B", "-X", f"pycache_prefix={tempfile.mkdtemp(prefix='no-pyc-')}"]
    command = [python, "-I", "-S", *flags, "-c", PROBE.format(module=module), str(root)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    cpu, wall = out.stdout.split()
    return float(cpu), float(wall)


def median_ms(python: str, root: Path, env: dict[str, str], module: str, pyc: bool = True) -> tuple[float, float]:
    runs = [import_seconds(python, root, env, module, pyc) for _ in range(RUNS)]
    return (round(statistics.median(r[0] for r in runs) * 1000, 1), round(statistics.median(r[1] for r in runs) * 1000, 1))


def measure(root: Path, python: str, env: dict[str, str]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, module in MODULES.items():
        figures[f"import_{name}_cpu_ms"], figures[f"import_{name}_wall_ms"] = median_ms(python, root, env, module)
    for name in ("app", "worker"):
        figures[f"{name}_ratio"] = round(figures[f"import_{name}_cpu_ms"] / figures["import_boto3_cpu_ms"], 2)
    figures["import_worker_no_pyc_cpu_ms"] = median_ms(python, root, env, MODULES["worker"], pyc=False)[0]
    return figures


def main() -> None:
    python = runtime.find_python()
    archive = packaging.build_package(packaging.FULL)
    worker = package_check.template_functions(package_check.synth_template())["worker"]
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        root = package_check.unpack(archive, Path(tmp))
        env = package_check.lambda_environment(
            worker["Environment"]["Variables"], worker["FunctionName"], worker["Handler"], root
        )
        figures = measure(root, python, env)
    print(json.dumps({"runtime": runtime.RUNTIME, **figures}))


if __name__ == "__main__":
    main()
