"""Which IFTTT trigger identities a realtime notification names: those polled within a week,
most recently polled first, at most one request's worth."""

from __future__ import annotations

from chalicelib.integrations.ifttt_realtime import IDENTITY_TTL_S, MAX_PER_REQUEST, active_identities
from chalicelib.store.models import WebhookEndpointModel

NOW = 1_800_000_000


def _row(identities: dict[str, int] | None) -> WebhookEndpointModel:
    return WebhookEndpointModel("ws_1", "whe_1", kind="ifttt", trigger_identities=identities)


def test_stale_identities_are_left_out_and_the_freshest_come_first() -> None:
    row = _row({"old": NOW - IDENTITY_TTL_S - 1, "edge": NOW - IDENTITY_TTL_S, "new": NOW - 5, "mid": NOW - 3600})
    assert active_identities(row, NOW) == ["new", "mid", "edge"]


def test_no_identities_and_the_request_bound() -> None:
    assert active_identities(_row(None), NOW) == []
    many = _row({f"id{n}": NOW - n for n in range(MAX_PER_REQUEST + 5)})
    found = active_identities(many, NOW)
    assert len(found) == MAX_PER_REQUEST and found[0] == "id0"
