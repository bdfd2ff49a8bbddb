"""Create what the app needs in a Stripe account, idempotently: run it after every deploy.

    .venv/bin/python scripts/stripe_setup.py --stage dev [--url https://<api>/api]   (or make stripe-setup STAGE=dev)

- Products and prices of the catalog (chalicelib/billing/catalog.py: the packs and the plan
  prices), found by `lookup_key`; only missing ones are created. An existing price whose amount,
  currency or interval differs from the catalog is reported and the run fails, unless
  `--replace-mismatched` creates the catalog's price and moves the lookup key to it (Stripe
  prices are immutable).
- The webhook endpoint `<api url>/webhooks/stripe` (the stack's `EndpointURL` output unless
  `--url`), listening to the event types the app handles (chalicelib/billing/events.py),
  created or updated in place. Stripe shows a signing secret once, at creation: it goes straight
  into the SSM SecureString the stack reads (`/imagegen/<stage>/stripe-webhook-secret`). An
  endpoint that exists while that parameter does not can only be recreated (`--recreate-webhook`).
- The Connect webhook endpoint `<api url>/webhooks/stripe-connect` (`connect: true`: events of
  the creators' connected accounts), listening to `account.updated` (chalicelib/marketplace/
  connect.py), the same way: created or updated in place, its own signing secret stored in
  `/imagegen/<stage>/stripe-connect-webhook-secret` at creation. Endpoints are told apart by
  their metadata (`kind: connect`) or their URL.

The Stripe key: `STRIPE_API_KEY`, else the stage's SSM parameter `/imagegen/<stage>/stripe-api-key`.
`STRIPE_API_BASE` points the client at another Stripe API (the tests' fake). Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS, plan_lookup_key
from chalicelib.billing.events import HANDLERS
from chalicelib.marketplace.connect import HANDLED_EVENTS as CONNECT_EVENTS
from infra.config import APP_NAME, secret_parameter_name

CURRENCY = "usd"
WEBHOOK_PATH = "/webhooks/stripe"
CONNECT_WEBHOOK_PATH = "/webhooks/stripe-connect"
LOOKUP_BATCH = 10  # Stripe's limit of lookup_keys per list call


@dataclass(frozen=True)
class Endpoint:
    """One webhook endpoint the app needs: where, which events, whose secret parameter."""

    kind: str  # "account": the platform's own events; "connect": its connected accounts'
    path: str
    events: tuple[str, ...]
    secret: str  # the setting (infra/config.py SECRETS) whose SSM parameter holds the signing secret

    @property
    def connect(self) -> bool:
        return self.kind == "connect"

    def metadata(self, stage: str) -> dict[str, str]:
        return {"app": APP_NAME, "stage": stage, **({"kind": self.kind} if self.connect else {})}


@dataclass(frozen=True)
class CatalogPrice:
    lookup_key: str
    product_id: str
    product_name: str
    unit_amount: int
    interval: str | None  # None: a one-time price (a credit pack)
    metadata: dict[str, str]


def catalog() -> list[CatalogPrice]:
    """Every price the app looks up, with a stable product id per pack and per plan."""
    prices = [
        CatalogPrice(
            p.lookup_key,
            f"{APP_NAME}_{p.lookup_key}",
            f"{p.credits:,} credits",
            p.amount_cents,
            None,
            {"app": APP_NAME, "kind": "pack", "credits": str(p.credits)},
        )
        for p in PACKS.values()
    ]
    prices += [
        CatalogPrice(
            plan_lookup_key(plan, interval),
            f"{APP_NAME}_plan_{plan}",
            f"{plan.capitalize()} plan",
            cents,
            interval,
            {"app": APP_NAME, "kind": "plan", "plan": plan},
        )
        for (plan, interval), cents in sorted(PLAN_PRICES_CENTS.items())
    ]
    return prices


def handled_events() -> list[str]:
    return sorted(HANDLERS)


# --- Stripe ---------------------------------------------------------------------------------------


def stripe_client(stage: str) -> Any:
    import stripe

    key = os.environ.get("STRIPE_API_KEY") or read_parameter(secret_parameter_name(stage, "STRIPE_API_KEY"))
    if not key:
        raise SystemExit(
            f"no Stripe key: set STRIPE_API_KEY or the SSM parameter {secret_parameter_name(stage, 'STRIPE_API_KEY')}"
        )
    options: dict[str, Any] = {"max_network_retries": 2}
    if os.environ.get("STRIPE_API_BASE"):
        options["base_addresses"] = {"api": os.environ["STRIPE_API_BASE"]}
    return stripe.StripeClient(key, **options)


def mismatch(existing: dict[str, Any], wanted: CatalogPrice) -> str | None:
    recurring = existing.get("recurring") or {}
    have = (existing.get("unit_amount"), existing.get("currency"), recurring.get("interval"))
    want = (wanted.unit_amount, CURRENCY, wanted.interval)
    return None if have == want else f"{wanted.lookup_key}: Stripe has {have}, the catalog says {want}"


def ensure_product(client: Any, price: CatalogPrice, created: list[str]) -> None:
    import stripe

    try:
        client.v1.products.retrieve(price.product_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        client.v1.products.create(
            params={"id": price.product_id, "name": f"imagegen {price.product_name}", "metadata": {"app": APP_NAME}}
        )
        created.append(price.product_id)


def create_price(client: Any, price: CatalogPrice, transfer: bool = False) -> None:
    params: dict[str, Any] = {
        "product": price.product_id,
        "unit_amount": price.unit_amount,
        "currency": CURRENCY,
        "lookup_key": price.lookup_key,
        "metadata": price.metadata,
    }
    if price.interval:
        params["recurring"] = {"interval": price.interval}
    if transfer:
        params["transfer_lookup_key"] = True
    client.v1.prices.create(params=params)


def existing_prices(client: Any, keys: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(keys), LOOKUP_BATCH):
        listed = client.v1.prices.list(params={"lookup_keys": keys[start : start + LOOKUP_BATCH], "limit": 100})
        found.update({p["lookup_key"]: p for p in (item.to_dict() for item in listed.data)})
    return found


def ensure_prices(client: Any, replace_mismatched: bool) -> dict[str, list[str]]:
    """Create the catalog's missing products and prices; report (or replace) the mismatched ones."""
    report: dict[str, list[str]] = {
        "products_created": [],
        "prices_created": [],
        "prices_existing": [],
        "prices_reactivated": [],
        "mismatched": [],
        "replaced": [],
    }
    wanted = catalog()
    found = existing_prices(client, [p.lookup_key for p in wanted])
    for price in wanted:
        existing = found.get(price.lookup_key)
        if existing is None:
            ensure_product(client, price, report["products_created"])
            create_price(client, price)
            report["prices_created"].append(price.lookup_key)
            continue
        problem = mismatch(existing, price)
        if problem and replace_mismatched:
            ensure_product(client, price, report["products_created"])
            create_price(client, price, transfer=True)
            report["replaced"].append(price.lookup_key)
        elif problem:
            report["mismatched"].append(problem)
        elif not existing.get("active", True):
            client.v1.prices.update(existing["id"], params={"active": True})
            report["prices_reactivated"].append(price.lookup_key)
        else:
            report["prices_existing"].append(price.lookup_key)
    return report


