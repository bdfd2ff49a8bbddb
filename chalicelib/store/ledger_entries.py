"""Reading a wallet's ledger (written only by the accounting core): pages newest first, the
latest few, a time range oldest first. Entry ids are `led_<ULID>`, so time is a key range."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.store.models import LedgerEntryModel


def page(workspace_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[LedgerEntryModel], dict[str, Any] | None]:
    """One page of entries, newest first, and where the next starts (None on the last)."""
    result = LedgerEntryModel.query(workspace_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key


def latest(workspace_id: str, limit: int) -> list[LedgerEntryModel]:
    return list(LedgerEntryModel.query(workspace_id, scan_index_forward=False, limit=limit))


def between(workspace_id: str, start: datetime, end: datetime) -> Iterator[LedgerEntryModel]:
    """Entries created in [start, end], oldest first, read lazily page by page."""
    low, high = f"led_{ids.ulid_bound(start, upper=False)}", f"led_{ids.ulid_bound(end, upper=True)}"
    return iter(LedgerEntryModel.query(workspace_id, LedgerEntryModel.entry_id.between(low, high)))
