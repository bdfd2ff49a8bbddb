"""Cold start: `import app` vs a bare `import boto3`, each in fresh interpreters (median of 7).

    .venv/bin/python bench/coldstart.py      # last line: JSON with the ratio (target <= 1.5)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_ms(module: str) -> float:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stderr.strip().splitlines()
    line = next(line for line in reversed(out) if line.rstrip().endswith(f"| {module}"))
    return int(line.split("|")[1]) / 1000


def main() -> None:
    boto = statistics.median(import_ms("boto3") for _ in range(7))
    app = statistics.median(import_ms("app") for _ in range(7))
    print(json.dumps({"import_boto3_ms": round(boto, 1), "import_app_ms": round(app, 1),
                      "coldstart_ratio": round(app / boto, 3)}))


if __name__ == "__main__":
    main()
