"""The README's curl story against a deployed stage (or any URL), then cleanup.

    SMOKE_ADMIN_KEY=sk_... .venv/bin/python scripts/smoke.py --stage dev     (or make smoke STAGE=dev)
    SMOKE_ADMIN_KEY=sk_... .venv/bin/python scripts/smoke.py --url https://<api>/api

Steps: /healthz; an admin creates a workspace `smoke-<stage>-<time>` (starter plan) and gets its
owner's key; a job of one image on the stage's default provider (`--provider` to choose), polled
until it succeeds, its image downloaded; the job list, balance, ledger and usage; an unknown route
must answer 404 `not_found` in the error envelope with an X-Request-Id and never repeat the
Authorization header. Cleanup, whatever failed: the owner's key is revoked and the workspace
banned. What remains: the banned workspace and its owner, the job, its image in the bucket and
its ledger rows, all named `smoke-...` (the job is charged to the plan's allowance, not to money;
the provider call itself is billed by the provider).

The admin key comes from `SMOKE_ADMIN_KEY` (a platform admin's key, e.g. from `ops create-admin`).
Exit status 0 when every step passed; one line per step, then a JSON summary.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.stripe_setup import endpoint_url

TIMEOUT = 30
TERMINAL = ("succeeded", "failed", "canceled")


class StepFailed(Exception):
    """A step's answer was not what the story expects."""


@dataclass
class Smoke:
    base: str
    admin_key: str
    stage: str
    provider: str | None = None
    job_timeout_s: float = 180.0
    skip: frozenset[str] = frozenset()
    steps: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)

    # --- plumbing ------------------------------------------------------------------------------

    def call(
        self, method: str, path: str, key: str | None = None, body: Any = None, expect: int | tuple[int, ...] = 200
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        response = self.session.request(method, self.base + path, json=body, headers=headers, timeout=TIMEOUT)
        if response.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise StepFailed(f"{method} {path}: {response.status_code} (expected {expect}): {response.text[:300]}")
        if not response.headers.get("X-Request-Id"):
            raise StepFailed(f"{method} {path}: no X-Request-Id header")
        return response

    def step(self, name: str, action: Callable[[], str]) -> bool:
        if name in self.skip:
            self.steps.append({"step": name, "ok": None, "detail": "skipped"})
            print(f"skip  {name}", flush=True)
            return True
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except (StepFailed, requests.RequestException, KeyError, ValueError) as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
        ms = int((time.monotonic() - started) * 1000)
        self.steps.append({"step": name, "ok": ok, "ms": ms, "detail": detail})
        print(f"{'ok' if ok else 'FAIL':4}  {name} ({ms} ms): {detail}", flush=True)
        return ok

    # --- the story -----------------------------------------------------------------------------

    def healthz(self) -> str:
        return "version " + str(self.call("GET", "/healthz").json()["version"])

    def workspace(self) -> str:
        name = f"smoke-{self.stage}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        body = self.call(
            "POST",
            "/admin/api/workspaces",
            body={"name": name, "owner_email": f"{name}@example.invalid", "plan": "starter"},
            expect=201,
        ).json()
        self.state.update(workspace_id=body["workspace"]["id"], key=body["api_key"], key_id=body["key"]["id"])
        return f"{name} ({self.state['workspace_id']})"

    def job(self) -> str:
        request: dict[str, Any] = {"prompt": "smoke test: a red fox in the snow", "n": 1}
        if self.provider:
            request["provider"] = self.provider
        job = self.call("POST", "/v1/jobs", self.state["key"], request, expect=202).json()["job"]
        self.state["job_id"] = job["id"]
        deadline = time.monotonic() + self.job_timeout_s
        while job["status"] not in TERMINAL and time.monotonic() < deadline:
            time.sleep(1)
            job = self.call("GET", f"/v1/jobs/{job['id']}", self.state["key"]).json()["job"]
        if job["status"] != "succeeded":
            raise StepFailed(f"job {job['id']} is {job['status']}: {job.get('error')}")
        image = self.session.get(job["images"][0]["url"], timeout=TIMEOUT)
        if image.status_code != 200 or len(image.content) != job["images"][0]["bytes"]:
            raise StepFailed(f"image download: {image.status_code}, {len(image.content)} bytes")
        from PIL import Image

        with Image.open(io.BytesIO(image.content)) as picture:
            return f"{job['id']} on {job['provider']}: {picture.format} {picture.size[0]}x{picture.size[1]}"

    def reads(self) -> str:
        key = self.state["key"]
        listed = self.call("GET", "/v1/jobs?limit=1", key).json()["data"]
        if not listed or listed[0]["id"] != self.state["job_id"]:
            raise StepFailed("the job list does not show the job first")
        balance = self.call("GET", "/v1/balance", key).json()
        self.call("GET", "/v1/ledger", key)
        self.call("GET", "/v1/usage?group_by=provider", key)
        return f"balance available {balance['available']}, held {balance['held']}"

    def unknown_route(self) -> str:
        secret = f"sk_test_smoke_{os.urandom(6).hex()}"
        response = self.session.get(
            self.base + "/v1/no-such-route", headers={"Authorization": f"Bearer {secret}"}, timeout=TIMEOUT
        )
        return check_unknown_route(response, secret)

    def cleanup(self) -> str:
        done = []
        if "key_id" in self.state:
            self.call("DELETE", f"/v1/keys/{self.state['key_id']}", self.state["key"], expect=(204,))
            done.append("key revoked")
        if "workspace_id" in self.state:
            self.call(
                "POST",
                f"/admin/api/workspaces/{self.state['workspace_id']}/ban",
                body={"reason": "smoke test workspace (scripts/smoke.py)"},
            )
            done.append("workspace banned")
        return ", ".join(done) or "nothing to clean"

    def run(self) -> bool:
        ok = self.step("healthz", self.healthz) and self.step("workspace", self.workspace)
        try:
            ok = ok and self.step("job", self.job) and self.step("reads", self.reads)
            ok = self.step("unknown-route", self.unknown_route) and ok
        finally:
            ok = self.step("cleanup", self.cleanup) and ok
        return ok


