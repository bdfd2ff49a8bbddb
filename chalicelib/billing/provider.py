"""The billing seam: `stripe` (self-serve) or `internal` (invoiced enterprise customers).

With `internal`, admins grant credits, and the monthly job writes a statement (the period's
usage per day from the rollups) as CSV in S3 and posts a signed `billing.statement` event to
the configured hook URL (Standard Webhooks signature, so the receiver verifies it with any
standardwebhooks library).
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib import clock
from chalicelib.accounting.periods import period_bounds
from chalicelib.api.errors import Conflict
from chalicelib.store.models import MarkerModel, WorkspaceModel

PROVIDERS = ("stripe", "internal")


class BillingProvider(Protocol):
    name: str

    def checkout(self, workspace: WorkspaceModel, email: str | None, body: Any) -> str: ...


class StripeBilling:
    name = "stripe"

    def checkout(self, workspace: WorkspaceModel, email: str | None, body: Any) -> str:
        from chalicelib.billing.checkout import create_checkout

        return create_checkout(workspace, email, body)


class InternalBilling:
    name = "internal"

    def checkout(self, workspace: WorkspaceModel, email: str | None, body: Any) -> str:
        raise Conflict("this workspace is billed by invoice: credits are granted by your account manager")


def provider_for(workspace: WorkspaceModel) -> BillingProvider:
    return InternalBilling() if (workspace.billing or {}).get("provider") == "internal" else StripeBilling()


@dataclass(frozen=True)
class Statement:
    workspace_id: str
    period: str
    s3_key: str
    totals: dict[str, int]
    delivered: bool


def statement_csv(workspace_id: str, period: str) -> tuple[str, dict[str, int]]:
    from chalicelib.accounting.usage import FIELDS, workspace_usage

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


def sign_and_post(url: str, secret: str, event_type: str, data: dict[str, Any], msg_id: str) -> int:
    """POST a Standard Webhooks signed event; returns the HTTP status."""
    from standardwebhooks.webhooks import Webhook

    payload = json.dumps({"type": event_type, "data": data}, separators=(",", ":"))
    now = datetime.now(UTC)  # delivery time (receivers reject stale timestamps), not business time
    signature = Webhook(secret).sign(msg_id, now, payload)
    request = urllib.request.Request(url, data=payload.encode(), method="POST", headers={
        "content-type": "application/json", "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
    })
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def write_statements(period: str) -> list[Statement]:
    """For every internally billed workspace: the period's statement, once (a marker per period)."""
    from chalicelib.aws import client
    from chalicelib.billing import config
    from chalicelib.settings import get_settings

    statements = []
    # A JSON attribute cannot be filtered inside DynamoDB (pynamodb would JSON-encode the operand),
    # so the monthly job reads the workspace list and keeps the invoiced ones here.
    for ws in WorkspaceModel.scan(attributes_to_get=["workspace_id", "billing"]):
        if (ws.billing or {}).get("provider") != "internal":
            continue
        marker = f"statement:{ws.workspace_id}:{period}"
        try:
            done = MarkerModel.get(marker, consistent_read=True)
            if done.data.get("delivered"):
                continue
        except MarkerModel.DoesNotExist:
            pass
        text, totals = statement_csv(ws.workspace_id, period)
        key = f"statements/{period}/{ws.workspace_id}.csv"
        client("s3").put_object(Bucket=get_settings().images_bucket, Key=key, Body=text.encode(), ContentType="text/csv")
        delivered = False
        url = config.statement_hook_url()
        if url:
            data = {"workspace_id": ws.workspace_id, "period": period, "s3_key": key, "totals": totals}
            try:
                delivered = 200 <= sign_and_post(url, config.secret("BILLING_HOOK_SECRET"), "billing.statement", data,
                                                 f"msg_{ws.workspace_id}_{period}") < 300
            except OSError:
                delivered = False  # retried on the next run: the marker says it was not delivered
        MarkerModel(marker, data={"s3_key": key, "delivered": delivered, "workspace_id": ws.workspace_id},
                    created_at=clock.now()).save()
        statements.append(Statement(ws.workspace_id, period, key, totals, delivered))
    return statements
