"""The customer analytics: usage per hour or day, performance per provider and model, costs.

Each read is ONE range of ONE partition of the workspace's pre-aggregated rows
(store/analytics.py: a Query, paged by DynamoDB at 1 MB), grouped here in memory: its requests
grow with the hours or days asked for and the member × key × model combinations active in them,
never with the number of jobs. Counted in tests/functional/test_analytics.py.

What is counted: jobs that finished as `succeeded` (`jobs`) or `failed` (`failed`), at the time
they finished (UTC buckets); canceled jobs are not. Credits are what was charged (a failed job
charges none); `cost_micro_usd` is the provider's cost we recorded. Timings: a job's duration is
from admission to its end (failed jobs included), queue wait from admission to a worker starting
it, provider time the provider's own calls; percentiles come from fixed-bucket histograms
(analytics/histogram.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib import clock
from chalicelib.analytics import histogram
from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD
from chalicelib.domain import InvalidInput
from chalicelib.store import analytics as store
from chalicelib.store.analytics import COUNTERS, DAY, HOUR, Row

BUCKETS = (HOUR, DAY)
GROUPINGS = ("member", "key", "provider", "model")
MICRO_USD_PER_CENT = 10_000
# How far back a read may reach: hour buckets 93 days (2,232 hours), days a year (+1 for leap days).
MAX_DAYS = {HOUR: 93, DAY: 366}
DEFAULT_DAYS = {HOUR: 7, DAY: 30}


@dataclass(frozen=True)
class Filters:
    """Narrow a read to a member, a key, a provider or a model (None: all)."""

    user_id: str | None = None
    key_id: str | None = None
    provider: str | None = None
    model: str | None = None

    def keep(self, row: Row) -> bool:
        return (
            (self.user_id is None or row.user_id == self.user_id)
            and (self.key_id is None or row.key_id == self.key_id)
            and (self.provider is None or row.provider == self.provider)
            and (self.model is None or row.model == self.model)
        )


@dataclass(frozen=True)
class Window:
    """The buckets asked for: those starting from `start` (rounded down to its bucket) to `end`."""

    start: datetime
    end: datetime


def window(start: datetime | None, end: datetime | None, granularity: str) -> Window:
    """The range asked for (`to` defaults to now, `from` to DEFAULT_DAYS before it), within
    MAX_DAYS; InvalidInput naming `from` otherwise."""
    end = end or clock.now()
    start = start or max(end - timedelta(days=DEFAULT_DAYS[granularity]), clock.EARLIEST)
    if start > end:
        raise InvalidInput("from must not be after to", field="from")
    if end - start > timedelta(days=MAX_DAYS[granularity]):
        raise InvalidInput(f"with {granularity} buckets the range may span at most {MAX_DAYS[granularity]} days", field="from")
    return Window(start, end)


@dataclass
class Totals:
    """Counters of a group of rows."""

    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def add(self, row: Row) -> None:
        for name in COUNTERS:
            self.values[name] += row.counter(name)


@dataclass(frozen=True)
class UsagePoint:
    bucket_start: datetime
    key: str | None  # the member, key, provider or provider/model; None without a grouping (or a person's job: no key)
    totals: dict[str, int]


@dataclass(frozen=True)
class UsageSeries:
    bucket: str
    group_by: str | None
    window: Window
    points: list[UsagePoint]


def _read(workspace_id: str, granularity: str, window: Window, filters: Filters) -> Iterable[Row]:
    first, last = store.bucket_label(window.start, granularity), store.bucket_label(window.end, granularity)
    return (row for row in store.rows(workspace_id, granularity, first, last) if filters.keep(row))


GROUP_KEY: dict[str, Callable[[Row], str | None]] = {
    "member": lambda row: row.user_id,
    "key": lambda row: row.key_id,
    "provider": lambda row: row.provider,
    "model": lambda row: f"{row.provider}/{row.model}",
}


def bucket_start(label: str) -> datetime:
    """The start of an hour (`2026-11-24T12`) or day (`2026-11-24`) bucket."""
    return datetime.strptime(label, "%Y-%m-%dT%H" if "T" in label else "%Y-%m-%d").replace(tzinfo=UTC)


def usage(workspace_id: str, window: Window, bucket: str, group_by: str | None, filters: Filters) -> UsageSeries:
    """`GET /v1/analytics/usage`: counters per bucket (and group), oldest bucket first."""
    groups: dict[tuple[str, str | None], Totals] = defaultdict(Totals)
    for row in _read(workspace_id, bucket, window, filters):
        groups[(row.bucket, GROUP_KEY[group_by](row) if group_by else None)].add(row)
    points = [
        UsagePoint(bucket_start(label), key, totals.values)
        for (label, key), totals in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    ]
    return UsageSeries(bucket, group_by, window, points)


@dataclass(frozen=True)
class Timing:
    """One timing's distribution over the jobs counted."""

    count: int
    p50_ms: int | None
    p95_ms: int | None
    mean_ms: int | None


