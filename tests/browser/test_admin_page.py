"""The admin page in headless Chromium against the seeded local stack: what an operator does."""

from __future__ import annotations

import csv
import json
import re
import time
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import Seeded, shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAINTED = """() => [...document.querySelectorAll('canvas[data-chart]')].map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) painted++;
  return {name: c.dataset.chart, width: c.width, height: c.height, painted};
})"""


def sign_in(page: Any, key: str, expect: str = "overview") -> None:
    page.goto("/admin")
    page.fill("#admin-key", key)
    page.click("#sign-in-form button[type=submit]")
    if expect:
        page.wait_for_selector(f"body[data-ready={expect}]")


def open_view(page: Any, hash_: str, ready: str) -> None:
    page.evaluate("(h) => { location.hash = h; }", hash_)
    page.wait_for_selector(f"body[data-ready={ready}]")


def api(seeded: Seeded, path: str, **params: str) -> dict[str, Any]:
    r = requests.get(f"{seeded.stack.base}{path}", headers=seeded.stack.admin(), params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def kpi(page: Any, name: str) -> int:
    return int(page.inner_text(f"[data-kpi={name}] strong").replace(",", "").replace("$", "").split(".")[0])


def test_sign_in_refuses_bad_and_non_admin_keys_and_keeps_the_key_out_of_urls(page, seeded_stack):
    sign_in(page, "sk_test_nonsense", expect="")
    expect(page.locator("#sign-in-error")).to_contain_text("not accepted")
    customer = seeded_stack.by_name("Acme Studio")["api_key"]
    sign_in(page, customer, expect="")
    expect(page.locator("#sign-in-error")).to_contain_text("not a platform admin")
    assert page.is_visible("#sign-in") and not page.is_visible("#nav")
    shot(page, "00-sign-in-refused")
    sign_in(page, seeded_stack.stack.admin_key)
    assert seeded_stack.stack.admin_key not in page.url
    assert page.evaluate("sessionStorage.getItem('imagegen.adminKey')") == seeded_stack.stack.admin_key
    assert page.evaluate("localStorage.length") == 0
    page.click("#sign-out")
    assert page.is_visible("#sign-in") and page.evaluate("sessionStorage.length") == 0


def _range(days: int) -> tuple[str, str]:
    """A date range computed once: the page and the API are asked for the same days even when the
    test runs across UTC midnight."""
    now = time.time()
    return time.strftime("%Y-%m-%d", time.gmtime(now - days * 86400)), time.strftime("%Y-%m-%d", time.gmtime(now))


def wait_painted(page: Any, names: set[str], at_least: int) -> list[dict[str, Any]]:
    """Wait until the named charts have drawn (Chart.js animates), then read them."""
    page.wait_for_function(
        "([names, n]) => (" + PAINTED + ")().filter((c) => names.includes(c.name) && c.painted > n).length === names.length",
        arg=[sorted(names), at_least],
    )
    return page.evaluate(PAINTED)


def test_overview_draws_its_charts_from_the_rollups(page, seeded_stack):
    start, end = _range(29)
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, f"#/overview?from={start}&to={end}", "overview")
    charts = {c["name"]: c for c in wait_painted(page, {"spend", "providers", "jobs"}, 1000)}
    assert set(charts) == {"spend", "providers", "jobs"}
    for c in charts.values():
        assert c["width"] > 100 and c["height"] > 100 and c["painted"] > 1000, c
    totals = api(seeded_stack, "/admin/api/usage", group_by="provider_day", **{"from": start, "to": end})["totals"]
    assert totals["credits"] > 0 and kpi(page, "credits") == totals["credits"]
    assert kpi(page, "failed") == totals["failed"]
    top = page.inner_text("[data-table=top-workspaces]")
    assert "Acme Studio" in top and "Pixel Forge" in top
    shot(page, "01-overview")


def test_filter_by_workspace_lives_in_the_url_and_survives_a_reload(page, seeded_stack):
    acme = seeded_stack.by_name("Acme Studio")
    sign_in(page, seeded_stack.stack.admin_key)
    page.fill("#filters input[name=workspace_id]", acme["workspace_id"])
    page.select_option("#filters select[name=provider]", "openai")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(f"workspace_id={acme['workspace_id']}"))
    page.wait_for_selector("body[data-ready=overview]")
    assert "provider=openai" in page.url
    page.reload()
    page.wait_for_selector("body[data-ready=overview]")
    assert page.input_value("#filters input[name=workspace_id]") == acme["workspace_id"]
    assert page.input_value("#filters select[name=provider]") == "openai"
    start, end = _range(29)
    open_view(page, f"#/overview?from={start}&to={end}&workspace_id={acme['workspace_id']}&provider=openai", "overview")
    expected = api(
        seeded_stack, "/admin/api/usage", workspace_id=acme["workspace_id"], provider="openai", **{"from": start, "to": end}
    )["totals"]["credits"]
    assert kpi(page, "credits") == expected > 0
    assert "openai" in page.inner_text(".sub")
    charts = {c["name"]: c for c in wait_painted(page, {"providers"}, 500)}
    assert charts["providers"]["painted"] > 500
    shot(page, "02-overview-filtered")


