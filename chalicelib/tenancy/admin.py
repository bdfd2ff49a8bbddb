"""What platform operators do to tenants: list and inspect workspaces, grant or deduct credits,
override limits, ban and unban, run a scheduled task now.

Every mutation writes its audit row (who, what, before, after, why) in the transaction of the
change where it has one (`store.audit.audit_in`); credits are audited by the ledger's own
transaction (`accounting.ledger.adjust`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.accounting.errors import InsufficientForAdjustment
from chalicelib.accounting.ledger import adjust
from chalicelib.accounting.plans import OVERRIDABLE, PLANS, Limits, effective_limits
from chalicelib.accounting.prices import MODELS
from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD
from chalicelib.generation import service as jobs
from chalicelib.generation.service import JobRecord
from chalicelib.store import job_search, ledger_entries, users, workspaces
from chalicelib.store.audit import PLATFORM, AuditEntry, audit, audit_in, trail
from chalicelib.store.models import LedgerEntryModel, UserModel, WorkspaceModel
from chalicelib.store.transaction import Transaction
from chalicelib.tasks import SCHEDULED
from chalicelib.tenancy.account import AccountBalance, balance_of
from chalicelib.tenancy.errors import DeductionTooLarge, InvalidQuery, UnknownTask
from chalicelib.tenancy.reports import JOB_STATUSES
from chalicelib.tenancy.service import get_user, get_workspace
from chalicelib.webhooks.balance_low import request_check as request_balance_check

WORKSPACE_STATUSES = ("active", "banned")
DETAIL_ENTRIES, DETAIL_JOBS, DETAIL_AUDIT = 20, 20, 50  # what the workspace view shows of each


@dataclass(frozen=True)
class Catalog:
    """What the dashboard's filters and forms offer."""

    plans: tuple[str, ...]
    models: tuple[tuple[str, str], ...]
    job_statuses: tuple[str, ...]
    scheduled: tuple[str, ...]
    limits: tuple[str, ...]
    credit_value_micro_usd: int


@dataclass(frozen=True)
class WorkspaceDetail:
    """Everything the admin workspace view shows, read in one go."""

    workspace: WorkspaceModel
    balance: AccountBalance
    limits: Limits
    users: list[UserModel]
    ledger: list[LedgerEntryModel]
    jobs: list[JobRecord]
    audit: list[AuditEntry]


@dataclass(frozen=True)
class LimitsChange:
    """The workspace's effective limits after a change, and the overrides that make them."""

    limits: Limits
    overrides: dict[str, Any]


@dataclass(frozen=True)
class BanChange:
    id: str
    status: str


def catalog() -> Catalog:
    """Plans, providers and models, job statuses, scheduled tasks, overridable limits, credit value."""
    return Catalog(
        tuple(PLANS),
        tuple(sorted(MODELS)),
        JOB_STATUSES,
        tuple(SCHEDULED),
        tuple(name for name in OVERRIDABLE if name != "providers"),
        CREDIT_LIST_PRICE_MICRO_USD,
    )


def list_workspaces(
    limit: int, before: str | None, *, status: str | None, plan: str | None, query: str
) -> tuple[list[WorkspaceModel], str | None]:
    """A page of workspaces, newest first, from the listing index (never a scan), and where the
    next page starts."""
    if status and status not in WORKSPACE_STATUSES:
        raise InvalidQuery("status must be active or banned", field="status")
    where = workspaces.ListingFilter(status=status or None, plan=plan or None, query=query.strip().lower())
    return workspaces.list_page(limit, before, where)


def workspace_detail(workspace_id: str) -> WorkspaceDetail:
    """The workspace with its balance, effective limits, people, recent ledger, jobs and audit."""
    ws = get_workspace(workspace_id)
    return WorkspaceDetail(
        workspace=ws,
        balance=balance_of(ws),
        limits=effective_limits(ws.plan, ws.limits),
        users=users.of_workspace(workspace_id),
        ledger=ledger_entries.latest(workspace_id, DETAIL_ENTRIES),
        jobs=[jobs.describe(job) for job in job_search.latest(workspace_id, DETAIL_JOBS)],
        audit=trail(workspace_id, DETAIL_AUDIT),
    )


def adjust_credits(workspace_id: str, amount: int, *, reason: str, actor: str) -> LedgerEntryModel:
    """Grant (amount > 0) or deduct credits: a ledger entry, audited; a deduction never makes
    `available` negative (DeductionTooLarge, nothing changes)."""
    get_workspace(workspace_id)
    try:
        entry = adjust(workspace_id, amount, reason=reason, actor=actor, now=clock.now())
    except InsufficientForAdjustment as short:
        raise DeductionTooLarge(
            f"a deduction of {-amount} would make available negative; {short.available} available", available=short.available
        ) from None
    if entry is None:  # only a grant keyed on a source can be a repeat; this one has none
        raise RuntimeError("an adjustment without a source was treated as a repeat")
    request_balance_check(workspace_id)  # balance.low: a grant re-arms it, a deduction may cross
    return entry


def set_limits(workspace_id: str, overrides: dict[str, Any], *, actor: str, reason: str) -> LimitsChange:
    """Replace the workspace's limit overrides, audited with the ones they replace."""
    ws = get_workspace(workspace_id)
    txn = Transaction()
    workspaces.set_limits_in(txn, workspace_id, overrides)
    audit_in(txn, workspace_id, actor, "workspace.limits", before=dict(ws.limits or {}), after=overrides, reason=reason)
    txn.commit()
    return LimitsChange(effective_limits(ws.plan, overrides), overrides)


def ban_workspace(workspace_id: str, banned: bool, *, actor: str, reason: str) -> BanChange:
    """Ban or unban a workspace (admission refuses it too: the flag is on its wallet), audited."""
    ws = get_workspace(workspace_id)
    status = "banned" if banned else "active"
    txn = Transaction()
    workspaces.set_banned_in(txn, ws, banned, reason)
    audit_in(
        txn,
        workspace_id,
        actor,
        f"workspace.{'ban' if banned else 'unban'}",
        before={"status": ws.status},
        after={"status": status, "id": workspace_id},
        reason=reason,
    )
    txn.commit()
    return BanChange(workspace_id, status)


def ban_user(user_id: str, banned: bool, *, actor: str, reason: str) -> BanChange:
    """Ban or unban one user (their workspace and its other people go on), audited on the workspace."""
    user = get_user(user_id)
    status = "banned" if banned else "active"
    txn = Transaction()
    users.set_banned_in(txn, user, banned)
    audit_in(
        txn,
        user.workspace_id,
        actor,
        f"user.{'ban' if banned else 'unban'}",
        before={"status": user.status},
        after={"status": status, "id": user_id},
        reason=reason,
    )
    txn.commit()
    return BanChange(user_id, status)


def run_task(name: str, *, actor: str, reason: str | None) -> dict[str, Any]:
    """Run a scheduled task now (the same function its schedule runs), audited on the platform."""
    if name not in SCHEDULED:
        raise UnknownTask(f"no scheduled job {name!r}; one of {', '.join(SCHEDULED)}")
    result = SCHEDULED[name]()
    audit(PLATFORM, actor, f"scheduled.{name}", after={"result": result}, reason=reason)
    return result
