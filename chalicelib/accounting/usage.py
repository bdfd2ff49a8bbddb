"""Usage reports from the daily rollups: O(days) items per query, never a ledger scan."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.accounting import keys
from chalicelib.accounting.periods import day_of
from chalicelib.domain import InvalidInput
from chalicelib.store.fanout import fan_out
from chalicelib.store.models import RollupModel

FIELDS = ("jobs", "failed", "images", "credits", "cost_micro_usd", "input_tokens", "output_tokens", "provider_ms")


class GroupBy(StrEnum):
    """Every way usage rows are grouped, in one vocabulary; each view offers a subset (below)."""

    DAY = "day"
    PROVIDER = "provider"
    MODEL = "model"  # "<provider>/<model>"
    USER = "user"
    PROVIDER_DAY = "provider_day"  # "<day>#<provider>": the admin overview's chart
    WORKSPACE_DAY_PROVIDER = "workspace_day_provider"  # ungrouped rollup rows: the usage CSV


ACCOUNT_GROUPINGS = (GroupBy.DAY, GroupBy.PROVIDER, GroupBy.USER, GroupBy.MODEL)  # GET /v1/usage (API.md)
ADMIN_GROUPINGS = (*ACCOUNT_GROUPINGS, GroupBy.PROVIDER_DAY)  # GET /admin/api/usage
REPORT_GROUPINGS = (*ADMIN_GROUPINGS, GroupBy.WORKSPACE_DAY_PROVIDER)  # GET /admin/api/reports/usage.csv
# Groupings read from the per-provider rollups, which have no user dimension.
BY_PROVIDER = frozenset({GroupBy.PROVIDER, GroupBy.MODEL, GroupBy.PROVIDER_DAY})


def grouping(value: str, offered: tuple[GroupBy, ...]) -> GroupBy:
    """`value` as one of the groupings a view offers; InvalidInput (field `group_by`) otherwise."""
    if value not in offered:
        raise InvalidInput(f"group_by must be one of {', '.join(offered)}", field="group_by")
    return GroupBy(value)


def _rows(pk: str, start: str, end: str) -> list[RollupModel]:
    return list(RollupModel.query(pk, RollupModel.sort_key.between(start, end + "#~")))


def _accumulate(into: dict[str, dict[str, int]], key: str, row: RollupModel) -> None:
    target = into[key]
    for name in FIELDS:
        target[name] += int(getattr(row, name) or 0)


def _shape(groups: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [{"key": key, **values} for key, values in sorted(groups.items())]


def _months(first: str, last: str) -> list[str]:
    """Every month (YYYY-MM) from the day `first` to the day `last`, inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last[:7]:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _group_key(group_by: str, day: str, provider: str, model: str, user: str = "") -> str:
    return {
        GroupBy.DAY: day,
        GroupBy.PROVIDER: provider,
        GroupBy.MODEL: f"{provider}/{model}",
        GroupBy.PROVIDER_DAY: f"{day}#{provider}",
        GroupBy.USER: user,
    }[GroupBy(group_by)]


def workspace_usage(
    workspace_id: str,
    start: datetime,
    end: datetime,
    group_by: str,
    *,
    provider: str | None = None,
    model: str | None = None,
    user_id: str | None = None,
) -> list[dict[str, Any]]:
    """Usage rows for one workspace (GET /v1/usage and the admin views), from its daily rollups.

    A provider/model filter reads the per-provider rollups, a user filter the per-user ones: one
    query either way, O(days x providers) items.
    """
    first, last = day_of(start), day_of(end)
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    if user_id is not None or group_by == GroupBy.USER:
        if provider or model or group_by in BY_PROVIDER:
            raise InvalidInput("usage by user has no provider or model breakdown", field="group_by")
        for row in _rows(f"WSU#{workspace_id}", first, last):
            day, user = row.sort_key.split("#", 1)
            if user_id is not None and user != user_id:
                continue
            _accumulate(groups, user if group_by == GroupBy.USER else day, row)
    elif group_by == GroupBy.DAY and not provider and not model:
        for row in _rows(f"WS#{workspace_id}", first, last):
            _accumulate(groups, row.sort_key, row)
    else:
        for row in _rows(f"WSP#{workspace_id}", first, last):
            day, row_provider, row_model = row.sort_key.split("#", 2)
            if (provider and row_provider != provider) or (model and row_model != model):
                continue
            _accumulate(groups, _group_key(group_by, day, row_provider, row_model), row)
    return _shape(groups)


def workspace_day_model_rows(
    workspace_id: str, start: datetime, end: datetime, *, provider: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    """One workspace's rollups by day, provider and model, ungrouped (the usage CSV's rows)."""
    out = []
    for row in _rows(f"WSP#{workspace_id}", day_of(start), day_of(end)):
        day, row_provider, row_model = row.sort_key.split("#", 2)
        if (provider and row_provider != provider) or (model and row_model != model):
            continue
        out.append(
            {"day": day, "provider": row_provider, "model": row_model, **{name: int(getattr(row, name) or 0) for name in FIELDS}}
        )
    return out


def platform_usage(
    start: datetime, end: datetime, group_by: str, *, provider: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    """Platform-wide rows (admin): each shard's daily items, ROLLUP_SHARDS queries in parallel."""
    first, last = day_of(start), day_of(end)
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    by_day = group_by == GroupBy.DAY and not provider and not model
    prefix = "ALL" if by_day else "ALLP"
    shards = fan_out(lambda shard: _rows(f"{prefix}#{shard}", first, last), range(keys.ROLLUP_SHARDS))
    for row in (row for rows in shards for row in rows):
        if by_day:
            _accumulate(groups, row.sort_key, row)
            continue
        day, row_provider, row_model = row.sort_key.split("#", 2)
        if (provider and row_provider != provider) or (model and row_model != model):
            continue
        _accumulate(groups, _group_key(group_by, day, row_provider, row_model), row)
    return _shape(groups)


def top_workspaces(start: datetime, end: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Workspaces by credits spent over the calendar months the range touches: every shard of
    each month (ROLLUP_SHARDS + 1 queries a month, in parallel; a workspace's month is the sum
    of its rows in all shards)."""
    groups: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    shards: list[int | None] = [None, *range(keys.ROLLUP_SHARDS)]
    month_keys = [keys.month_workspaces_key(m, s) for m in _months(day_of(start), day_of(end)) for s in shards]
    for shard_rows in fan_out(lambda key: list(RollupModel.query(key)), month_keys):
        for item in shard_rows:
            _accumulate(groups, item.sort_key, item)
    rows = _shape(groups)
    rows.sort(key=lambda r: (-r["credits"], r["key"]))
    return rows[:limit]


def totals(rows: list[dict[str, Any]], credit_value_micro_usd: int) -> dict[str, int]:
    """Sums of `rows` plus revenue (credits at their list value) and gross margin, in micro-USD."""
    out = dict.fromkeys(FIELDS, 0)
    for row in rows:
        for name in FIELDS:
            out[name] += int(row.get(name, 0))
    out["revenue_micro_usd"] = out["credits"] * credit_value_micro_usd
    out["gross_margin_micro_usd"] = out["revenue_micro_usd"] - out["cost_micro_usd"]
    return out
