"""What every Stripe event handler shares: outcomes, the event marker, finding the workspace.

Handlers read and check first (raising `Rejected` while nothing is written yet), then write;
the helpers here that read never write, and those that write say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock, ids
from chalicelib.billing.stripe_objects import Rejected
from chalicelib.store.models import MarkerModel, WorkspaceModel

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
    from pynamodb.exceptions import PutError

    try:
        MarkerModel(event_marker(event_id), data={"workspace_id": workspace_id, "note": note},
                    created_at=clock.now()).save(MarkerModel.marker.does_not_exist())
    except PutError:
        return Result("duplicate")
    return Result("applied", note)


def _named_workspaces(candidates: list[Any]) -> set[str]:
    return {c for c in candidates if isinstance(c, str) and ids.is_id(c, "ws")}


def _customer_workspace(customer: str | None) -> str | None:
    if not customer:
        return None
    try:
        return str(MarkerModel.get(f"customer:{customer}", consistent_read=True).data["workspace_id"])
    except MarkerModel.DoesNotExist:
        return None


def resolve_workspace(candidates: list[Any], customer: str | None) -> WorkspaceModel | None:
    """Reads only. The workspace an object belongs to: the ids it names (client reference,
    metadata) or, failing those, its customer. None when it names none (not ours: ignored);
    `Rejected` when it names an unknown workspace, two workspaces, or another one's customer."""
    named = _named_workspaces(candidates)
    if len(named) > 1:
        raise Rejected(f"the event names more than one workspace: {', '.join(sorted(named))}")
    owner = _customer_workspace(customer)
    if named and owner and owner not in named:
        raise Rejected(f"customer {customer} belongs to another workspace than the one the event names")
    workspace_id = next(iter(named), None) or owner
    if workspace_id is None:
        return None
    try:
        return WorkspaceModel.get(workspace_id, consistent_read=True)
    except WorkspaceModel.DoesNotExist:
        raise Rejected(f"unknown workspace {workspace_id}") from None


def remember_customer(workspace: WorkspaceModel, customer: str | None) -> None:
    """Writes: the customer -> workspace marker and the workspace's `billing.customer_id`."""
    if not customer:
        return
    MarkerModel(f"customer:{customer}", data={"workspace_id": workspace.workspace_id}, created_at=clock.now()).save()
    billing = dict(workspace.billing or {})
    if billing.get("customer_id") != customer:
        billing["customer_id"] = customer
        WorkspaceModel(workspace.workspace_id).update(actions=[WorkspaceModel.billing.set(billing)])


def require_usd(currency: str | None, what: str) -> None:
    if (currency or "").lower() != CURRENCY:
        raise Rejected(f"{what} is in {currency!r}, not {CURRENCY}: the catalog has no such price", "currency")
