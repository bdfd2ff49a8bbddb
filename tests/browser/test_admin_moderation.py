"""The admin page's Moderation view in headless Chromium: a reported gallery image is listed and
hidden with a required reason, and leaves the public gallery."""

from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_admin_page import open_view, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _published_image(base: str, key: str) -> str:
    """An image made by a real job of the local stack, then published."""
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    job = requests.post(f"{base}/v1/jobs", headers=auth, json={"prompt": "a moderated lighthouse"}, timeout=10).json()["job"]
    deadline = time.monotonic() + 30
    while (found := requests.get(f"{base}/v1/jobs/{job['id']}", headers=auth, timeout=10).json()["job"])["status"] != "succeeded":
        assert time.monotonic() < deadline, found
        time.sleep(0.3)
    image_id = str(found["images"][0]["id"])
    published = requests.post(f"{base}/v1/images/{image_id}/publish", headers=auth, timeout=30)
    assert published.status_code == 200, published.text
    return image_id


def _in_gallery(base: str, image_id: str) -> bool:
    page = requests.get(f"{base}/v1/gallery", params={"q": "moderated lighthouse", "limit": "100"}, timeout=10).json()
    return image_id in [item["id"] for item in page["data"]]


def test_a_reported_image_is_hidden_from_the_moderation_view(page, seeded_stack):
    base = seeded_stack.stack.base
    image_id = _published_image(base, seeded_stack.by_name("Acme Studio")["api_key"])
    reported = requests.post(
        f"{base}/v1/gallery/reports", json={"image_id": image_id, "reason": "violence", "note": "gore"}, timeout=10
    )
    assert reported.status_code == 201 and _in_gallery(base, image_id)
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, "#/moderation", "moderation")
    row = page.locator(f"[data-table=report-cases] tr[data-id={image_id}]")
    expect(row).to_contain_text("violence")
    expect(row).to_contain_text("gore")
    shot(page, "10-moderation")
    page.click(f"[data-hide={image_id}]")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-error")).to_have_text("A reason is required.")
    assert _in_gallery(base, image_id)
    page.fill("#confirm-reason", "graphic violence")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).not_to_be_visible()
    expect(page.locator(f"[data-table=report-cases] tr[data-id={image_id}]")).to_have_count(0)
    assert not _in_gallery(base, image_id)
    open_view(page, "#/moderation?status=hidden", "moderation")
    expect(page.locator(f"[data-table=report-cases] tr[data-id={image_id}]")).to_contain_text("graphic violence")


def test_an_image_is_hidden_from_the_workspace_view(page, seeded_stack):
    """The seed stored images for Pixel Forge's recent jobs: the workspace view lists them, and
    one is hidden from there with a reason (audited); the owner's API then says so."""
    pixel = seeded_stack.by_name("Pixel Forge")
    base, auth = seeded_stack.stack.base, {"Authorization": f"Bearer {pixel['api_key']}"}
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, f"#/workspaces/{pixel['workspace_id']}", "workspace")
    rows = page.locator("[data-table=workspace-images] tbody tr[data-id]")
    assert rows.count() >= 1
    image_id = rows.first.get_attribute("data-id")
    page.click(f"[data-hide-image={image_id}]")
    page.fill("#confirm-reason", "copyrighted logo")
    shot(page, "11-workspace-hide-image")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).not_to_be_visible()
    row = page.locator(f"[data-table=workspace-images] tr[data-id={image_id}]")
    expect(row.locator("[data-visibility]")).to_have_text("hidden")
    expect(page.locator("[data-table=audit]")).to_contain_text("copyrighted logo")
    image = requests.get(f"{base}/v1/images/{image_id}", headers=auth, timeout=10).json()["image"]
    assert image["hidden"] is True