def test_workspaces_list_search_and_detail(page, seeded_stack):
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, "#/workspaces?query=pixel", "workspaces")
    rows = page.inner_text("[data-table=workspaces]")
    assert "Pixel Forge" in rows and "Acme Studio" not in rows
    shot(page, "03-workspaces")
    page.click("[data-table=workspaces] a:text('Pixel Forge')")
    page.wait_for_selector("body[data-ready=workspace]")
    for name in ("ledger", "jobs", "audit", "users"):
        assert page.locator(f"[data-table={name}] tbody tr").count() >= 1, name
    assert page.evaluate(PAINTED)[0]["painted"] > 500
    # the library's counters (seeded jobs made images through real settlement): the same as the API's
    pixel = seeded_stack.by_name("Pixel Forge")["workspace_id"]
    storage = api(seeded_stack, f"/admin/api/workspaces/{pixel}/storage")["storage"]
    assert storage["images"] >= 1 and kpi(page, "library-images") == storage["images"]
    assert "Library storage" in page.inner_text("[data-section=storage]")


def test_grant_credits_with_a_required_reason_changes_the_balance(page, seeded_stack):
    acme = seeded_stack.by_name("Acme Studio")
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, f"#/workspaces/{acme['workspace_id']}", "workspace")
    before = kpi(page, "available")
    page.fill("[data-action=credits] input[name=amount]", "250")
    page.click("[data-action=credits] button[type=submit]")
    page.wait_for_selector("#confirm[open]")
    assert "Add 250 credits to Acme Studio" in page.inner_text("#confirm-summary")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-error")).to_have_text("A reason is required.")
    assert api(seeded_stack, f"/admin/api/workspaces/{acme['workspace_id']}")["balance"]["available"] == before
    page.fill("#confirm-reason", "goodwill: outage on the 3rd")
    shot(page, "04-grant-confirm")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).not_to_be_visible()
    expect(page.locator("[data-kpi=available] strong")).to_have_text(f"{before + 250:,}")
    assert "goodwill: outage on the 3rd" in page.inner_text("[data-table=audit]")
    assert api(seeded_stack, f"/admin/api/workspaces/{acme['workspace_id']}")["balance"]["available"] == before + 250
    shot(page, "05-workspace-after-grant")


def test_ban_a_workspace_and_its_next_job_is_refused_then_unban(page, seeded_stack):
    pixel = seeded_stack.by_name("Pixel Forge")
    base = seeded_stack.stack.base
    customer = {"Authorization": f"Bearer {pixel['api_key']}", "Content-Type": "application/json"}
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, f"#/workspaces/{pixel['workspace_id']}", "workspace")
    page.click("[data-action=ban]")
    page.fill("#confirm-reason", "card testing fraud")
    page.click("#confirm-ok")
    page.wait_for_selector("[data-status=banned]")
    shot(page, "06-workspace-banned")
    r = requests.post(f"{base}/v1/jobs", headers=customer, json={"prompt": "after the ban"}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_banned"
    page.click("[data-action=unban]")
    page.fill("#confirm-reason", "cleared after review")
    page.click("#confirm-ok")
    page.wait_for_selector("[data-status=active]")
    r = requests.post(f"{base}/v1/jobs", headers=customer, json={"prompt": "after the unban"}, timeout=10)
    assert r.status_code == 202, r.text
    audit = page.inner_text("[data-table=audit]")
    assert "card testing fraud" in audit and "cleared after review" in audit


def test_failures_view_lists_failed_jobs_with_a_timing_waterfall_and_denials(page, seeded_stack):
    acme, pixel = seeded_stack.by_name("Acme Studio"), seeded_stack.by_name("Pixel Forge")
    base = seeded_stack.stack.base
    auth = {"Authorization": f"Bearer {acme['api_key']}", "Content-Type": "application/json"}
    job = requests.post(
        f"{base}/v1/jobs",
        headers={**auth, "X-Request-Id": "browser-1432"},
        json={"prompt": "[fail:always] for the failures view"},
        timeout=10,
    ).json()["job"]
    deadline = time.monotonic() + 30
    while requests.get(f"{base}/v1/jobs/{job['id']}", headers=auth, timeout=10).json()["job"]["status"] != "failed":
        assert time.monotonic() < deadline, "the job did not fail in time"
        time.sleep(0.3)
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, f"#/failures?workspace_id={acme['workspace_id']}&window=30", "failures")
    row = page.locator(f"[data-table=failed-jobs] tr:has-text('{job['id']}')")
    assert row.count() == 1
    assert "provider_error" in row.inner_text() and "browser-1432" in row.inner_text()
    total = int(row.locator(".waterfall").get_attribute("data-total-ms"))
    assert total > 0 and row.locator(".waterfall .seg").count() == 5
    shot(page, "07-failures")
    open_view(page, f"#/failures?workspace_id={pixel['workspace_id']}&window=60", "failures")
    denials = page.locator("[data-table=denials] tbody tr")
    assert denials.count() == 3 and "rate_limited" in denials.first.inner_text()


