"""Scale on paper: the hottest DynamoDB partition key at 10,000 jobs/s, and what a job costs us.

    .venv/bin/python bench/scale.py          (BENCH_SCALE_JOBS=600 by default)

1. Load: BENCH_SCALE_JOBS jobs from workspaces drawn Zipf(s=1) out of 100,000, over 3 providers
   and mixed n, each through the real code a job runs: admission, the worker's start (running
   slot) and provider-quota take, then settlement (5% fail and are released); plus 3% denied
   requests recorded. Every DynamoDB write is metered (bench/aws_meter.py) with its table or
   index and partition key.
2. Projection to 10,000 jobs/s. A platform-wide key takes its share of every job: units per job
   x 10,000. Keys ending in a small number (`#0`..`#9999`) are hash shards of one logical key:
   their units are summed and divided by the shards seen (the load spreads evenly at that rate;
   a small sample would only add noise). A workspace's own keys (its wallet, jobs, rollups,
   windows) carry only its jobs: the hottest workspace of Zipf(s=1) over 100,000 sends 8.3% of
   all jobs, and `single_workspace_ceiling_jobs_per_s` is the rate at which its busiest key
   reaches DynamoDB's 1,000 write units/s per key: beyond it that workspace throttles, alone.
3. Cost: BENCH_COST_JOBS jobs through the real API handler (POST /v1/jobs) and the worker handler
   (batches of 10, the local provider answering after BENCH_PROVIDER_S seconds, as a provider
   does), metered for DynamoDB units, SQS and S3 requests, S3 bytes, and Lambda GB-seconds
   (measured handler time x the prod memory of infra/config.py), priced from bench/aws_prices.json.

Prints one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from aws_meter import AwsMeter  # noqa: E402

WORKSPACES = 100_000
ZIPF_S = 1.0
TARGET_JOBS_PER_S = 10_000
KEY_LIMIT_WCU = 1_000  # DynamoDB's write units per second per partition key
PROVIDERS = {"gemini": 0.5, "openai": 0.3, "local": 0.2}
N_MIX = {1: 0.55, 2: 0.2, 4: 0.25}
FAIL_SHARE = 0.05
DENIED_SHARE = 0.03
OWNED = re.compile(r"(ws|usr|key)_[0-9A-Z]{26}")
SHARD = re.compile(r"#\d{1,4}(?=#|$)")
PREFIX = "benchscale"


def zipf_hot_share() -> float:
    return 1.0 / sum(k**-ZIPF_S for k in range(1, WORKSPACES + 1))


def start_moto() -> Any:
    """moto in this process: the meter reads items before and after each write from its backend."""
    from chalicelib.local.moto_server import SerializedMotoServer

    server = SerializedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


def light_moto_transactions() -> None:
    """moto backs up every table a transaction touches with a deep copy, so each transaction costs
    O(table) and the load would slow down quadratically. Here the backup copies the item maps and
    each item's attribute map, not the values: a cancelled transaction still restores the items
    it replaced or added (the load has none; `load_cancelled_transactions` says)."""
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    def item_copy(item: Any) -> Any:
        clone = copy.copy(item)
        clone.attrs = copy.copy(item.attrs)
        return clone

    def snapshot(table: Any) -> Any:
        clone = copy.copy(table)
        clone.items = copy.copy(table.items)
        for hk, value in table.items.items():
            clone.items[hk] = {rk: item_copy(i) for rk, i in value.items()} if isinstance(value, dict) else item_copy(value)
        return clone

    class _Copy:
        @staticmethod
        def deepcopy(obj: Any, memo: Any = None) -> Any:
            return snapshot(obj) if isinstance(obj, Table) else copy.deepcopy(obj, memo)

    models.copy = _Copy  # type: ignore[assignment]


def prune_finished(prefix: str) -> None:
    """Drop the finished job's rows (job, hold, ledger, images, denials) from moto's backend: the
    next jobs never read them, and smaller tables keep moto's transactions fast."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    for suffix in ("jobs", "holds", "ledger", "images", "denials"):
        backend.get_table(f"{prefix}-{suffix}").items.clear()
    for model in (Item, Table):  # moto keeps every model instance it ever made (for its resets)
        model.instances_tracked.clear()  # type: ignore[attr-defined]


