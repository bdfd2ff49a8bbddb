"""IFTTT's Realtime API: when an event matches a trigger someone's applet uses, tell IFTTT to
poll that trigger now instead of on its own schedule (about hourly).

- Which applets: IFTTT names each applet's trigger with a `trigger_identity` when it polls
  (`POST /ifttt/v1/triggers/{slug}`); the poll records it on the workspace's row of kind "ifttt"
  for that trigger (a webhook endpoint listening to the trigger's event). Identities not polled
  for IDENTITY_TTL_S are left out (the applet was turned off).
- How: the same machinery as webhooks (a delivery row per event, attempts from the webhooks
  worker, never inline), one `POST {IFTTT_REALTIME_URL}/v1/notifications` with
  `IFTTT-Service-Key` and `{"data": [{"trigger_identity": …}, …]}`; `X-Request-ID` is a UUID
  derived from the delivery and attempt. A few attempts only (ATTEMPTS): IFTTT's polling covers
  a notification that never got through.
"""

from __future__ import annotations

import json
import uuid
from typing import Final

from chalicelib.secrets import secret
from chalicelib.settings import get_settings
from chalicelib.store.models import WebhookEndpointModel
from chalicelib.webhooks import ssrf, transport
from chalicelib.webhooks.errors import UnsafeUrl

IDENTITY_TTL_S: Final = 7 * 86400
NOTIFY_PATH: Final = "/v1/notifications"
ATTEMPTS: Final = 4  # now, 5 s, 5 min, 30 min of the Standard Webhooks schedule
MAX_PER_REQUEST: Final = 1000


def active_identities(endpoint: WebhookEndpointModel, now_epoch: int) -> list[str]:
    """The trigger identities IFTTT polled within IDENTITY_TTL_S, most recently polled first."""
    seen = endpoint.trigger_identities.as_dict() if endpoint.trigger_identities is not None else {}
    fresh = [(int(at), str(identity)) for identity, at in seen.items() if now_epoch - int(at) <= IDENTITY_TTL_S]
    return [identity for _, identity in sorted(fresh, reverse=True)][:MAX_PER_REQUEST]


def notify(endpoint: WebhookEndpointModel, delivery_id: str, attempt: int, now_epoch: int) -> transport.Answer:
    """One Realtime API call for the endpoint's active identities (an Answer, as for a webhook)."""
    identities = active_identities(endpoint, now_epoch)
    key = secret("IFTTT_SERVICE_KEY", required=False)
    if not identities or not key:
        return transport.Answer(None, 0, None, "no active IFTTT trigger identity" if key else "IFTTT_SERVICE_KEY is not set")
    url = get_settings().ifttt_realtime_url.rstrip("/") + NOTIFY_PATH
    try:
        target = ssrf.check_on_delivery(url)
    except UnsafeUrl as refused:
        return transport.Answer(None, 0, None, f"refused: {refused.message}")
    body = json.dumps({"data": [{"trigger_identity": identity} for identity in identities]}, separators=(",", ":"))
    headers = {
        "IFTTT-Service-Key": key,
        "Accept": "application/json",
        "Accept-Charset": "utf-8",
        "X-Request-ID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{delivery_id}:{attempt}")),
    }
    return transport.post(target, body, headers)
