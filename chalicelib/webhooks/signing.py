"""Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

The `standardwebhooks` reference library signs; during a secret rotation both the new and the
previous secret sign, space-separated in one header, so receivers that still hold the old secret
keep verifying until they switch (the library's verifier accepts any matching signature).
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A new signing secret: `whsec_` + 32 random bytes in base64 (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(message_id: str, body: str, signing_secrets: list[str], at: float | None = None) -> dict[str, str]:
    """The three signature headers for `body`, signed with every secret in `signing_secrets`.

    The timestamp is the wall clock (receivers check it against theirs), not the app's clock."""
    from standardwebhooks.webhooks import Webhook

    moment = datetime.fromtimestamp(int(at if at is not None else time.time()), UTC)
    signatures = [Webhook(secret).sign(message_id, moment, body) for secret in signing_secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