def meter_clients() -> list[Any]:
    from chalicelib.aws import client
    from chalicelib.store.models import ALL_MODELS

    clients = [m._get_connection().connection.client for m in ALL_MODELS]
    return clients + [client("dynamodb"), client("s3"), client("sqs")]


class Tenants:
    """Workspaces made on first use (Zipf rank -> tenant), with unlimited rate limits."""

    def __init__(self) -> None:
        self.by_rank: dict[int, Any] = {}

    def get(self, rank: int) -> Any:
        if rank not in self.by_rank:
            from accounting import Tenant

            self.by_rank[rank] = Tenant("pro")
        return self.by_rank[rank]


def lift_provider_quotas() -> None:
    """The load runs in one clock minute: lift the platform's provider quotas (their windows are
    written all the same, which is what is measured)."""
    from dataclasses import replace

    from chalicelib.accounting import plans

    for name, quota in list(plans.PROVIDER_QUOTAS.items()):
        plans.PROVIDER_QUOTAS[name] = replace(quota, requests_per_minute=10**9, images_per_minute=10**9)


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def one_job(meter: AwsMeter, tenant: Any, rng: random.Random, fc: Any) -> None:
    """Admission, the worker's start and provider take, then settlement or release."""
    from chalicelib import clock, ids
    from chalicelib.accounting import provider_quota
    from chalicelib.accounting.prices import DEFAULT_MODEL
    from chalicelib.accounting.running import start_job
    from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
    from tests.functional.accounting_helpers import admit

    provider, n = _pick(rng, PROVIDERS), _pick(rng, N_MIX)
    meter.owner = tenant.workspace_id
    fc.advance(milliseconds=5)
    admitted = admit(tenant, n=n, workspace=tenant.ws, provider=provider, model=DEFAULT_MODEL[provider], prompt="a red fox " * 8)
    started = start_job(tenant.workspace_id, admitted.job_id, clock.now())
    assert started.job is not None, started
    provider_quota.take(provider, n, clock.now(), admitted.job_id)
    job, now = started.job, clock.now()
    if rng.random() < FAIL_SHARE:
        final = JobFinal("failed", now, error={"code": "provider_error", "message": "the provider failed"})
        release_job(job, final, now, reason="provider_error")
        return
    images, rows = _images(job, n, now, ids)
    credits = int(job.credits_reserved)
    usage = Usage(images=n, credits=credits, cost_micro_usd=40_000 * n, provider_ms=8_000)
    settle_job(job, usage, JobFinal("succeeded", now, images=images, timings={"provider_ms": 8000}), now, image_rows=rows)


