"""Cold start stays small: importing the app or the worker must not pull in SDKs they do not need
yet (timing, on the real Lambda package, is in bench/coldstart.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = [
    "boto3",
    "botocore.session",
    "aws_xray_sdk",
    "PIL",
    "stripe",
    "pydantic",
    "pynamodb.connection.base",
    "openai",
    "google.genai",
    "sentry_sdk",
    "moto",
]
# The worker settles through pynamodb, so botocore comes with it; nothing else heavy may.
WORKER_NEEDS = {"botocore.session", "pynamodb.connection.base"}


def _loaded(module: str) -> list[str]:
    code = f"import json, sys, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_app_loads_no_heavy_sdk() -> None:
    """Route modules bind their services, schemas and response models lazily (chalicelib/lazy.py):
    the route table is declared, pynamodb and pydantic load with the first request."""
    assert _loaded("app") == []


def test_the_worker_loads_only_what_settling_needs() -> None:
    assert set(_loaded("chalicelib.generation.worker")) <= WORKER_NEEDS
