"""Usage reports from the daily rollups: O(days) items per query, never a ledger scan."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from chalicelib.accounting import keys
from chalicelib.accounting.periods import day_of
from chalicelib.store.models import RollupModel

FIELDS = ("jobs", "failed", "images", "credits", "cost_micro_usd", "input_tokens", "output_tokens", "provider_ms")
GROUPS = ("day", "provider", "user", "model")


def _rows(pk: str, start: str, end: str) -> list[RollupModel]:
    return list(RollupModel.query(pk, RollupModel.sort_key.between(start, end + "#~")))


def _accumulate(into: dict[str, dict[str, int]], key: str, row: RollupModel) -> None:
    target = into[key]
    for name in FIELDS:
        target[name] += int(getattr(row, name) or 0)


def _shape(groups: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [{"key": key, **values} for key, values in sorted(groups.items())]


def workspace_usage(workspace_id: str, start: datetime, end: datetime, group_by: str) -> list[dict[str, Any]]:
    """GET /v1/usage rows for one workspace."""
    first, last = day_of(start), day_of(end)
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    if group_by == "day":
        for row in _rows(f"WS#{workspace_id}", first, last):
            _accumulate(groups, row.sort_key, row)
    elif group_by in ("provider", "model"):
        for row in _rows(f"WSP#{workspace_id}", first, last):
            _, provider, model = row.sort_key.split("#", 2)
            _accumulate(groups, provider if group_by == "provider" else f"{provider}/{model}", row)
    elif group_by == "user":
        for row in _rows(f"WSU#{workspace_id}", first, last):
            _accumulate(groups, row.sort_key.split("#", 1)[1], row)
    return _shape(groups)


def platform_usage(start: datetime, end: datetime, group_by: str) -> list[dict[str, Any]]:
    """Platform-wide rows (admin): reads each shard's daily items."""
    first, last = day_of(start), day_of(end)
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for shard in range(keys.ROLLUP_SHARDS):
        if group_by == "day":
            for row in _rows(f"ALL#{shard}", first, last):
                _accumulate(groups, row.sort_key, row)
        else:
            for row in _rows(f"ALLP#{shard}", first, last):
                day, provider, model = row.sort_key.split("#", 2)
                keys_by_group = {"provider": provider, "model": f"{provider}/{model}", "provider_day": f"{day}#{provider}"}
                key = keys_by_group.get(group_by, day)
                _accumulate(groups, key, row)
    return _shape(groups)


def top_workspaces(start: datetime, end: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Workspaces by credits spent over the months the range touches."""
    months = sorted({day_of(start)[:7], day_of(end)[:7]})
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for month in months:
        for row in RollupModel.query(f"ALLW#{month}"):
            _accumulate(groups, row.sort_key, row)
    rows = _shape(groups)
    rows.sort(key=lambda r: r["credits"], reverse=True)
    return rows[:limit]
