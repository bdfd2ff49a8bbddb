"""Cold start stays small: importing the app must not pull in heavy SDKs (timing is in bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["boto3", "botocore.session", "aws_xray_sdk", "PIL", "stripe", "pydantic", "pynamodb.connection.base",
         "openai", "google.genai", "sentry_sdk", "moto"]


def test_import_app_loads_no_heavy_sdk() -> None:
    code = f"import json, sys, app; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