def test_csv_reports_download_with_the_filtered_rows(page, seeded_stack):
    acme = seeded_stack.by_name("Acme Studio")
    sign_in(page, seeded_stack.stack.admin_key)
    start, end = _range(13)
    open_view(page, f"#/reports?from={start}&to={end}", "reports")
    page.select_option("select[name=group_by]", "day")
    with page.expect_download() as info:
        page.click("[data-download=usage]")
    download = info.value
    assert re.fullmatch(r"usage-day-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["day", "jobs", "failed"] and len(rows) > 10
    credits = rows[0].index("credits")
    expected = api(seeded_stack, "/admin/api/usage", **{"from": start, "to": end})["totals"]["credits"]
    assert sum(int(r[credits]) for r in rows[1:]) == expected
    expect(page.locator("[data-result=csv]")).to_contain_text("Downloaded usage-day-")
    shot(page, "08-reports")
    assert page.is_disabled("[data-download=ledger]")
    open_view(page, f"#/reports?from={start}&to={end}&workspace_id={acme['workspace_id']}", "reports")
    with page.expect_download() as info:
        page.click("[data-download=ledger]")
    with open(info.value.path(), newline="", encoding="utf-8") as handle:
        ledger = list(csv.reader(handle))
    assert ledger[0][:3] == ["created_at", "entry_id", "type"]
    assert {"hold", "charge"} <= {r[2] for r in ledger[1:]} and all(r[0][:10] >= start for r in ledger[1:])


def test_run_a_scheduled_job_now(page, seeded_stack):
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, "#/operations", "operations")
    page.click("[data-run=reconcile]")
    page.fill("#confirm-reason", "check drift after the incident")
    page.click("#confirm-ok")
    expect(page.locator("[data-result=scheduled]")).to_contain_text("reconcile:")
    text = page.inner_text("[data-result=scheduled]")
    result = json.loads(text[text.index("{") :])
    assert result["wallets"] >= 2 and result["drifted"] == 0 and result["drift"] == [], result
    shot(page, "09-operations")


def test_webhooks_view_lists_failing_deliveries_first_and_disables_an_endpoint(page, seeded_stack):
    from tests.functional.webhook_helpers import receiver
    from tests.stack import wait_for

    base = seeded_stack.stack.base
    made = requests.post(
        f"{base}/admin/api/workspaces",
        headers=seeded_stack.stack.admin(),
        json={"name": "Hooked", "owner_email": "owner@hooked.test", "plan": "starter"},
        timeout=10,
    ).json()
    customer = {"Authorization": f"Bearer {made['api_key']}", "Content-Type": "application/json"}
    ws = made["workspace"]["id"]
    with receiver(answers=[500] * 50) as failing, receiver() as working:
        for url in (failing.url, working.url):
            body = {"url": url, "events": ["job.succeeded"]}
            r = requests.post(f"{base}/v1/webhook-endpoints", headers=customer, json=body, timeout=10)
            assert r.status_code == 201, r.text
        job = requests.post(f"{base}/v1/jobs", headers=customer, json={"prompt": "a weather vane"}, timeout=10)
        assert job.status_code == 202, job.text
        wait_for(lambda: failing.requests and working.requests, timeout=60)
    sign_in(page, seeded_stack.stack.admin_key)
    open_view(page, f"#/webhooks?workspace_id={ws}", "webhooks")
    statuses = page.locator("[data-table=webhook-deliveries] tbody [data-status]").all_inner_texts()
    assert statuses == ["retrying", "succeeded"], statuses  # the failing delivery first
    assert page.locator("[data-table=webhook-endpoints] tbody tr").count() == 2
    shot(page, "10-webhooks")
    deliveries = api(seeded_stack, f"/admin/api/workspaces/{ws}/webhook-deliveries")["data"]
    bad = deliveries[0]["endpoint_id"]  # the retrying one's endpoint
    row = f"[data-table=webhook-endpoints] tr[data-id={bad}]"
    page.click(f"{row} [data-endpoint-action=disable]")
    page.fill("#confirm-reason", "receiver down for the migration")
    page.click("#confirm-ok")
    expect(page.locator(f"{row} [data-status=disabled]")).to_have_count(1)
    expect(page.locator("[data-table=webhook-endpoints] [data-status=enabled]")).to_have_count(1)
    assert "receiver down for the migration" in page.inner_text(row)
    endpoints = {e["id"]: e["status"] for e in api(seeded_stack, f"/admin/api/workspaces/{ws}/webhook-endpoints")["data"]}
    assert endpoints[bad] == "disabled" and sorted(endpoints.values()) == ["disabled", "enabled"]
    shot(page, "11-webhooks-disabled")
