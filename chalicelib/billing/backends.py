"""The billing seam: who a workspace pays, `stripe` (self-serve, by card) or `internal` (invoiced
enterprise customers: admins grant credits, and the monthly job writes a statement, see
`statements`). The one place that decides which backend serves a workspace.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from chalicelib.billing.checkout import CheckoutRequest, create_checkout
from chalicelib.billing.errors import BilledByInvoice
from chalicelib.store import billing_settings
from chalicelib.store.audit import audit_in
from chalicelib.store.billing_settings import BilledWorkspace, BillingSettings, Provider
from chalicelib.store.transaction import Transaction


class BillingBackend(Protocol):
    name: Provider

    def checkout(self, workspace_id: str, email: str | None, settings: BillingSettings, request: CheckoutRequest) -> str: ...


class StripeBackend:
    """Self-serve: Stripe Checkout for packs and plans."""

    name: Provider = "stripe"

    def checkout(self, workspace_id: str, email: str | None, settings: BillingSettings, request: CheckoutRequest) -> str:
        return create_checkout(workspace_id, email, settings, request)


class InvoiceBackend:
    """Invoiced: nothing is bought by card; the account manager grants credits."""

    name: Provider = "internal"

    def checkout(self, workspace_id: str, email: str | None, settings: BillingSettings, request: CheckoutRequest) -> str:
        raise BilledByInvoice("this workspace is billed by invoice: credits are granted by your account manager")


def backend_for(settings: BillingSettings) -> BillingBackend:
    return InvoiceBackend() if settings.invoiced else StripeBackend()


def checkout(workspace_id: str, email: str | None, request: CheckoutRequest) -> str:
    """POST /v1/billing/checkout: the URL to pay at, from the workspace's backend."""
    settings = billing_settings.read(workspace_id)
    return backend_for(settings).checkout(workspace_id, email, settings, request)


def switch_backend(workspace_id: str, provider: Provider, *, actor: str, reason: str) -> BillingSettings:
    """An admin moves a workspace to `stripe` or `internal` billing: the settings and the audit row
    are written together (the settings under their version condition)."""

    def write(current: BilledWorkspace, txn: Transaction) -> BillingSettings:
        after = replace(current.settings, provider=provider)
        billing_settings.write_in(txn, current, after)
        audit_in(
            txn,
            workspace_id,
            actor,
            "billing.provider",
            before={"provider": current.settings.provider},
            after={"provider": provider},
            reason=reason,
        )
        return after

    return billing_settings.transact(workspace_id, write)
