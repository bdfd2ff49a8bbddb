"""Monthly statements of invoiced (`internal` billing) workspaces.

For each, the monthly job writes the period's usage per day (from the rollups) as CSV in S3 and
posts a signed `billing.statement` event to the configured hook URL (Standard Webhooks signature,
so the receiver verifies it with any standardwebhooks library). Once per workspace and period: a
marker records the statement, and an undelivered one is retried on the next run.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from chalicelib import clock
from chalicelib.accounting.periods import period_bounds
from chalicelib.accounting.usage import FIELDS, workspace_usage
from chalicelib.aws import client
from chalicelib.billing import config
from chalicelib.secrets import secret
from chalicelib.settings import get_settings
from chalicelib.store.billing_settings import invoiced_workspaces
from chalicelib.store.models import MarkerModel


@dataclass(frozen=True)
class Statement:
    workspace_id: str
    period: str
    s3_key: str
    totals: dict[str, int]
    delivered: bool


def statement_csv(workspace_id: str, period: str) -> tuple[str, dict[str, int]]:
    """The period's usage per day, then the totals row; and the totals."""
    start, end = period_bounds(period)
    rows = workspace_usage(workspace_id, start, end - timedelta(seconds=1), "day")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", *FIELDS])
    totals = dict.fromkeys(FIELDS, 0)
    for row in rows:
        writer.writerow([row["key"], *(row[f] for f in FIELDS)])
        for f in FIELDS:
            totals[f] += int(row[f])
    writer.writerow(["total", *(totals[f] for f in FIELDS)])
    return out.getvalue(), totals


def sign_and_post(url: str, hook_secret: str, event_type: str, data: dict[str, Any], msg_id: str) -> int:
    """POST a Standard Webhooks signed event; returns the HTTP status."""
    payload = json.dumps({"type": event_type, "data": data}, separators=(",", ":"))
    now = datetime.now(UTC)  # delivery time (receivers reject stale timestamps), not business time
    signature = Webhook(hook_secret).sign(msg_id, now, payload)
    request = urllib.request.Request(
        url,
        data=payload.encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def _marker(workspace_id: str, period: str) -> str:
    return f"statement:{workspace_id}:{period}"


def _delivered_before(workspace_id: str, period: str) -> bool:
    try:
        return bool(MarkerModel.get(_marker(workspace_id, period), consistent_read=True).data.get("delivered"))
    except MarkerModel.DoesNotExist:
        return False


def _deliver(workspace_id: str, period: str, key: str, totals: dict[str, int]) -> bool:
    """Post the statement to the hook, if one is configured; False when it was not delivered."""
    url = config.statement_hook_url()
    if not url:
        return False
    data = {"workspace_id": workspace_id, "period": period, "s3_key": key, "totals": totals}
    try:
        status = sign_and_post(url, secret("BILLING_HOOK_SECRET"), "billing.statement", data, f"msg_{workspace_id}_{period}")
    except OSError:
        return False  # retried on the next run: the marker says it was not delivered
    return 200 <= status < 300


def write_statement(workspace_id: str, period: str) -> Statement:
    """Writes: the CSV in S3, the hook delivery, and the marker that says how it went."""
    text, totals = statement_csv(workspace_id, period)
    key = f"statements/{period}/{workspace_id}.csv"
    client("s3").put_object(Bucket=get_settings().images_bucket, Key=key, Body=text.encode(), ContentType="text/csv")
    delivered = _deliver(workspace_id, period, key, totals)
    MarkerModel(
        _marker(workspace_id, period),
        data={"s3_key": key, "delivered": delivered, "workspace_id": workspace_id},
        created_at=clock.now(),
    ).save()
    return Statement(workspace_id, period, key, totals, delivered)


def write_statements(period: str) -> list[Statement]:
    """For every invoiced workspace: the period's statement, once (until it is delivered)."""
    return [write_statement(ws, period) for ws in invoiced_workspaces() if not _delivered_before(ws, period)]
