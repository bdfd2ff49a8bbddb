"""A workspace's own account: its balance, its ledger, its usage.

The balance is one function for everyone who shows it (`GET /v1/balance` and the admin
workspace view): the wallet's pools, the billing interval and the auto top-up state read from
the top-up settings (`billing.topup.state`, their one source).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.accounting import usage as usage_rollups
from chalicelib.accounting.ledger import Balance, balance, get_wallet, roll_over
from chalicelib.accounting.periods import period_of
from chalicelib.accounting.plans import get_plan
from chalicelib.billing import topup
from chalicelib.billing.topup import AutoTopupState
from chalicelib.store import ledger_entries
from chalicelib.store.models import LedgerEntryModel, WalletModel, WorkspaceModel


@dataclass(frozen=True)
class UsageRows:
    """Usage rows and the grouping they are in."""

    group_by: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class AccountBalance:
    """What `GET /v1/balance` shows: the wallet's pools, how the plan is billed, the auto top-up."""

    balance: Balance
    billing_interval: str | None
    auto_topup: AutoTopupState | None


def balance_of(workspace: WorkspaceModel, wallet: WalletModel | None = None) -> AccountBalance:
    """The workspace's balance as it stands; `wallet` when just read."""
    wallet = wallet if wallet is not None else get_wallet(workspace.workspace_id)
    return AccountBalance(balance(wallet), workspace.billing_interval, topup.state(workspace.workspace_id))


def current_balance(workspace: WorkspaceModel) -> AccountBalance:
    """The balance after starting the new month if the wallet is still in an older one: the first
    request of a month rolls over, so nobody waits for the schedule to see the new allowance."""
    now = clock.now()
    wallet = get_wallet(workspace.workspace_id)
    if wallet.period < period_of(now):
        roll_over(workspace.workspace_id, period_of(now), get_plan(wallet.plan).monthly_allowance, now)
        wallet = get_wallet(workspace.workspace_id)
    return balance_of(workspace, wallet)


def ledger_page(
    workspace_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[LedgerEntryModel], dict[str, Any] | None]:
    """The workspace's ledger entries, newest first, and where the next page starts."""
    return ledger_entries.page(workspace_id, limit, cursor)


def usage(workspace_id: str, start: datetime, end: datetime, group_by: str) -> UsageRows:
    """`GET /v1/usage`: the workspace's usage from its daily rollups, in one of the account's groupings."""
    grouping = usage_rollups.grouping(group_by, usage_rollups.ACCOUNT_GROUPINGS)
    return UsageRows(grouping, usage_rollups.workspace_usage(workspace_id, start, end, grouping))
