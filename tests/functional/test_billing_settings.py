"""Billing settings are read, changed and written under a version condition: writers that race
(parallel webhook deliveries, a checkout beside a subscription event) never lose each other's
changes, and the Stripe customer is saved in one place with its index beside it."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.store import billing_settings
from chalicelib.store.billing_settings import BillingSettings, UnknownWorkspace
from chalicelib.store.models import WorkspaceModel
from chalicelib.store.transaction import Transaction, TransactionCancelled


def test_two_racing_updates_both_land(make_tenant: Any) -> None:
    """Both writers read the same version before either writes: one is refused, re-reads, and
    applies its change on top of the other's."""
    t = make_tenant(plan="free")
    both_read = threading.Barrier(2)
    calls: Counter[str] = Counter()

    def racer(field: str, value: str) -> tuple[BillingSettings, BillingSettings]:
        def change(settings: BillingSettings) -> BillingSettings:
            calls[field] += 1
            if calls[field] == 1:
                both_read.wait(timeout=10)
            changes: dict[str, Any] = {field: value}
            return replace(settings, **changes)

        return billing_settings.update(t.workspace_id, change)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [pool.submit(racer, "payment_method", "pm_race"), pool.submit(racer, "subscription_status", "active")]
        for result in results:
            result.result()
    settings = billing_settings.read(t.workspace_id)
    assert (settings.payment_method, settings.subscription_status) == ("pm_race", "active")
    assert sorted(calls.values()) == [1, 2], calls  # the loser redid its change from a fresh read
    assert billing_settings.load(t.workspace_id).version == 2


def test_a_write_between_read_and_write_is_never_overwritten(make_tenant: Any) -> None:
    """The lost update of a plain read-modify-write, played out in order: another writer saves
    the customer while this one is deciding; this one's write is refused and redone."""
    t = make_tenant(plan="free")
    seen: list[str | None] = []

    def change(settings: BillingSettings) -> BillingSettings:
        seen.append(settings.customer_id)
        if len(seen) == 1:
            billing_settings.save_customer(t.workspace_id, "cus_meanwhile")
        return replace(settings, payment_method="pm_mine")

    before, after = billing_settings.update(t.workspace_id, change)
    assert seen == [None, "cus_meanwhile"] and before.customer_id == "cus_meanwhile"
    stored = billing_settings.read(t.workspace_id)
    assert (stored.customer_id, stored.payment_method) == ("cus_meanwhile", "pm_mine") and stored == after


def test_a_stale_version_is_refused(make_tenant: Any) -> None:
    t = make_tenant(plan="free")
    stale = billing_settings.load(t.workspace_id)
    billing_settings.update(t.workspace_id, lambda s: replace(s, subscription_status="active"))
    txn = Transaction()
    billing_settings.write_in(txn, stale, replace(stale.settings, payment_method="pm_stale"))
    with pytest.raises(TransactionCancelled):
        txn.commit()
    assert billing_settings.read(t.workspace_id) == BillingSettings(subscription_status="active")


def test_the_customer_is_saved_once_with_its_index(make_tenant: Any) -> None:
    t = make_tenant(plan="free")
    billing_settings.save_customer(t.workspace_id, "cus_one")
    assert billing_settings.read(t.workspace_id).customer_id == "cus_one"
    assert billing_settings.workspace_of_customer("cus_one") == t.workspace_id
    assert billing_settings.workspace_of_customer("cus_unknown") is None


def test_items_written_before_the_typed_settings_read_as_before(make_tenant: Any) -> None:
    """An item with a partial `billing` map and no version: defaults fill in, and the first
    versioned write succeeds."""
    t = make_tenant(plan="free")
    WorkspaceModel(t.workspace_id).update(
        actions=[
            WorkspaceModel.billing.set({"customer_id": "cus_old", "auto_topup": {"x": 1}}),
            WorkspaceModel.billing_version.remove(),
        ]
    )
    current = billing_settings.load(t.workspace_id)
    assert current.version == 0 and current.settings == BillingSettings(customer_id="cus_old")
    billing_settings.update(t.workspace_id, lambda s: replace(s, provider="internal"))
    assert billing_settings.read(t.workspace_id).invoiced and billing_settings.load(t.workspace_id).version == 1
    with pytest.raises(UnknownWorkspace):
        billing_settings.load("ws_01J0000000000000000000000Z")
