"""The admin page's Marketplace view in headless Chromium: a reported listing is listed, a buyer's
purchase of it is refunded from the page, and the listing is hidden with a required reason."""

from __future__ import annotations

import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_admin_page import open_view, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def _listed(base: str, key: str, name: str) -> str:
    """A public template of the seller's, listed for 40 credits."""
    template = {"name": name, "prompt": "a {thing} in neon", "variables": {"thing": {"type": "string", "default": "fox"}},
                "tags": ["neon"], "visibility": "public"}  # fmt: skip
    made = requests.post(f"{base}/v1/templates", headers=_auth(key), json=template, timeout=10)
    assert made.status_code == 201, made.text
    body = {"template_id": made.json()["template"]["id"], "price_credits": 40}
    listed = requests.post(f"{base}/v1/marketplace/listings", headers=_auth(key), json=body, timeout=10)
    assert listed.status_code == 201, listed.text
    return str(listed.json()["listing"]["id"])


def _purchase_status(base: str, key: str, listing_id: str) -> str | None:
    page = requests.get(f"{base}/v1/marketplace/purchases", headers=_auth(key), params={"limit": "100"}, timeout=10).json()
    return next((p["status"] for p in page["data"] if p["listing_id"] == listing_id), None)


def test_a_reported_listing_is_refunded_and_hidden_from_the_marketplace_view(page, seeded_stack):
    base = seeded_stack.stack.base
    seller, buyer = seeded_stack.by_name("Acme Studio"), seeded_stack.by_name("Pixel Forge")
    listing_id = _listed(base, seller["api_key"], f"Neon market {uuid.uuid4().hex[:6]}")
    bought = requests.post(f"{base}/v1/marketplace/listings/{listing_id}/purchase", headers=_auth(buyer["api_key"]), timeout=10)
    assert bought.status_code == 201, bought.text
    report = {"reason": "copyright", "note": "my prompt"}
    reported = requests.post(
        f"{base}/v1/marketplace/listings/{listing_id}/reports", headers=_auth(buyer["api_key"]), json=report, timeout=10
    )
    assert reported.status_code == 201, reported.text

    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, "#/marketplace", "marketplace")
    row = page.locator(f"[data-table=market-reports] tr[data-id={listing_id}]")
    expect(row).to_contain_text("Neon market")
    expect(row.locator("td.num").first).to_have_text("40")
    shot(page, "12-marketplace")

    page.click(f"[data-refund-listing={listing_id}]")
    expect(page.locator("#refund-listing")).to_have_value(listing_id)
    page.fill("#refund-workspace", buyer["workspace_id"])
    page.click("#refund-submit")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-error")).to_have_text("A reason is required.")
    assert _purchase_status(base, buyer["api_key"], listing_id) == "purchased"
    page.fill("#confirm-reason", "refund requested by the buyer")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).not_to_be_visible()
    expect(page.locator("#toast")).to_have_text("Purchase refunded.")
    assert _purchase_status(base, buyer["api_key"], listing_id) == "refunded"

    page.wait_for_selector("body[data-ready=marketplace]")
    page.click(f"[data-hide-listing={listing_id}]")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-error")).to_have_text("A reason is required.")
    seen = requests.get(f"{base}/v1/marketplace/listings/{listing_id}", headers=_auth(buyer["api_key"]), timeout=10)
    assert seen.status_code == 200  # nothing hidden yet
    page.fill("#confirm-reason", "stolen prompt")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).not_to_be_visible()
    expect(page.locator(f"[data-table=market-reports] tr[data-id={listing_id}]")).to_have_count(0)
    gone = requests.get(f"{base}/v1/marketplace/listings/{listing_id}", headers=_auth(buyer["api_key"]), timeout=10)
    assert gone.status_code == 404, gone.text


def test_a_refused_refund_shows_its_reason_in_the_dialog(page, seeded_stack):
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, "#/marketplace", "marketplace")
    page.fill("#refund-listing", "lst_00000000000000000000000000")
    page.fill("#refund-workspace", seeded_stack.by_name("Pixel Forge")["workspace_id"])
    page.click("#refund-submit")
    page.fill("#confirm-reason", "checking")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-error")).to_contain_text("not found")
    expect(page.locator("#confirm")).to_be_visible()
