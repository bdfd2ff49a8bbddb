"""Expo's push service through the official SDK (`exponent_server_sdk`): messages are sent in
batches (`POST {EXPO_PUSH_URL}/--/api/v2/push/send` → one ticket per message), and the tickets'
receipts are read later (`POST .../push/getReceipts` → receipts by ticket id). `EXPO_PUSH_URL`
points the client at a loopback fake that speaks the same format (chalicelib/local/fake_expo.py)
in tests and in the local stack; `EXPO_ACCESS_TOKEN` (a secret: env or
`EXPO_ACCESS_TOKEN_PARAM`), when set, is sent as Expo asks (enhanced push security).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from chalicelib.bootstrap import on_reset
from chalicelib.settings import get_settings

DEVICE_NOT_REGISTERED = "DeviceNotRegistered"
TIMEOUT_S = 10


@dataclass(frozen=True)
class Ticket:
    """Expo's answer for one message: a ticket id to read the receipt of, or an error."""

    ticket_id: str | None
    error: str | None


@cache
def _client() -> Any:
    import requests
    from exponent_server_sdk import PushClient

    from chalicelib.secrets import secret

    session = requests.Session()
    session.headers.update({"accept": "application/json", "accept-encoding": "gzip, deflate", "content-type": "application/json"})
    token = secret("EXPO_ACCESS_TOKEN", required=False)
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return PushClient(host=get_settings().expo_push_url.rstrip("/"), session=session, timeout=TIMEOUT_S)


@on_reset
def reset_client() -> None:
    _client.cache_clear()


def send(messages: list[tuple[str, str, str, dict[str, Any]]]) -> list[Ticket]:
    """(token, title, body, data) per message → a ticket each, in order. A failure of the whole
    request (the SDK's PushServerError, a connection error) propagates: the caller retries."""
    from exponent_server_sdk import PushMessage

    pushed = [PushMessage(to=token, title=title, body=body, data=data, sound="default") for token, title, body, data in messages]
    tickets = _client().publish_multiple(pushed)
    return [Ticket(t.id or None, None if t.is_success() else str((t.details or {}).get("error") or t.message)) for t in tickets]


def receipts(ticket_ids: list[str]) -> dict[str, str | None]:
    """The receipts Expo has for these tickets: id → None (delivered to Apple/Google) or the
    error; tickets without a receipt yet are absent."""
    from exponent_server_sdk import PushTicket

    asked = [PushTicket(None, "ok", "", None, ticket_id) for ticket_id in ticket_ids]
    found = _client().check_receipts_multiple(asked)
    return {r.id: None if r.is_success() else str((r.details or {}).get("error") or r.message) for r in found}
