"""scripts/smoke.py runs the curl story against a stack and cleans up: proven on the local stack."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from scripts.smoke import StepFailed, check_unknown_route
from tests.stack import ROOT, Stack, start_stack, stop_stack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = start_stack()
    yield s
    stop_stack(s)


def test_the_smoke_story_passes_and_leaves_its_workspace_banned(stack: Stack) -> None:
    out = subprocess.run(
        [sys.executable, "scripts/smoke.py", "--url", stack.base, "--stage", "local", "--job-timeout", "60"],
        cwd=ROOT,
        env={**_env(), "SMOKE_ADMIN_KEY": stack.admin_key},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = _summary(out.stdout)
    assert [s["step"] for s in summary["steps"]] == ["healthz", "workspace", "job", "reads", "unknown-route", "cleanup"]
    assert summary["steps"][-1]["detail"] == "key revoked, workspace banned"
    workspace_id = summary["steps"][1]["detail"].rsplit("(", 1)[1].rstrip(")")
    detail = requests.get(f"{stack.base}/admin/api/workspaces/{workspace_id}", headers=stack.admin(), timeout=10).json()
    assert detail["workspace"]["status"] == "banned" and detail["workspace"]["name"].startswith("smoke-local-")
    assert detail["workspace"]["ban_reason"].startswith("smoke test")


def test_a_failing_step_still_cleans_up_and_fails_the_run(stack: Stack) -> None:
    out = subprocess.run(
        [sys.executable, "scripts/smoke.py", "--url", stack.base, "--stage", "local", "--provider", "no-such-provider"],
        cwd=ROOT,
        env={**_env(), "SMOKE_ADMIN_KEY": stack.admin_key},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 1
    steps = {s["step"]: s for s in _summary(out.stdout)["steps"]}
    assert steps["job"]["ok"] is False and steps["cleanup"]["ok"] is True
    assert steps["cleanup"]["detail"] == "key revoked, workspace banned"


def test_without_an_admin_key_it_refuses_to_start() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/smoke.py", "--url", "http://127.0.0.1:9"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "SMOKE_ADMIN_KEY" in out.stderr


class _Answer:
    """A one-route server answering what a gateway might answer to an unknown route."""

    def __init__(self, status: int, body: str, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = self.body.replace("{auth}", request.headers.get("Authorization", ""))
        return Response(body, status=self.status, headers=self.headers, content_type="application/json")(environ, start_response)


@pytest.mark.parametrize(
    ("status", "body", "headers", "verdict"),
    [
        (404, '{"error":{"code":"not_found","message":"no such route","request_id":"r-1"}}', {"X-Request-Id": "r-1"}, None),
        # API Gateway's default: 403 and the Authorization header quoted back
        (
            403,
            '{"message":"Invalid key=value pair (missing equal-sign) in Authorization header: \'{auth}\'."}',
            {},
            "repeats the Authorization header",
        ),
        (403, '{"message":"Missing Authentication Token"}', {}, "status 403"),
        (404, '{"message":"Not Found"}', {"X-Request-Id": "r-1"}, "not the error envelope"),
        (404, '{"error":{"code":"not_found","message":"no such route","request_id":"r-1"}}', {}, "X-Request-Id differs"),
    ],
)
def test_the_unknown_route_check_accepts_only_the_envelope(
    status: int, body: str, headers: dict[str, str], verdict: str | None
) -> None:
    server = make_server("127.0.0.1", 0, _Answer(status, body, headers), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = requests.get(
            f"http://127.0.0.1:{server.server_port}/v1/no-such-route",
            headers={"Authorization": "Bearer sk_test_secret"},
            timeout=10,
        )
        if verdict is None:
            assert check_unknown_route(response, "sk_test_secret") == "404 not_found, request r-1"
        else:
            with pytest.raises(StepFailed, match=verdict):
                check_unknown_route(response, "sk_test_secret")
    finally:
        server.shutdown()
        server.server_close()


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "SMOKE_ADMIN_KEY"}


def _summary(stdout: str) -> dict[str, Any]:
    import json

    return json.loads(stdout[stdout.index("\n{") + 1 :])