def endpoints() -> tuple[Endpoint, ...]:
    """The platform's endpoint and the Connect one."""
    return (
        Endpoint("account", WEBHOOK_PATH, tuple(handled_events()), "STRIPE_WEBHOOK_SECRET"),
        Endpoint("connect", CONNECT_WEBHOOK_PATH, tuple(sorted(CONNECT_EVENTS)), "STRIPE_CONNECT_WEBHOOK_SECRET"),
    )


def find_endpoint(client: Any, stage: str, url: str, kind: str = "account") -> dict[str, Any] | None:
    """The stage's endpoint of this kind (by its metadata; one made before `kind` existed is the
    platform's), or the one at `url`."""
    for item in client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter():
        endpoint = item.to_dict()
        metadata = endpoint.get("metadata") or {}
        ours = (metadata.get("app"), metadata.get("stage"), metadata.get("kind", "account")) == (APP_NAME, stage, kind)
        if ours or endpoint.get("url") == url:
            return endpoint
    return None


def ensure_webhook(
    client: Any, stage: str, url: str, secret_stored: bool, recreate: bool, spec: Endpoint | None = None
) -> tuple[str, str | None]:
    """(what was done, the new signing secret if an endpoint was created)."""
    spec = spec or endpoints()[0]
    events = list(spec.events)
    endpoint = find_endpoint(client, stage, url, spec.kind)
    if endpoint is not None and not secret_stored:
        if not recreate:
            raise SystemExit(
                f"webhook endpoint {endpoint['id']} exists but its signing secret is not in SSM, and Stripe "
                "shows it only at creation: rerun with --recreate-webhook (it is deleted and created anew)"
            )
        client.v1.webhook_endpoints.delete(endpoint["id"])
        endpoint = None
    if endpoint is None:
        return "created", create_endpoint(client, stage, url, spec)
    current = (endpoint.get("url"), sorted(endpoint.get("enabled_events") or []), endpoint.get("status"))
    if current != (url, events, "enabled"):
        client.v1.webhook_endpoints.update(endpoint["id"], params={"url": url, "enabled_events": events, "disabled": False})
        return "updated", None
    return "unchanged", None


