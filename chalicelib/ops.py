"""Operator tools: "what failed at 14:32 for workspace X?", the reconcile command, the first admin
of a deployed stage and one-off backfills.

    python -m chalicelib.ops failures --workspace ws_… --at 2026-11-23T14:32Z --window 10m
    python -m chalicelib.ops reconcile
    python -m chalicelib.ops create-admin --email ops@example.com   (first admin of a deployed stage)
    python -m chalicelib.ops backfill-workspace-listing   (once, for workspaces made before the listing index)
    python -m chalicelib.ops backfill-teams   (once, for workspaces made before teams: memberships, owner count)
    python -m chalicelib.ops backfill-library [--restart] [--pages N]   (index and count older images; resumable)
    python -m chalicelib.ops backfill-sync   (bring records made before offline sync into its indexes; idempotent)
    python -m chalicelib.ops library-lifecycle   (an S3-compatible library bucket's expiry rules, e.g. R2)

The failures window reads the same store functions as the admin API (`store.job_search`,
`accounting.denials`); this module is the command line only, nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.accounting.denials import find_denials
from chalicelib.bootstrap import ready
from chalicelib.store import workspaces
from chalicelib.store.job_search import find_jobs
from chalicelib.store.models import DenialModel, JobModel
from chalicelib.tasks import reconcile
from chalicelib.tenancy.service import create_workspace


def _window(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise argparse.ArgumentTypeError("window like 10m, 2h, 30s, 1d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def logs_insights_query(workspace_id: str | None) -> str:
    """The CloudWatch Logs Insights query to dig deeper for the same window."""
    where = f' and workspace_id = "{workspace_id}"' if workspace_id else ""
    return (
        "fields @timestamp, level, message, error_code, route, job_id, correlation_id, latency_ms\n"
        f'| filter (level = "ERROR" or ispresent(error_code)){where}\n'
        "| sort @timestamp desc | limit 200"
    )


def _failed(job: JobModel) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "workspace_id": job.workspace_id,
        "created_at": clock.iso(job.created_at),
        "finished_at": clock.iso(job.finished_at),
        "provider": job.provider,
        "model": job.model,
        "error": job.error,
        "timings": job.timings or {},
        "correlation_id": job.correlation_id,
    }


def _denied(d: DenialModel) -> dict[str, Any]:
    return {
        "denial_id": d.denial_id,
        "workspace_id": d.workspace_id,
        "at": clock.iso(d.created_at),
        "code": d.code,
        "scope": d.scope,
        "provider": d.provider,
        "message": d.message,
        "user_id": d.user_id,
        "correlation_id": d.request_id,
    }


def failures(workspace_id: str | None, at: datetime, window: timedelta) -> dict[str, list[dict[str, Any]]]:
    """Failed jobs and denied requests within `window` around `at` (newest first)."""
    ready()
    start, end = at - window / 2, at + window / 2
    jobs, _ = find_jobs(workspace_id, "failed", start, end, 100)
    return {
        "failed_jobs": [_failed(job) for job in jobs],
        "denials": [_denied(d) for d in find_denials(workspace_id, start, end)],
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.ops")
    sub = parser.add_subparsers(dest="command", required=True)
    fail = sub.add_parser("failures", help="failed jobs around a moment")
    fail.add_argument("--workspace")
    fail.add_argument("--at", required=True, type=clock.parse_iso)
    fail.add_argument("--window", default="10m", type=_window)
    sub.add_parser("reconcile", help="re-sum every wallet's ledger and report drift")
    admin = sub.add_parser("create-admin", help="create a platform admin and print its first API key (once)")
    admin.add_argument("--email", required=True)
    sub.add_parser(
        "backfill-workspace-listing", help="give workspaces made before the admin listing index their shard (once per stage)"
    )
    sub.add_parser("backfill-teams", help="write memberships and owner counts of workspaces made before teams (idempotent)")
    library = sub.add_parser("backfill-library", help="index and count images made before the library (resumes where it stopped)")
    library.add_argument("--restart", action="store_true", help="start from the beginning instead of the saved position")
    library.add_argument("--pages", type=int, default=None, help="stop after this many pages of 100 rows")
    sub.add_parser("library-lifecycle", help="put the library's expiry rules on its S3-compatible bucket (R2)")
    sub.add_parser("backfill-sync", help="bring records made before offline sync into its indexes (once per stage)")
    return parser


def _library_command(args: argparse.Namespace) -> int | None:
    """The library's one-off commands (None: not one of them)."""
    if args.command == "backfill-library":
        from chalicelib.library.backfill import run

        report = run(restart=args.restart, max_pages=args.pages)
        print(json.dumps(report.__dict__))
        return 0
    if args.command == "backfill-sync":  # mobile (issue 16)
        from chalicelib.mobile.backfill import run as backfill_sync

        print(json.dumps(backfill_sync().__dict__))
        return 0
    if args.command == "library-lifecycle":
        from chalicelib.library.objects import apply_lifecycle

        print(json.dumps(apply_lifecycle()))
        return 0
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ready()
    if args.command == "create-admin":
        made = create_workspace("Platform operators", args.email, "enterprise", actor="cli", is_admin=True)
        print(
            json.dumps(
                {"workspace_id": made.workspace.workspace_id, "user_id": made.owner.user_id, "api_key": made.secret}, indent=2
            )
        )
        return 0
    if args.command == "failures":
        print(json.dumps(failures(args.workspace, args.at, args.window), indent=2))
        print("\n# Logs Insights (same window):\n" + logs_insights_query(args.workspace))
        return 0
    if args.command == "backfill-workspace-listing":
        print(json.dumps({"backfilled": workspaces.backfill_listing()}))
        return 0
    if args.command == "backfill-teams":
        from chalicelib.tenancy.backfill import run as backfill_teams

        print(json.dumps(backfill_teams().__dict__))
        return 0
    done = _library_command(args)
    if done is not None:
        return done
    report = reconcile()
    print(json.dumps(report, indent=2))
    return 1 if report["drifted"] else 0


if __name__ == "__main__":
    sys.exit(main())