def check_unknown_route(response: requests.Response, secret: str) -> str:
    """404 `not_found` in the envelope with a request id, and nothing of the request repeated."""
    if secret in response.text or any(secret in value for value in response.headers.values()):
        raise StepFailed("the answer repeats the Authorization header")
    if response.status_code != 404:
        raise StepFailed(f"status {response.status_code}, expected 404: {response.text[:200]}")
    error = response.json().get("error") or {}
    if error.get("code") != "not_found" or not error.get("request_id") or not error.get("message"):
        raise StepFailed(f"not the error envelope: {response.text[:200]}")
    if response.headers.get("X-Request-Id") != error["request_id"]:
        raise StepFailed("X-Request-Id differs from the envelope's request_id")
    return f"404 not_found, request {error['request_id']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/smoke.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="")
    parser.add_argument("--url", help="the API's base URL (default: the stack's EndpointURL output)")
    parser.add_argument("--provider", help="the provider of the job (default: the stage's DEFAULT_PROVIDER)")
    parser.add_argument("--job-timeout", type=float, default=180.0)
    parser.add_argument("--skip", action="append", default=[], help="skip a step by name (repeatable)")
    args = parser.parse_args(argv)
    admin_key = os.environ.get("SMOKE_ADMIN_KEY")
    if not admin_key:
        parser.error("set SMOKE_ADMIN_KEY to a platform admin's API key (python -m chalicelib.ops create-admin)")
    if not (args.url or args.stage):
        parser.error("give --stage or --url")
    base = (args.url or endpoint_url(args.stage)).rstrip("/")
    smoke = Smoke(base, admin_key, args.stage or "url", args.provider, args.job_timeout, frozenset(args.skip))
    ok = smoke.run()
    print(json.dumps({"url": base, "ok": ok, "steps": smoke.steps}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
