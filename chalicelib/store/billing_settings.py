"""A workspace's billing settings: a typed value, written only under a version condition.

The settings live on the workspace item: `billing` (a JSON map of the fields below) and
`billing_version` (a number). Several writers change them at once — Stripe delivers events of
one customer in parallel, a checkout saves the customer while a subscription event records its
status — so every write is a read-modify-write conditioned on the version it read
(`billing_version == n`, then n + 1), redone from a fresh read when another writer got there
first. No writer ever loses another's change.

The Stripe customer is saved in one place, `save_customer`: `customer_id` in the settings is the
source of truth (which customer the workspace pays with); the marker `customer:<id>` is only the
index back from a customer to its workspace (for events that name nothing but the customer). The
index is written first, so the settings never name a customer the index cannot resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, TypeVar, cast

from chalicelib import clock, ids
from chalicelib.domain import NotFound, Unavailable
from chalicelib.store.models import MarkerModel, WorkspaceModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

Provider = Literal["stripe", "internal"]
PROVIDERS: tuple[Provider, ...] = ("stripe", "internal")
ATTEMPTS = 8  # versions lost to other writers before giving up (then the caller retries later)
LABEL = "workspace"  # the label of the settings write in a transaction

R = TypeVar("R")


class UnknownWorkspace(NotFound):
    """No workspace with this id."""


class SettingsBusy(Unavailable):
    """Other writers kept changing the settings between our read and our write."""


@dataclass(frozen=True)
class BillingSettings:
    """How a workspace pays: its Stripe customer and card, its current subscription, the backend."""

    customer_id: str | None = None
    payment_method: str | None = None  # saved for off-session payments (auto top-up)
    subscription_id: str | None = None  # the current subscription (one per workspace)
    subscription_status: str | None = None
    cancel_at_period_end: bool = False
    current_period_end: int | None = None  # seconds since the epoch
    past_due_since: int | None = None  # seconds since the epoch of the first failed payment
    provider: Provider = "stripe"  # stripe: self-serve; internal: invoiced, credits granted by admins

    @property
    def invoiced(self) -> bool:
        """Invoiced workspaces are never charged by card, even with a Stripe customer from before."""
        return self.provider == "internal"

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> BillingSettings:
        """The stored map, tolerant of items written before a field existed."""
        d = data or {}
        provider = d.get("provider")
        return cls(
            customer_id=_text(d.get("customer_id")),
            payment_method=_text(d.get("payment_method")),
            subscription_id=_text(d.get("subscription_id")),
            subscription_status=_text(d.get("subscription_status")),
            cancel_at_period_end=bool(d.get("cancel_at_period_end")),
            current_period_end=_number(d.get("current_period_end")),
            past_due_since=_number(d.get("past_due_since")),
            provider=cast("Provider", provider) if provider in PROVIDERS else "stripe",
        )

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _number(value: Any) -> int | None:
    return int(value) if value is not None else None


@dataclass(frozen=True)
class BilledWorkspace:
    """A workspace as billing reads it: its plan, and its settings at one version."""

    workspace_id: str
    plan: str
    billing_interval: str | None
    settings: BillingSettings
    version: int


def of(workspace: WorkspaceModel) -> BilledWorkspace:
    """From a workspace item already read (e.g. by authentication)."""
    return BilledWorkspace(
        workspace.workspace_id,
        workspace.plan,
        workspace.billing_interval,
        BillingSettings.from_data(workspace.billing),
        int(workspace.billing_version or 0),
    )


def load(workspace_id: str) -> BilledWorkspace:
    """A consistent read; `UnknownWorkspace` when there is none."""
    if not ids.is_id(workspace_id, "ws"):
        raise UnknownWorkspace(f"workspace {workspace_id} not found")
    try:
        return of(WorkspaceModel.get(workspace_id, consistent_read=True))
    except WorkspaceModel.DoesNotExist:
        raise UnknownWorkspace(f"workspace {workspace_id} not found") from None


def read(workspace_id: str) -> BillingSettings:
    return load(workspace_id).settings


def write_in(
    txn: Transaction, current: BilledWorkspace, settings: BillingSettings, *, plan: tuple[str, str | None] | None = None
) -> None:
    """Add the settings (and the workspace's (plan, billing interval) when billing changes them)
    to `txn`, on condition that nobody wrote the settings since `current` was read."""
    version = WorkspaceModel.billing_version
    unchanged = (version == current.version) if current.version else (version.does_not_exist() | (version == 0))
    actions: list[Any] = [WorkspaceModel.billing.set(settings.as_data()), version.set(current.version + 1)]
    if plan is not None:
        actions.append(WorkspaceModel.plan.set(plan[0]))
        actions.append(WorkspaceModel.billing_interval.set(plan[1]) if plan[1] else WorkspaceModel.billing_interval.remove())
    txn.update(LABEL, WorkspaceModel(current.workspace_id), actions, WorkspaceModel.workspace_id.exists() & unchanged)


def transact(workspace_id: str, write: Callable[[BilledWorkspace, Transaction], R]) -> R:
    """Read the workspace, let `write` add its items (with `write_in`) to a transaction, commit;
    when another writer changed the settings meanwhile, do it all again from a fresh read.
    Nothing is committed when `write` adds nothing."""
    for _ in range(ATTEMPTS):
        txn = Transaction()
        result = write(load(workspace_id), txn)
        if not len(txn):
            return result
        try:
            txn.commit()
            return result
        except TransactionCancelled as cancelled:
            if set(cancelled.failures) != {LABEL}:
                raise
    raise SettingsBusy(f"the billing settings of {workspace_id} kept changing; retry", retry_after=1)


def update(workspace_id: str, change: Callable[[BillingSettings], BillingSettings]) -> tuple[BillingSettings, BillingSettings]:
    """(before, after) of applying `change` (a pure function of the current settings)."""

    def write(current: BilledWorkspace, txn: Transaction) -> tuple[BillingSettings, BillingSettings]:
        after = change(current.settings)
        if after != current.settings:
            write_in(txn, current, after)
        return current.settings, after

    return transact(workspace_id, write)


# --- the Stripe customer --------------------------------------------------------------------------


def customer_marker(customer_id: str) -> str:
    return f"customer:{customer_id}"


def save_customer(workspace_id: str, customer_id: str) -> None:
    """The one writer of a workspace's Stripe customer: the index, then the settings."""
    MarkerModel(customer_marker(customer_id), data={"workspace_id": workspace_id}, created_at=clock.now()).save()
    update(workspace_id, lambda s: replace(s, customer_id=customer_id))


def workspace_of_customer(customer_id: str | None) -> str | None:
    """The workspace a Stripe customer belongs to (None for a customer we never saved)."""
    if not customer_id:
        return None
    try:
        return str(MarkerModel.get(customer_marker(customer_id), consistent_read=True).data["workspace_id"])
    except MarkerModel.DoesNotExist:
        return None


def invoiced_workspaces() -> Iterator[str]:
    """Ids of the workspaces billed by invoice (the monthly statements).

    A JSON attribute cannot be filtered inside DynamoDB (pynamodb would JSON-encode the operand),
    so this reads the workspace list and keeps the invoiced ones.
    """
    for ws in WorkspaceModel.scan(attributes_to_get=["workspace_id", "billing"]):
        if BillingSettings.from_data(ws.billing).invoiced:
            yield ws.workspace_id
