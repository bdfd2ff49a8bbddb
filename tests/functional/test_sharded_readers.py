"""Every reader of a sharded platform-wide key sees the items of every shard, in a fixed number of
requests (DESIGN.md "Scale": no key takes more than 300 write units/s at 10,000 jobs/s)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import ids
from chalicelib.accounting import keys
from chalicelib.store.models import DENIAL_SHARDS, JOB_STATUS_SHARDS, shard_number

AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def one_id_per_shard(prefix: str, shards: int, shard_of: Callable[[str], int]) -> list[str]:
    """Ids (created a millisecond apart from AT) until every shard has exactly one."""
    found: dict[int, str] = {}
    step = 0
    while len(found) < shards:
        candidate = ids.new_id(prefix, AT + timedelta(milliseconds=step))
        found.setdefault(shard_of(candidate), candidate)
        step += 1
    return [found[n] for n in range(shards)]


@pytest.fixture()
def counter(fresh_aws: Any) -> Iterator[Any]:
    from chalicelib.store.request_counter import RequestCounter

    c = RequestCounter()
    c.install()
    yield c
    c.uninstall()


def test_jobs_by_status_reads_every_shard_in_one_round_and_pages_without_gaps(counter: Any) -> None:
    from chalicelib.store.job_search import find_jobs
    from chalicelib.store.models import JobModel

    job_ids = one_id_per_shard("job", JOB_STATUS_SHARDS, lambda i: shard_number(i, JOB_STATUS_SHARDS))
    with JobModel.batch_write() as batch:
        for n, job_id in enumerate(job_ids):
            batch.save(
                JobModel(f"ws_{n}", job_id, user_id="u", status="failed", prompt="p", provider="local", model="m", created_at=AT)
            )
    counter.reset()
    jobs, cursor = find_jobs(None, "failed", AT - timedelta(minutes=1), AT + timedelta(minutes=1), 100)
    assert sorted(j.job_id for j in jobs) == sorted(job_ids) and cursor is None
    assert [j.job_id for j in jobs] == sorted(job_ids, reverse=True)  # newest first
    assert counter.calls["Query"] == JOB_STATUS_SHARDS and counter.calls["BatchGetItem"] == 1, counter.calls
    assert counter.calls["Scan"] == 0
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page, cursor = find_jobs(None, "failed", AT - timedelta(minutes=1), AT + timedelta(minutes=1), 30, cursor)
        seen += [j.job_id for j in page]
        if cursor is None:
            break
    assert seen == sorted(job_ids, reverse=True)
    assert find_jobs(None, "succeeded", AT - timedelta(minutes=1), AT + timedelta(minutes=1), 100)[0] == []


def test_a_status_change_moves_the_job_to_its_new_status_shard(counter: Any) -> None:
    from chalicelib.store.job_search import find_jobs
    from chalicelib.store.models import JobModel, job_status_shard

    job = JobModel(
        "ws_a", ids.new_id("job", AT), user_id="u", status="queued", prompt="p", provider="local", model="m", created_at=AT
    )
    job.save()
    job.update(actions=[JobModel.status.set("running"), JobModel.status_shard.set(job_status_shard("running", job.job_id))])
    window = (AT - timedelta(minutes=1), AT + timedelta(minutes=1), 10)
    assert [j.job_id for j in find_jobs(None, "running", *window)[0]] == [job.job_id]
    assert find_jobs(None, "queued", *window)[0] == []


def test_platform_denials_are_read_from_every_shard_in_one_round(counter: Any) -> None:
    from chalicelib.accounting.denials import find_denials
    from chalicelib.store.models import DenialModel, denial_shard

    denial_ids = one_id_per_shard("den", DENIAL_SHARDS, lambda i: shard_number(i, DENIAL_SHARDS))
    with DenialModel.batch_write() as batch:
        for n, denial_id in enumerate(denial_ids):
            batch.save(
                DenialModel(
                    f"ws_{n}",
                    denial_id,
                    day="2026-11-24",
                    denial_shard=denial_shard(denial_id),
                    code="rate_limited",
                    created_at=AT,
                )
            )
    counter.reset()
    found = find_denials(None, AT - timedelta(minutes=1), AT + timedelta(minutes=1), limit=100)
    assert [d.denial_id for d in found] == sorted(denial_ids, reverse=True)
    assert counter.calls["Query"] == DENIAL_SHARDS, counter.calls
    assert len(find_denials(None, AT - timedelta(minutes=1), AT + timedelta(minutes=1), limit=5)) == 5
    counter.reset()
    assert find_denials(None, AT - timedelta(days=366), AT - timedelta(minutes=1)) == []  # a year: still one round
    assert counter.calls["Query"] == DENIAL_SHARDS, counter.calls


def test_the_sweeper_reads_every_open_hold_shard(counter: Any) -> None:
    from chalicelib.accounting.maintenance import stale_holds
    from chalicelib.store.models import HoldModel

    job_ids = one_id_per_shard("job", keys.HOLD_SHARDS, lambda i: keys.shard(i, keys.HOLD_SHARDS))
    assert {keys.open_hold_shard(j) for j in job_ids} == {f"open#{n}" for n in range(keys.HOLD_SHARDS)}
    with HoldModel.batch_write() as batch:
        for job_id in job_ids:
            batch.save(
                HoldModel(
                    f"ws_a#{job_id}",
                    workspace_id="ws_a",
                    job_id=job_id,
                    user_id="u",
                    credits=1,
                    day="2026-11-24",
                    open_shard=keys.open_hold_shard(job_id),
                    created_epoch=int(AT.timestamp()),
                )
            )
    counter.reset()
    assert sorted(h.job_id for h in stale_holds(int(AT.timestamp()) + 1)) == sorted(job_ids)
    assert counter.calls["Query"] == keys.HOLD_SHARDS, counter.calls
    assert stale_holds(int(AT.timestamp())) == []  # the cutoff is exclusive


def test_platform_rollups_sum_every_shard(counter: Any) -> None:
    from chalicelib.accounting.usage import platform_usage, top_workspaces
    from chalicelib.store.models import RollupModel

    with RollupModel.batch_write() as batch:
        for n in range(keys.ROLLUP_SHARDS):
            batch.save(RollupModel(f"ALL#{n}", "2026-11-24", jobs=1, credits=2))
            batch.save(RollupModel(f"ALLP#{n}", "2026-11-24#local#local-v1", jobs=1, credits=2))
            batch.save(RollupModel(keys.month_workspaces_key("2026-11", n), "ws_busy", jobs=1, credits=2))
        batch.save(RollupModel(keys.month_workspaces_key("2026-11", None), "ws_busy", jobs=5, credits=10))  # before the shards
        batch.save(RollupModel(keys.month_workspaces_key("2026-11", 7), "ws_small", jobs=1, credits=1))
    counter.reset()
    day = platform_usage(AT, AT, "day")
    assert day == [
        {
            "key": "2026-11-24",
            **{f: 0 for f in day[0] if f != "key"},
            "jobs": keys.ROLLUP_SHARDS,
            "credits": 2 * keys.ROLLUP_SHARDS,
        }
    ]
    assert counter.calls["Query"] == keys.ROLLUP_SHARDS, counter.calls
    by_model = platform_usage(AT, AT, "model")
    assert [(r["key"], r["jobs"]) for r in by_model] == [("local/local-v1", keys.ROLLUP_SHARDS)]
    top = top_workspaces(AT, AT)
    assert [(r["key"], r["credits"]) for r in top] == [("ws_busy", 2 * keys.ROLLUP_SHARDS + 10), ("ws_small", 1)]
