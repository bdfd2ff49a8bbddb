"""What every Stripe event handler shares: outcomes, the processed-event marker, finding the
workspace an event is about, and remembering its customer.

Handlers read and check first (raising `Rejected` while nothing is written yet), then write;
the helpers here that read never write, and those that write say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib import clock, ids
from chalicelib.billing.errors import Rejected
from chalicelib.store import billing_settings
from chalicelib.store.billing_settings import BilledWorkspace, UnknownWorkspace
from chalicelib.store.models import MarkerModel

CURRENCY = "usd"  # every price of the catalog is in US dollars


@dataclass(frozen=True)
class Result:
    outcome: str  # applied | duplicate | ignored | rejected
    detail: str = ""


def event_marker(event_id: str) -> str:
    return f"stripe_event:{event_id}"


def seen(event_id: str) -> bool:
    try:
        MarkerModel.get(event_marker(event_id), consistent_read=True)
        return True
    except MarkerModel.DoesNotExist:
        return False


def record_only(event_id: str, workspace_id: str | None, note: str) -> Result:
    """Writes: mark an event processed when it changes no balance (a replay is then a duplicate)."""
    try:
        MarkerModel(event_marker(event_id), data={"workspace_id": workspace_id, "note": note}, created_at=clock.now()).save(
            MarkerModel.marker.does_not_exist()
        )
    except PutError:
        return Result("duplicate")
    return Result("applied", note)


def _named_workspaces(candidates: list[Any]) -> set[str]:
    return {c for c in candidates if isinstance(c, str) and ids.is_id(c, "ws")}


def resolve_workspace(candidates: list[Any], customer: str | None) -> BilledWorkspace | None:
    """Reads only. The workspace an object belongs to: the ids it names (client reference,
    metadata) or, failing those, its customer. None when it names none (not ours: ignored);
    `Rejected` when it names an unknown workspace, two workspaces, or another one's customer."""
    named = _named_workspaces(candidates)
    if len(named) > 1:
        raise Rejected(f"the event names more than one workspace: {', '.join(sorted(named))}")
    owner = billing_settings.workspace_of_customer(customer)
    if named and owner and owner not in named:
        raise Rejected(f"customer {customer} belongs to another workspace than the one the event names")
    workspace_id = next(iter(named), None) or owner
    if workspace_id is None:
        return None
    try:
        return billing_settings.load(workspace_id)
    except UnknownWorkspace:
        raise Rejected(f"unknown workspace {workspace_id}") from None


def remember_customer(workspace: BilledWorkspace, customer: str | None) -> None:
    """Writes: the workspace's Stripe customer, when the event names one it did not have."""
    if customer and workspace.settings.customer_id != customer:
        billing_settings.save_customer(workspace.workspace_id, customer)


def require_usd(currency: str | None, what: str) -> None:
    if (currency or "").lower() != CURRENCY:
        raise Rejected(f"{what} is in {currency!r}, not {CURRENCY}: the catalog has no such price", "currency")
