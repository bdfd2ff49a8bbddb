"""The real local stack (`python -m chalicelib.local`) as a subprocess (e2e and browser tests).

Its servers bind port 0 and print the ports they got (`[api] http://127.0.0.1:PORT`): no port is
picked here and released for the child to re-bind, so two test runs never race for one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Stack:
    base: str
    moto: str
    admin_key: str
    process: subprocess.Popen[str]
    lines: list[str]

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"}

    def sqs(self) -> Any:
        import boto3

        return boto3.client(
            "sqs", endpoint_url=self.moto, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )


def start_stack(extra_env: dict[str, str] | None = None) -> Stack:
    admin_key = "sk_test_admin_e2e_" + os.urandom(8).hex()
    env = {
        **os.environ,
        "PORT": "0",
        "MOTO_PORT": "0",
        "ADMIN_API_KEY": admin_key,
        "LOCAL_VISIBILITY_TIMEOUT_S": "2",
        "PYTHONUNBUFFERED": "1",
        "STAGE": "local",
        "FAULT_INJECTION": "true",
        "LOG_FILE": str(ROOT / "test-artifacts" / f"e2e-{os.getpid()}-{os.urandom(4).hex()}.log"),
        **(extra_env or {}),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("TABLE_PREFIX", None)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    # Generous: a seeded start (SEED_DEMO, two weeks of jobs) took 69 s on a loaded 2-core machine.
    deadline = time.monotonic() + 240
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError("local stack exited:\n" + "".join(lines))
            continue
        lines.append(line)
        if line.startswith("[ready]"):
            break
    else:
        process.kill()
        raise RuntimeError("local stack did not start:\n" + "".join(lines))
    # Keep draining its output so it never blocks on a full pipe.
    import threading

    def drain() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    base, moto = announced(lines, "api"), announced(lines, "moto")
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    return Stack(base, moto, admin_key, process, lines)


def announced(lines: list[str], component: str) -> str:
    """The URL a component printed when it came up (`[api] http://127.0.0.1:41234 ...`)."""
    for line in lines:
        match = re.match(rf"\[{component}\] (http://[\d.]+:\d+)", line)
        if match:
            return match.group(1)
    raise RuntimeError(f"the local stack did not announce its {component} URL:\n" + "".join(lines))


def stop_stack(stack: Stack) -> None:
    """SIGTERM, as Ctrl-C would. The stack gives its parts STOP_GRACE_S (10 s) in all, then
    exits abandoning what is still stopping (chalicelib/local/__main__.py), so 30 s is ample
    even on a loaded 2-core machine; past that it is a bug, reported with the stack's output."""
    stack.process.terminate()
    try:
        stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        raise AssertionError("the local stack did not stop on SIGTERM:\n" + "".join(stack.lines[-40:])) from None


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