def _images(job: Any, n: int, now: datetime, ids: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    from chalicelib.store.models import ImageModel

    images, rows = [], []
    for _ in range(n):
        image_id = ids.new_id("img", now)
        key = f"images/{job.workspace_id}/{image_id}.png"
        images.append({"image_id": image_id, "width": 1024, "height": 1024, "content_type": "image/png", "s3_key": key})
        rows.append(
            ImageModel(
                job.workspace_id,
                image_id,
                job_id=job.job_id,
                user_id=job.user_id,
                s3_key=key,
                width=1024,
                height=1024,
                bytes=1_500_000,
                created_at=now,
            )
        )
    return images, rows


def drive_load(meter: AwsMeter, jobs: int, fc: Any) -> Counter[str]:
    """The synthetic load; returns jobs per workspace id."""
    from chalicelib import clock
    from chalicelib.accounting.denials import record_denial

    rng = random.Random(17)
    weights = [k**-ZIPF_S for k in range(1, WORKSPACES + 1)]
    ranks = rng.choices(range(WORKSPACES), weights=weights, k=jobs)
    tenants = Tenants()
    for rank in sorted(set(ranks)):  # workspaces exist before the load (their creation is not metered)
        tenants.get(rank)
    meter.reset()
    per_workspace: Counter[str] = Counter()
    for rank in ranks:
        tenant = tenants.get(rank)
        per_workspace[tenant.workspace_id] += 1
        one_job(meter, tenant, rng, fc)
        if rng.random() < DENIED_SHARE:
            record_denial(tenant.workspace_id, "rate_limited", clock.now(), user_id=tenant.user_id, scope="workspace")
        prune_finished(PREFIX)
    meter.owner = None
    return per_workspace


def pattern_of(pk: str) -> str:
    pk = OWNED.sub(lambda m: "{" + {"ws": "workspace", "usr": "user", "key": "key"}[m.group(1)] + "}", pk)
    return SHARD.sub("#{shard}", pk)


def project(meter: AwsMeter, jobs: int, per_workspace: Counter[str]) -> dict[str, Any]:
    """Per-key write units/s at TARGET_JOBS_PER_S: platform keys, then the hottest workspace's."""
    shared: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    owned_per_job: dict[tuple[str, str], float] = defaultdict(float)
    for (label, pk), stat in meter.keys.items():
        if OWNED.search(pk):
            owner = stat.owners.most_common(1)[0][0]
            key = (label, pattern_of(pk))
            owned_per_job[key] = max(owned_per_job[key], stat.wcu / max(1, per_workspace.get(owner, 1)))
        else:
            agg = shared[(label, pattern_of(pk))]
            agg[0] += stat.wcu
            agg[1] += 1
    platform = sorted(
        (
            (f"{label}:{pattern}", total / shards / jobs * TARGET_JOBS_PER_S, shards)
            for (label, pattern), (total, shards) in shared.items()
        ),
        key=lambda row: -row[1],
    )
    per_job = sorted(((f"{label}:{pattern}", units) for (label, pattern), units in owned_per_job.items()), key=lambda r: -r[1])
    return {"platform": platform, "workspace": per_job}


def provider_window_name(name: str) -> bool:
    return name.startswith("counters:RL#p#") and not name.startswith("counters:RL#pw#")


def scale_figures(projection: dict[str, Any]) -> dict[str, Any]:
    platform, workspace = projection["platform"], projection["workspace"]
    hottest = platform[0]
    others = [row for row in platform if not provider_window_name(row[0])]
    window = [row for row in platform if provider_window_name(row[0])]
    hot_share = zipf_hot_share()
    worst_name, worst_units = workspace[0]
    return {
        "hottest_key_wcu_per_s_at_10k": round(hottest[1]),
        "hottest_key": hottest[0],
        "hottest_key_excluding_admission_provider_window": others[0][0],
        "hottest_key_wcu_per_s_at_10k_excluding_admission_provider_window": round(others[0][1]),
        "admission_provider_window_wcu_per_s_at_10k": round(window[0][1]) if window else 0,
        "platform_keys_top": [{"key": n, "wcu_per_s_at_10k": round(v), "shards": s} for n, v, s in platform[:12]],
        "single_workspace_ceiling_jobs_per_s": math.floor(KEY_LIMIT_WCU / worst_units),
        "single_workspace_busiest_key": worst_name,
        "single_workspace_busiest_key_wcu_per_job": round(worst_units, 2),
        "zipf_hottest_workspace_share": round(hot_share, 4),
        "zipf_hottest_workspace_jobs_per_s_at_10k": round(hot_share * TARGET_JOBS_PER_S),
        "workspace_keys_top_wcu_per_job": [{"key": n, "wcu_per_job": round(v, 2)} for n, v in workspace[:8]],
    }


# --- cost ------------------------------------------------------------------------------------


def prices() -> dict[str, float]:
    raw = json.loads((ROOT / "bench" / "aws_prices.json").read_text())
    return {name: float(entry["usd"]) for name, entry in raw.items() if not name.startswith("_")}


def memory_gb(function: str) -> float:
    sys.path.insert(0, str(ROOT / "infra"))
    from infra.config import function_settings

    return int(function_settings("prod", function)["lambda_memory_size"]) / 1024


def measure_cost(meter: AwsMeter, jobs: int) -> dict[str, Any]:
    """`jobs` jobs through the real API and worker handlers, metered and timed."""
    import app as chalice_app
    from chalicelib.local.lambda_events import LocalContext
    from chalicelib.store.models import ImageModel, WorkspaceModel
    from chalicelib.tenancy import create_workspace
    from tests.functional.accounting_helpers import UNLIMITED
    from tests.functional.helpers import app_client, event_from, receive

    made = create_workspace("cost", "cost@example.test", "pro")
    WorkspaceModel(made.workspace.workspace_id).update(actions=[WorkspaceModel.limits.set(UNLIMITED)])
    auth = {"Authorization": f"Bearer {made.secret}", "Content-Type": "application/json"}
    rng = random.Random(3)
    api_s = worker_s = 0.0
    images = batches = 0
    with app_client() as http:  # stage `test` (Chalice's default `dev` refuses the local provider)
        warm = http.http.post("/v1/jobs", headers=auth, body=json.dumps({"prompt": "warm", "n": 1, "provider": "local"}))
        assert warm.status_code == 202, warm.body
        chalice_app.worker(event_from(receive()), LocalContext("worker", 300))
        meter.reset()
        for _ in range(jobs // 10):
            for _ in range(10):
                n = _pick(rng, N_MIX)
                body = json.dumps({"prompt": "a red fox in the snow", "n": n, "size": "1024x1024", "provider": "local"})
                started = time.perf_counter()
                response = http.http.post("/v1/jobs", headers=auth, body=body)
                api_s += time.perf_counter() - started
                assert response.status_code == 202, response.body
                images += n
            messages = receive(10)
            started = time.perf_counter()
            result = chalice_app.worker(event_from(messages), LocalContext("worker", 300))
            worker_s += time.perf_counter() - started
            assert result == {"batchItemFailures": []}, result
            batches += 1
    stored = [row.bytes for row in ImageModel.query(made.workspace.workspace_id)]
    done = batches * 10
    return {
        "jobs": done,
        "images": images,
        "api_s": api_s,
        "worker_s": worker_s,
        "batches": batches,
        "image_bytes": sum(int(b) for b in stored[-images:]),
        "requests": dict(meter.requests),
        "wcu": meter.wcu,
        "rcu": meter.rcu,
    }


def cost_model(sample: dict[str, Any]) -> dict[str, Any]:
    """Micro-USD per job from the metered sample; SQS polling by the event source mapping (one
    receive and one delete per batch of 10) and one download of each image are added."""
    p, jobs = prices(), sample["jobs"]
    reqs = Counter(sample["requests"])
    sqs = sum(v for k, v in reqs.items() if k.startswith("sqs:") and k != "sqs:ReceiveMessage" and k != "sqs:DeleteMessage")
    sqs += 2 * sample["batches"]
    s3_put = sum(v for k, v in reqs.items() if k.startswith("s3:Put"))
    s3_get = sum(v for k, v in reqs.items() if k.startswith("s3:") and not k.startswith("s3:Put")) + sample["images"]
    gb = sample["image_bytes"] / 1e9
    gb_s = sample["api_s"] * memory_gb("api_handler") + sample["worker_s"] * memory_gb("worker")
    usd = {
        "dynamodb": sample["wcu"] * p["dynamodb_write_request_unit"] + sample["rcu"] * p["dynamodb_read_request_unit"],
        "sqs": sqs * p["sqs_request"],
        "s3_requests": s3_put * p["s3_put_request"] + s3_get * p["s3_get_request"],
        "s3_bytes": gb * (p["s3_storage_gb_month"] + p["data_transfer_out_gb"]),
        "lambda": gb_s * p["lambda_gb_second"] + (jobs + sample["batches"]) * p["lambda_request"],
        "api_gateway": jobs * p["api_gateway_rest_request"],
    }
    per_job = {k: round(v / jobs * 1e6, 2) for k, v in usd.items()}
    return {
        "infra_micro_usd_per_job": round(sum(per_job.values()), 1),
        "infra_micro_usd_per_job_by_part": per_job,
        "cost_sample": {
            "jobs": jobs,
            "images_per_job": round(sample["images"] / jobs, 2),
            "ddb_wcu_per_job": round(sample["wcu"] / jobs, 2),
            "ddb_rcu_per_job": round(sample["rcu"] / jobs, 2),
            "sqs_requests_per_job": round(sqs / jobs, 2),
            "s3_requests_per_job": round((s3_put + s3_get) / jobs, 2),
            "s3_bytes_per_image": round(sample["image_bytes"] / max(1, sample["images"])),
            "lambda_gb_s_per_job": round(gb_s / jobs, 3),
            "provider_latency_s": float(os.environ.get("BENCH_PROVIDER_S", "8")),
        },
    }


def cheapest_paid_share(per_job_micro_usd: float, images_per_job: float) -> dict[str, Any]:
    """Infra cost of a job against the price of the same job on the cheapest paid model."""
    from chalicelib.accounting.prices import MODELS
    from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD

    paid = min((m for m in MODELS.values() if m.provider != "local"), key=lambda m: m.credits_per_image)
    price = paid.credits_per_image * CREDIT_LIST_PRICE_MICRO_USD * images_per_job
    return {
        "cheapest_paid_model": f"{paid.provider}/{paid.model}",
        "cheapest_paid_job_price_micro_usd": round(price),
        "infra_cost_share_of_cheapest_paid_model": round(per_job_micro_usd / price, 5),
    }


def main() -> None:
    with contextlib.redirect_stdout(sys.stderr):  # the app's metrics (EMF) print to stdout
        result = run()
    print(json.dumps(result))


def run() -> dict[str, Any]:
    from chalicelib import clock
    from chalicelib.local.stack import configure_environment, create_resources

    jobs = int(os.environ.get("BENCH_SCALE_JOBS", "600"))
    os.environ["LOCAL_PROVIDER_LATENCY_MS"] = str(int(float(os.environ.get("BENCH_PROVIDER_S", "8")) * 1000))
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    light_moto_transactions()
    server = start_moto()
    configure_environment(server.port, PREFIX, STAGE="test", POWERTOOLS_METRICS_NAMESPACE="Bench")
    create_resources(visibility_timeout_s=300)
    lift_provider_quotas()
    meter = AwsMeter()
    meter.install(meter_clients())
    fc = clock.FrozenClock(datetime(2026, 11, 24, 12, 0, 1, tzinfo=UTC))
    clock.set_clock(fc)
    started = time.perf_counter()
    per_workspace = drive_load(meter, jobs, fc)
    result: dict[str, Any] = {
        "load_jobs": jobs,
        "load_workspaces": len(per_workspace),
        "load_writes": sum(s.writes for s in meter.keys.values()),
        "load_refused_calls": dict(meter.refused),
    }
    result.update(scale_figures(project(meter, jobs, per_workspace)))
    load_s = time.perf_counter() - started
    clock.reset_clock()
    sample = measure_cost(meter, int(os.environ.get("BENCH_COST_JOBS", "30")))
    model = cost_model(sample)
    result.update(model)
    result.update(cheapest_paid_share(model["infra_micro_usd_per_job"], model["cost_sample"]["images_per_job"]))
    result["section_seconds"] = {"load": round(load_s, 1), "cost": round(time.perf_counter() - started - load_s, 1)}
    server.stop()
    return result


if __name__ == "__main__":
    main()
