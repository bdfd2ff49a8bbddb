"""A local fake of the Stripe API for the local stack and the tests (loopback only).

It speaks Stripe's wire format: form-encoded requests with bracket notation
(`metadata[workspace_id]=…`, `line_items[0][price]=…`), JSON objects with `object`/`id`/
`livemode` built from Stripe's published fixtures (stripe_fixtures.json beside this module,
vendored from stripe/openapi), `Idempotency-Key` replays, and 402 `card_error`s for
declined off-session payments. It covers what the gateway uses: prices by lookup key,
customers, checkout sessions (created, read, expired), payment intents, subscriptions; and
what scripts/stripe_setup.py uses: products (created, read), prices (created with a lookup key,
moved with `transfer_lookup_key`, deactivated and reactivated), webhook endpoints (listed,
created with their signing secret, updated, deleted); and for marketplace payouts, Stripe
Connect: Express accounts (created, read), account links, transfers (refused, like Stripe, to an
account whose `transfers` capability is not active). `FakeStripe(catalog=False)` starts with
no products or prices, like a new account.

Dev/test controls (not Stripe): `POST /_fake/checkout/<id>/complete` pays a session as a customer
would and delivers the resulting events, signed, to the webhook URL; `POST
/_fake/customers/<id>/decline` makes that customer's next off-session payments fail;
`POST /_fake/events` signs and delivers an event you give it; `POST /_fake/accounts/<id>/onboard`
finishes a connected account's onboarding as its owner would (`payouts_enabled`, the transfers
capability active) and delivers its signed `account.updated` to the Connect webhook URL.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS, plan_lookup_key

# Stripe's published example objects (stripe/openapi fixtures3.json, MIT), vendored: only the kinds used here.
FIXTURES = Path(__file__).resolve().parent / "stripe_fixtures.json"


def _load_fixtures() -> dict[str, Any]:
    path = Path(os.environ.get("STRIPE_FIXTURES", str(FIXTURES)))
    if path.is_file():
        return json.loads(path.read_text())["resources"]
    return {}


_FIXTURES: dict[str, Any] | None = None


def stripe_object(kind: str, **fields: Any) -> dict[str, Any]:
    """A Stripe object of `kind` with the real field set (from the fixtures), overridden by `fields`."""
    global _FIXTURES
    if _FIXTURES is None:
        _FIXTURES = _load_fixtures()
    base = copy.deepcopy(_FIXTURES.get(kind, {}))
    base.update({"object": kind, "livemode": False})
    base.update(fields)
    return base


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation → nested dicts, with all-digit keys turned into lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


def event_for(kind: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    return stripe_object(
        "event",
        id=new_id("evt"),
        type=kind,
        created=created or int(time.time()),
        data={"object": obj},
        api_version="2025-09-30.clover",
        pending_webhooks=1,
        request={"id": None, "idempotency_key": None},
    )


class FakeStripe:
    """The fake's state and its WSGI app. Thread-safe; serve it with `start()`."""

    def __init__(self, webhook_url: str | None = None, webhook_secret: str | None = None, *, catalog: bool = True) -> None:
        self.lock = threading.Lock()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self.in_flight: set[str] = set()
        self.declining: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.delivered: list[dict[str, Any]] = []
        self.accounts: dict[str, dict[str, Any]] = {}  # Stripe Connect (marketplace payouts)
        self.transfers: dict[str, dict[str, Any]] = {}
        self.connect_webhook_url: str | None = None
        self.connect_webhook_secret: str | None = None
        self.prices: dict[str, dict[str, Any]] = {}  # by lookup key: the price that holds it now
        self.all_prices: dict[str, dict[str, Any]] = {}  # by id, with those whose lookup key moved on
        if catalog:
            self._add_catalog()
        self.base_url = ""
        self._server: Any = None

    def _add_catalog(self) -> None:
        """Every price of our catalog, as `stripe_setup` would have created them."""
        for pack in PACKS.values():
            self._add_price(pack.lookup_key, pack.amount_cents, None, new_id("prod"))
        for (plan, interval), cents in PLAN_PRICES_CENTS.items():
            self._add_price(plan_lookup_key(plan, interval), cents, interval, new_id("prod"))

    def _add_price(
        self, lookup_key: str | None, cents: int, interval: str | None, product: str, metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        recurring = (
            {"interval": interval, "interval_count": 1, "usage_type": "licensed", "meter": None, "trial_period_days": None}
            if interval
            else None
        )
        price = stripe_object(
            "price",
            id=new_id("price"),
            lookup_key=lookup_key,
            unit_amount=cents,
            unit_amount_decimal=str(cents),
            currency="usd",
            active=True,
            recurring=recurring,
            type="recurring" if interval else "one_time",
            product=product,
            metadata=metadata or {},
            created=int(time.time()),
        )
        self.all_prices[price["id"]] = price
        if lookup_key:
            self.prices[lookup_key] = price
        return price

    @property
    def writes(self) -> list[tuple[str, str]]:
        """The Stripe API requests that could change something (not the dev controls)."""
        return [
            (method, path) for method, path, _ in self.requests if method in ("POST", "DELETE") and not path.startswith("/_fake")
        ]

    # --- HTTP ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            status, body = self.route(request)
        except KeyError as exc:
            status, body = (
                404,
                {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": f"No such object: {exc}"}},
            )
        response = Response(
            json.dumps(body), status=status, content_type="application/json", headers={"Request-Id": new_id("req")}
        )
        return response(environ, start_response)

    def route(self, request: Request) -> tuple[int, dict[str, Any]]:
        path, method = request.path, request.method
        params = (
            decode_form(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
            if method == "POST"
            else decode_form(parse_qsl(request.query_string.decode(), keep_blank_values=True))
        )
        with self.lock:
            self.requests.append((method, path, params))
        key = request.headers.get("Idempotency-Key")
        if method == "POST" and key and not path.startswith("/_fake"):
            return self._once(key, method, path, params)
        return self._dispatch(method, path, params)

    def _once(self, key: str, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Like Stripe: a key's first answer is every later answer, and a request arriving while
        the key's first is still in flight is refused (409 idempotency_error), never run twice."""
        with self.lock:
            if key in self.idempotent:
                return self.idempotent[key]
            if key in self.in_flight:
                message = "There is currently another in-progress request using this Idempotent Key"
                return 409, {"error": {"type": "idempotency_error", "message": message}}
            self.in_flight.add(key)
        try:
            answer = self._dispatch(method, path, params)
            with self.lock:
                self.idempotent[key] = answer
            return answer
        finally:
            with self.lock:
                self.in_flight.discard(key)

    def _dispatch(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        resources = {
            "prices": self._prices,
            "products": self._products,
            "customers": self._customers,
            "checkout": self._checkout,
            "payment_intents": self._payment_intents,
            "subscriptions": self._subscriptions,
            "webhook_endpoints": self._webhook_endpoints,
            "accounts": self._accounts,
            "account_links": self._account_links,
            "transfers": self._transfers,
        }
        if len(parts) >= 2 and parts[0] == "v1" and parts[1] in resources:
            return resources[parts[1]](method, parts[2:], params)
        if parts[:1] == ["_fake"]:
            return self._controls(parts[1:], params)
        if parts[:1] == ["checkout"] and len(parts) == 2:
            return 200, {"checkout_session": parts[1], "pay": f"POST {self.base_url}/_fake/checkout/{parts[1]}/complete"}
        return self._unknown(path)

    @staticmethod
    def _unknown(path: str) -> tuple[int, dict[str, Any]]:
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})"}}

    @staticmethod
    def _listing(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
        return {"object": "list", "data": data, "has_more": False, "url": url}

    # --- products and prices --------------------------------------------------------------------

    def _products(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and rest:
            return 200, self.products[rest[0]]
        if method == "POST" and not rest:
            product_id = params.get("id") or new_id("prod")
            if product_id in self.products:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_already_exists",
                        "message": f"Product already exists: {product_id}",
                    }
                }
            self.products[product_id] = stripe_object(
                "product",
                id=product_id,
                name=params.get("name"),
                active=True,
                metadata=params.get("metadata") or {},
                created=int(time.time()),
            )
            return 200, self.products[product_id]
        return self._unknown(f"/v1/products/{'/'.join(rest)}")

    def _prices(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and not rest:
            keys = params.get("lookup_keys") or []
            data = [self.prices[k] for k in keys if k in self.prices]
            if "active" in params:
                data = [p for p in data if p["active"] == (params["active"] == "true")]
            return 200, self._listing(data, "/v1/prices")
        if method == "GET":
            return 200, self.all_prices[rest[0]]
        if method == "POST" and rest:
            price = self.all_prices[rest[0]]
            if "active" in params:
                price["active"] = params["active"] == "true"
            return 200, price
        return self._create_price(params)

    def _create_price(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Like Stripe: a lookup key belongs to one price; `transfer_lookup_key` moves it."""
        key = params.get("lookup_key")
        with self.lock:
            holder = self.prices.get(key) if key else None
            if holder is not None and params.get("transfer_lookup_key") != "true":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "param": "lookup_key",
                        "message": f"A price ({holder['id']}) already uses that lookup key.",
                    }
                }
            if holder is not None:
                holder["lookup_key"] = None
            interval = (params.get("recurring") or {}).get("interval")
            price = self._add_price(key, int(params["unit_amount"]), interval, params["product"], params.get("metadata"))
            price["currency"] = params.get("currency", "usd")
        return 200, price

    # --- customers, checkout, payments ----------------------------------------------------------

    def _customers(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and not rest:
            customer = stripe_object(
                "customer",
                id=new_id("cus"),
                email=params.get("email"),
                metadata=params.get("metadata") or {},
                created=int(time.time()),
            )
            self.customers[customer["id"]] = customer
            return 200, customer
        return 200, self.customers[rest[0]]

    def _checkout(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if rest[:1] != ["sessions"]:
            return self._unknown(f"/v1/checkout/{'/'.join(rest)}")
        if method == "POST" and len(rest) == 1:
            return 200, self._create_session(params)
        if method == "POST" and rest[-1] == "expire":
            return self._expire_session(rest[1])
        return 200, self._public(self.sessions[rest[1]])

    def _payment_intents(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and not rest:
            return self._create_intent(params)
        return 200, self.intents[rest[0]]

    def _subscriptions(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, self.subscriptions[rest[0]]

    # --- webhook endpoints ----------------------------------------------------------------------

    def _webhook_endpoints(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and not rest:
            return 200, self._listing(list(self.endpoints.values()), "/v1/webhook_endpoints")
        if method == "GET":
            return 200, self.endpoints[rest[0]]
        if method == "DELETE":
            self.endpoints.pop(rest[0])
            return 200, {"id": rest[0], "object": "webhook_endpoint", "deleted": True}
        if rest:
            return 200, self._update_endpoint(self.endpoints[rest[0]], params)
        return 200, self._create_endpoint(params)

    def _create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """The signing secret is in the answer to the creation only, as with Stripe."""
        endpoint = stripe_object(
            "webhook_endpoint",
            id=new_id("we"),
            url=params["url"],
            status="enabled",
            enabled_events=params.get("enabled_events") or [],
            metadata=params.get("metadata") or {},
            api_version=params.get("api_version"),
            description=params.get("description"),
            created=int(time.time()),
        )
        self.endpoints[endpoint["id"]] = endpoint
        return {**endpoint, "secret": f"whsec_{endpoint['id']}"}

    @staticmethod
    def _update_endpoint(endpoint: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        for name in ("url", "enabled_events", "description", "metadata"):
            if name in params:
                endpoint[name] = params[name]
        if "disabled" in params:
            endpoint["status"] = "disabled" if params["disabled"] == "true" else "enabled"
        return endpoint

    # --- Stripe Connect (marketplace payouts) ---------------------------------------------------

    def _accounts(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and rest:
            return 200, self.accounts[rest[0]]
        if method == "POST" and not rest:
            return 200, self._create_account(params)
        return self._unknown(f"/v1/accounts/{'/'.join(rest)}")

    def _create_account(self, params: dict[str, Any]) -> dict[str, Any]:
        """A new connected account: nothing enabled until its owner finishes onboarding."""
        requested = {name: "inactive" for name in (params.get("capabilities") or {})}
        account = {
            "id": new_id("acct"),
            "object": "account",
            "type": params.get("type", "express"),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "capabilities": requested,
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "country": params.get("country", "US"),
            "default_currency": "usd",
            "email": params.get("email"),
            "created": int(time.time()),
            "requirements": {"currently_due": ["external_account", "tos_acceptance.date"], "disabled_reason": None},
        }
        with self.lock:
            self.accounts[account["id"]] = account
        return account

    def _account_links(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method != "POST" or rest:
            return self._unknown(f"/v1/account_links/{'/'.join(rest)}")
        account = self.accounts[params["account"]]
        if params.get("type") not in ("account_onboarding", "account_update"):
            return 400, {"error": {"type": "invalid_request_error", "param": "type", "message": "Invalid type."}}
        now = int(time.time())
        return 200, {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"{self.base_url}/connect/onboarding/{account['id']}",
        }

    def _transfers(self, method: str, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "GET" and rest:
            return 200, self.transfers[rest[0]]
        if method != "POST" or rest:
            return self._unknown(f"/v1/transfers/{'/'.join(rest)}")
        account = self.accounts.get(params.get("destination") or "")
        if account is None or (account.get("capabilities") or {}).get("transfers") != "active":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "insufficient_capabilities_for_transfer",
                    "param": "destination",
                    "message": "Your destination account needs to have at least one of the following capabilities "
                    "enabled: transfers, crypto_transfers, legacy_payments",
                }
            }
        transfer = {
            "id": new_id("tr"),
            "object": "transfer",
            "amount": int(params["amount"]),
            "amount_reversed": 0,
            "currency": params.get("currency", "usd"),
            "destination": account["id"],
            "metadata": params.get("metadata") or {},
            "reversed": False,
            "livemode": False,
            "created": int(time.time()),
        }
        with self.lock:
            self.transfers[transfer["id"]] = transfer
        return 200, transfer

    def onboard(self, account_id: str) -> list[dict[str, Any]]:
        """The account's owner finished onboarding: payouts enabled; `account.updated` delivered."""
        with self.lock:
            account = self.accounts[account_id]
            account.update(payouts_enabled=True, charges_enabled=True, details_submitted=True)
            account["capabilities"] = {**account["capabilities"], "transfers": "active"}
            account["requirements"] = {"currently_due": [], "disabled_reason": None}
        event = event_for("account.updated", copy.deepcopy(account))
        event["account"] = account_id  # Connect events name the connected account
        self.deliver_connect(event)
        return [event]

    def deliver_connect(self, event: dict[str, Any]) -> int | None:
        """POST a Connect event to the Connect webhook URL, signed with the Connect secret."""
        self.delivered.append(event)
        return self._post_signed(event, self.connect_webhook_url, self.connect_webhook_secret)

    # --- dev controls (not Stripe) --------------------------------------------------------------

    def _controls(self, rest: list[str], params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if rest[:1] == ["checkout"] and rest[-1] == "complete":
            return 200, {"events": [e["id"] for e in self.complete_checkout(rest[1])]}
        if rest[:1] == ["customers"] and rest[-1] == "decline":
            self.declining.add(rest[1])
            return 200, {"declining": rest[1]}
        if rest[:1] == ["accounts"] and rest[-1] == "onboard":
            return 200, {"events": [e["id"] for e in self.onboard(rest[1])]}
        if rest[:1] == ["events"]:
            event = json.loads(params["event"])
            self.deliver(event)
            return 200, {"delivered": event["id"]}
        return self._unknown(f"/_fake/{'/'.join(rest)}")

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        session_id = new_id("cs_test")
        line = (params.get("line_items") or [{}])[0]
        price = self.all_prices.get(line.get("price") or "")
        if price is None:
            raise KeyError(line.get("price"))
        session = stripe_object(
            "checkout.session",
            id=session_id,
            mode=params.get("mode", "payment"),
            status="open",
            payment_status="unpaid",
            customer=params.get("customer"),
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata") or {},
            amount_total=price["unit_amount"],
            amount_subtotal=price["unit_amount"],
            currency="usd",
            url=f"{self.base_url}/checkout/{session_id}",
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            payment_intent=None,
            subscription=None,
            invoice=None,
            created=int(time.time()),
            expires_at=int(time.time()) + 86_400,
        )
        session["_price"] = price["id"]
        session["_payment_intent_data"] = params.get("payment_intent_data") or {}
        session["_subscription_data"] = params.get("subscription_data") or {}
        self.sessions[session_id] = session
        return self._public(session)

    def _expire_session(self, session_id: str) -> tuple[int, dict[str, Any]]:
        """Like Stripe: only an open session can be expired (then it can never be paid)."""
        with self.lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "checkout_session_not_open",
                        "message": f"Only Checkout Sessions with status `open` can be expired "
                        f"(this one is `{session['status']}`).",
                    }
                }
            session.update(status="expired")
        return 200, self._public(session)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _intent(
        self,
        amount: int,
        customer: str | None,
        metadata: dict[str, Any],
        status: str,
        payment_method: str | None = None,
        setup_future_usage: str | None = None,
    ) -> dict[str, Any]:
        intent = stripe_object(
            "payment_intent",
            id=new_id("pi"),
            amount=amount,
            amount_received=amount if status == "succeeded" else 0,
            currency="usd",
            customer=customer,
            metadata=metadata,
            status=status,
            created=int(time.time()),
            payment_method=payment_method or new_id("pm"),
            setup_future_usage=setup_future_usage,
            latest_charge=new_id("ch"),
            last_payment_error=None,
        )
        self.intents[intent["id"]] = intent
        return intent

    def _create_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer = params.get("customer")
        amount = int(params.get("amount", 0))
        metadata = params.get("metadata") or {}
        if customer in self.declining:
            intent = self._intent(amount, customer, metadata, "requires_payment_method", params.get("payment_method"))
            intent["last_payment_error"] = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
            self.deliver(event_for("payment_intent.payment_failed", intent))
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "payment_intent": intent,
                }
            }
        intent = self._intent(amount, customer, metadata, "succeeded", params.get("payment_method"))
        self.deliver(event_for("payment_intent.succeeded", intent))
        return 200, intent

    def charge_for(self, intent: dict[str, Any], refunded: int = 0) -> dict[str, Any]:
        return stripe_object(
            "charge",
            id=intent["latest_charge"],
            amount=intent["amount"],
            amount_captured=intent["amount"],
            amount_refunded=refunded,
            refunded=refunded >= intent["amount"],
            payment_intent=intent["id"],
            customer=intent["customer"],
            metadata={},
            paid=True,
            status="succeeded",
            currency="usd",
            created=int(time.time()),
        )

    # --- the customer pays ----------------------------------------------------------------------

    def complete_checkout(self, session_id: str) -> list[dict[str, Any]]:
        """The customer pays: the session completes and the events Stripe would send are delivered."""
        with self.lock:
            session = self.sessions[session_id]
            if session["status"] != "open":  # paid already, or expired
                return []
            session.update(status="complete", payment_status="paid")
        events = self._paid_pack(session) if session["mode"] == "payment" else self._paid_subscription(session)
        for event in events:
            self.deliver(event)
        return events

    def _paid_pack(self, session: dict[str, Any]) -> list[dict[str, Any]]:
        pid = session["_payment_intent_data"]
        intent = self._intent(
            session["amount_total"],
            session["customer"],
            pid.get("metadata") or {},
            "succeeded",
            setup_future_usage=pid.get("setup_future_usage"),
        )
        session["payment_intent"] = intent["id"]
        return [event_for("checkout.session.completed", self._public(session)), event_for("payment_intent.succeeded", intent)]

    def _paid_subscription(self, session: dict[str, Any]) -> list[dict[str, Any]]:
        price = self.all_prices[session["_price"]]
        now = int(time.time())
        period_end = now + (365 if price["recurring"]["interval"] == "year" else 30) * 86_400
        subscription = stripe_object(
            "subscription",
            id=new_id("sub"),
            customer=session["customer"],
            status="active",
            metadata=session["_subscription_data"].get("metadata") or {},
            cancel_at_period_end=False,
            created=now,
            start_date=now,
            items={
                "object": "list",
                "has_more": False,
                "url": "/v1/subscription_items",
                "data": [
                    {
                        "object": "subscription_item",
                        "id": new_id("si"),
                        "price": price,
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": period_end,
                    }
                ],
            },
        )
        invoice = self._first_invoice(subscription, price, now, period_end)
        subscription["latest_invoice"] = invoice["id"]
        self.subscriptions[subscription["id"]] = subscription
        session.update(subscription=subscription["id"], invoice=invoice["id"])
        return [
            event_for("customer.subscription.created", subscription, created=now),
            event_for("checkout.session.completed", self._public(session), created=now),
            event_for("invoice.paid", invoice, created=now),
        ]

    @staticmethod
    def _first_invoice(subscription: dict[str, Any], price: dict[str, Any], now: int, period_end: int) -> dict[str, Any]:
        invoice_id = new_id("in")
        return stripe_object(
            "invoice",
            id=invoice_id,
            customer=subscription["customer"],
            status="paid",
            billing_reason="subscription_create",
            amount_paid=price["unit_amount"],
            amount_due=price["unit_amount"],
            total=price["unit_amount"],
            subscription=subscription["id"],
            metadata={},
            created=now,
            period_start=now,
            period_end=period_end,
            parent={
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"subscription": subscription["id"], "metadata": subscription["metadata"]},
            },
            lines={
                "object": "list",
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
                "data": [{"object": "line_item", "id": new_id("il"), "amount": price["unit_amount"], "price": price}],
            },
        )

    def deliver(self, event: dict[str, Any]) -> int | None:
        """POST the event to the webhook URL, signed like Stripe does (when configured)."""
        self.delivered.append(event)
        return self._post_signed(event, self.webhook_url, self.webhook_secret)

    @staticmethod
    def _post_signed(event: dict[str, Any], url: str | None, secret: str | None) -> int | None:
        if not (url and secret):
            return None
        import stripe

        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(payload, secret)
        request = urllib.request.Request(
            url,
            data=payload.encode(),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except OSError:
            return None

    # --- serving ------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = make_server(host, port, self, threaded=True)
        self.base_url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="fake-stripe", daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