@dataclass(frozen=True)
class Performance:
    provider: str
    model: str
    succeeded: int
    failed: int
    duration: Timing
    queue_wait: Timing
    provider_time: Timing

    @property
    def jobs(self) -> int:
        return self.succeeded + self.failed

    @property
    def failure_rate(self) -> float:
        return round(self.failed / self.jobs, 4) if self.jobs else 0.0


@dataclass
class _TimingSum:
    counts: list[int] = field(default_factory=lambda: [0] * histogram.BUCKETS)
    total_ms: int = 0

    def add(self, row: Row, timing: str) -> None:
        self.counts = [a + b for a, b in zip(self.counts, row.counts(timing), strict=True)]
        self.total_ms += row.counter(f"{timing}_ms")

    def timing(self) -> Timing:
        n = sum(self.counts)
        mean = round(self.total_ms / n) if n else None
        return Timing(n, histogram.percentile(self.counts, 0.5), histogram.percentile(self.counts, 0.95), mean)


def performance(workspace_id: str, window: Window, filters: Filters) -> list[Performance]:
    """`GET /v1/analytics/performance`: per provider and model, from the day rows."""
    totals: dict[tuple[str, str], Totals] = defaultdict(Totals)
    timings: dict[tuple[str, str], dict[str, _TimingSum]] = defaultdict(lambda: {t: _TimingSum() for t in store.TIMINGS})
    for row in _read(workspace_id, DAY, window, filters):
        key = (row.provider, row.model)
        totals[key].add(row)
        for name, summed in timings[key].items():
            summed.add(row, name)
    return [
        Performance(
            provider,
            model,
            totals[(provider, model)].values["jobs"],
            totals[(provider, model)].values["failed"],
            *(timings[(provider, model)][name].timing() for name in store.TIMINGS),
        )
        for provider, model in sorted(totals)
    ]


@dataclass(frozen=True)
class CostLine:
    key: str | None
    jobs: int
    failed: int
    credits: int

    @property
    def list_price_micro_usd(self) -> int:
        return self.credits * CREDIT_LIST_PRICE_MICRO_USD

    @property
    def list_price_cents(self) -> int:
        """The list price in cents, rounded half up (exact while a credit is a whole number of cents)."""
        return (self.list_price_micro_usd + MICRO_USD_PER_CENT // 2) // MICRO_USD_PER_CENT


@dataclass(frozen=True)
class CostReport:
    window: Window
    total: CostLine
    by_member: list[CostLine]
    by_key: list[CostLine]
    by_model: list[CostLine]


def costs(workspace_id: str, window: Window, filters: Filters) -> CostReport:
    """`GET /v1/analytics/costs`: credits and their list-price money per member, key and model."""
    groups: dict[str, dict[str | None, Totals]] = {name: defaultdict(Totals) for name in ("member", "key", "model")}
    total = Totals()
    for row in _read(workspace_id, DAY, window, filters):
        total.add(row)
        for name, by in groups.items():
            by[GROUP_KEY[name](row)].add(row)

    def lines(by: dict[str | None, Totals]) -> list[CostLine]:
        made = [_line(key, totals) for key, totals in by.items()]
        return sorted(made, key=lambda line: (-line.credits, line.key or ""))

    return CostReport(window, _line(None, total), lines(groups["member"]), lines(groups["key"]), lines(groups["model"]))


def _line(key: str | None, totals: Totals) -> CostLine:
    return CostLine(key, totals.values["jobs"], totals.values["failed"], totals.values["credits"])