def create_endpoint(client: Any, stage: str, url: str, spec: Endpoint) -> str:
    """A new endpoint; its signing secret (Stripe shows it in this answer only)."""
    import stripe

    params: dict[str, Any] = {
        "url": url,
        "enabled_events": list(spec.events),
        "api_version": stripe.api_version,
        "description": f"{APP_NAME} {stage}" + (" (Connect)" if spec.connect else ""),
        "metadata": spec.metadata(stage),
    }
    if spec.connect:
        params["connect"] = True
    return str(client.v1.webhook_endpoints.create(params=params)["secret"])


# --- AWS ------------------------------------------------------------------------------------------


def read_parameter(name: str) -> str | None:
    import boto3

    ssm = boto3.client("ssm")
    try:
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def store_secret(name: str, value: str, what: str = "Stripe webhook signing secret") -> None:
    import boto3

    boto3.client("ssm").put_parameter(
        Name=name,
        Value=value,
        Type="SecureString",
        Overwrite=True,
        Description=f"{what} (scripts/stripe_setup.py)",
    )


def endpoint_url(stage: str) -> str:
    """The deployed API's invoke URL: the stack's `EndpointURL` output."""
    import boto3

    stack = boto3.client("cloudformation").describe_stacks(StackName=f"{APP_NAME}-{stage}")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs["EndpointURL"]


def run(stage: str, url: str | None, replace_mismatched: bool = False, recreate_webhook: bool = False) -> dict[str, Any]:
    client = stripe_client(stage)
    report: dict[str, Any] = ensure_prices(client, replace_mismatched)
    base = (url or endpoint_url(stage)).rstrip("/")
    for spec in endpoints():
        prefix = "connect_webhook" if spec.connect else "webhook"
        report.update(setup_endpoint(client, stage, base + spec.path, spec, recreate_webhook, prefix))
    return report


def setup_endpoint(client: Any, stage: str, url: str, spec: Endpoint, recreate: bool, prefix: str) -> dict[str, Any]:
    """One endpoint made or updated; a new signing secret goes straight into its SSM parameter."""
    parameter = secret_parameter_name(stage, spec.secret)
    action, secret = ensure_webhook(client, stage, url, read_parameter(parameter) is not None, recreate, spec)
    if secret:
        store_secret(parameter, secret, f"Stripe {'Connect ' if spec.connect else ''}webhook signing secret")
    return {
        prefix: {"url": url, "action": action, "events": list(spec.events)},
        f"{prefix}_secret_parameter": parameter,
        f"{prefix}_secret_stored": bool(secret),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stripe_setup.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--url", help="the API's base URL (default: the stack's EndpointURL output)")
    parser.add_argument("--replace-mismatched", action="store_true")
    parser.add_argument("--recreate-webhook", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.stage, args.url, args.replace_mismatched, args.recreate_webhook)
    print(json.dumps(report, indent=2))
    if report["mismatched"]:
        print("prices differ from the catalog (see `mismatched`): rerun with --replace-mismatched", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
