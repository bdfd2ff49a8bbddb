"""moto's cost per update, with and without the local server's shortcuts (a script, not a test).

    .venv/bin/python bench/moto_updates.py

Times moto's own `update_item` (the backend, in process) for an update of 9 ADDs, the shape of
a settlement's analytics rows, on 300 items: once with moto as installed and once after
`chalicelib.local.moto_server.install_request_shortcuts()`, each in a fresh interpreter (the
shortcuts cannot be taken back). Prints one JSON line: microseconds per update for both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPDATES = 1_500


def measure(shortcuts: bool) -> float:
    """Microseconds per update (this process: call it in a fresh one)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import boto3
    from moto import mock_aws

    with mock_aws():
        if shortcuts:
            from chalicelib.local.moto_server import install_request_shortcuts

            install_request_shortcuts()
        from moto.dynamodb.models import dynamodb_backends

        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        backend = dynamodb_backends["123456789012"]["us-east-1"]
        names = {f"#{i}": f"a{i}" for i in range(9)}
        values = {f":{i}": {"N": str(i + 1)} for i in range(9)}
        text = "ADD " + ", ".join(f"#{i} :{i}" for i in range(9))
        started = time.perf_counter()
        for n in range(UPDATES):
            backend.update_item("t", {"pk": {"S": f"p{n % 300}"}}, text, names, values)
        return (time.perf_counter() - started) / UPDATES * 1e6


def main() -> None:
    if len(sys.argv) > 1:
        print(measure(sys.argv[1] == "shortcuts"))
        return
    figures = {}
    for mode in ("moto", "shortcuts"):
        out = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True, check=True, cwd=ROOT)
        figures[f"update_9_adds_us_{mode}"] = round(float(out.stdout.strip().splitlines()[-1]))
    figures["ratio"] = round(figures["update_9_adds_us_shortcuts"] / figures["update_9_adds_us_moto"], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
