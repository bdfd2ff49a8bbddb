"""Cold start stays small: importing the app or the worker must not pull in SDKs they do not need
yet (timing, on the real Lambda package, is in bench/coldstart.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["boto3", "botocore.session", "aws_xray_sdk", "PIL", "stripe", "pydantic", "pynamodb.connection.base",
         "openai", "google.genai", "sentry_sdk", "moto"]
# Routes import their services, response models and request schemas at the top (our own modules
# are never imported lazily), so the API loads pynamodb (with botocore) and pydantic when the app
# is imported; every request but /healthz needed them anyway. The SDKs stay lazy.
APP_NEEDS = {"botocore.session", "pynamodb.connection.base", "pydantic"}
# The worker settles through pynamodb, so botocore comes with it; nothing else heavy may.
WORKER_NEEDS = {"botocore.session", "pynamodb.connection.base"}
# Routes import their services (pynamodb, botocore with it) and response models (pydantic) at the
# top since issue 11; no SDK comes with them.
APP_NEEDS = {"botocore.session", "pynamodb.connection.base", "pydantic"}


def _loaded(module: str) -> list[str]:
    code = f"import json, sys, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_app_loads_no_heavy_sdk() -> None:
    assert set(_loaded("app")) <= APP_NEEDS


def test_the_worker_loads_only_what_settling_needs() -> None:
    assert set(_loaded("chalicelib.generation.worker")) <= WORKER_NEEDS
