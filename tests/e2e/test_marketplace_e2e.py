"""The marketplace over the local stack: a creator lists a public template, a buyer pays for it and
makes a job from it, the creator's earnings are held, and Stripe Connect onboarding in the fake
Stripe API delivers a signed `account.updated` over HTTP that enables payouts."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _workspace(stack: Stack, name: str, plan: str) -> dict[str, str]:
    made = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": name, "owner_email": f"{name.lower()}@market.example.test", "plan": plan},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['api_key']}", "Content-Type": "application/json"}


def _post(stack: Stack, path: str, auth: dict[str, str], body: Any = None) -> requests.Response:
    return requests.post(f"{stack.base}{path}", headers=auth, json=body, timeout=30)


def _get(stack: Stack, path: str, auth: dict[str, str]) -> Any:
    answer = requests.get(f"{stack.base}{path}", headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_sell_buy_use_and_onboard_for_payouts(stack: Stack):
    seller, buyer = _workspace(stack, "Seller", "starter"), _workspace(stack, "Buyer", "pro")
    template = {"name": "Market fox", "prompt": "a {color} fox, watercolor", "visibility": "public",
                "variables": {"color": {"type": "enum", "enum": ["red", "arctic"]}}, "tags": ["fox"]}  # fmt: skip
    tpl = _post(stack, "/v1/templates", seller, template).json()["template"]["id"]
    listed = _post(stack, "/v1/marketplace/listings", seller, {"template_id": tpl, "price_credits": 2_000})
    assert listed.status_code == 201, listed.text
    lst = listed.json()["listing"]["id"]
    assert _post(stack, "/v1/jobs", buyer, {"template_id": tpl, "variables": {"color": "red"}}).status_code == 404
    bought = requests.post(f"{stack.base}/v1/marketplace/listings/{lst}/purchase", headers=buyer, timeout=30)
    assert bought.status_code == 201, bought.text
    assert _get(stack, "/v1/ledger", buyer)["data"][0]["type"] == "marketplace_purchase"
    job = _post(stack, "/v1/jobs", buyer, {"template_id": tpl, "variables": {"color": "arctic"}})
    assert job.status_code == 202, job.text
    job_id = job.json()["job"]["id"]
    done = wait_for(lambda: (j := _get(stack, f"/v1/jobs/{job_id}", buyer)["job"])["status"] == "succeeded" and j, timeout=30)
    assert done["prompt"] == "a arctic fox, watercolor"
    assert _get(stack, "/v1/earnings", seller)["pending"] == 1_600
    link = _post(stack, "/v1/payouts/onboarding", seller)
    assert link.status_code == 200, link.text
    fake, account = link.json()["url"].rsplit("/connect/onboarding/", 1)
    assert requests.post(f"{fake}/_fake/accounts/{account}/onboard", timeout=30).status_code == 200
    enabled = wait_for(lambda: (e := _get(stack, "/v1/earnings", seller))["payouts_enabled"] and e)
    assert enabled["payout_account"] == account
    held = _post(stack, "/v1/payouts", seller, {"amount": 1_000})  # still in its holding period
    assert held.status_code == 409 and held.json()["error"]["reason"] == "insufficient_earnings", held.text
