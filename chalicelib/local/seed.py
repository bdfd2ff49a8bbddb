"""Seed a local stack with two workspaces and two weeks of jobs across providers.

    python -m chalicelib.local.seed            # against the running `make dev` stack
    MOTO_PORT=5123 python -m chalicelib.local.seed --days 30

The jobs go through the real accounting core (admission, then settlement or release) with the
clock set to each past day, so the ledger, wallets, daily rollups and denials are exactly what
production would have written. The provider call is skipped: the last IMAGE_DAYS days' successful
jobs store the local provider's pictures through the worker's own path (objects, library rows and
counters in the settlement transaction), so the library, gallery and storage views have content;
older jobs store none (fast start). The admin dashboard then has spend by day and provider,
failures, denials and top workspaces to show.
Prints the workspaces and their API keys as JSON. Deterministic for a given `--seed`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.admission import AdmissionRequest, admit_job
from chalicelib.accounting.denials import record_denial
from chalicelib.accounting.errors import Denied
from chalicelib.accounting.ledger import adjust
from chalicelib.accounting.plans import effective_limits
from chalicelib.accounting.prices import job_credits, model_price, provider_cost_micro_usd
from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
from chalicelib.generation.providers.base import ImageRequest
from chalicelib.generation.providers.local import LocalProvider
from chalicelib.generation.worker import library_counters, store_images
from chalicelib.local.stack import configure_environment
from chalicelib.store import bind_models
from chalicelib.store.models import JobModel
from chalicelib.tenancy import create_workspace


@dataclass(frozen=True)
class Persona:
    name: str
    owner_email: str
    plan: str
    jobs_per_day: tuple[int, int]
    providers: tuple[tuple[str, str, int], ...]  # provider, model, weight
    failure_rate: float


PERSONAS = (
    Persona(
        "Acme Studio",
        "ops@acme.test",
        "pro",
        (3, 7),
        (("openai", "gpt-image-1", 3), ("gemini", "gemini-2.5-flash-image", 3), ("local", "local-v1", 1)),
        0.08,
    ),
    Persona(
        "Pixel Forge",
        "hello@pixelforge.test",
        "starter",
        (1, 4),
        (("gemini", "imagen-4.0-generate-001", 2), ("local", "local-v1", 2), ("openai", "gpt-image-1", 1)),
        0.15,
    ),
)
PROMPTS = (
    "a red fox in snow",
    "isometric city at dusk",
    "watercolor lighthouse",
    "neon koi pond",
    "product shot of a ceramic mug",
    "portrait of an astronaut cat",
    "foggy pine forest",
)
IMAGE_DAYS = 3  # the most recent days whose successful jobs store real images
ERRORS = (
    ("provider_error", "upstream returned 500"),
    ("provider_timeout", "no answer within 60 s"),
    ("content_policy", "the provider refused the prompt"),
)


def _usage_for(provider: str, model: str, size: str, n: int, prompt: str, rng: random.Random) -> Any:
    """What a provider would have reported for `n` images (token-priced models report tokens)."""
    price = model_price(provider, model)
    input_tokens = output_tokens = 0
    if price.token_priced:
        input_tokens = len(prompt) // 4 + 8
        output_tokens = n * rng.randint(price.max_output_tokens_per_image // 6, price.max_output_tokens_per_image // 4)
    return Usage(
        images=n,
        credits=job_credits(price, size, "generate", n),
        cost_micro_usd=provider_cost_micro_usd(price, n, input_tokens, output_tokens),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        provider_ms=rng.randint(900, 7000) if provider != "local" else rng.randint(40, 300),
    )


def _images_for(job: JobModel, done: datetime) -> tuple[list[dict[str, Any]], list[Any], list[Any]]:
    """The local provider's pictures for the job, stored as the worker stores them: the job's
    image records, the library rows and their counters (written by settlement)."""
    width, height = (int(side) for side in str(job.size).split("x"))
    pictures = [
        (index, LocalProvider().generate(ImageRequest(str(job.prompt), width, height, int(job.seed), index, str(job.model))))
        for index in range(int(job.n))
    ]
    records, rows = store_images(job, pictures, done)
    return records, rows, library_counters(job, rows)


def _run_job(
    ws: Any,
    user: Any,
    key_id: str,
    provider: str,
    model: str,
    n: int,
    prompt: str,
    at: datetime,
    fail: bool,
    rng: random.Random,
    with_images: bool = False,
) -> str:
    """Admit one job at `at`, then settle it (or release it as failed) a few seconds later."""
    clock.set_clock(clock.FrozenClock(at))
    job = _new_job(ws, user, key_id, provider, model, n, prompt, at, rng)
    try:
        admit_job(AdmissionRequest(job, ws.plan, effective_limits(ws.plan, ws.limits), job.job_id, "seed", at))
    except Denied as denied:
        record_denial(
            ws.workspace_id,
            denied.reason,
            at,
            user_id=user.user_id,
            key_id=key_id,
            provider=provider,
            message=denied.message,
            request_id=job.correlation_id,
        )
        return "denied"
    return _finish(job, at, fail, rng, with_images)


def _new_job(
    ws: Any, user: Any, key_id: str, provider: str, model: str, n: int, prompt: str, at: datetime, rng: random.Random
) -> JobModel:
    """The job as the API would have queued it at `at` (the seed and correlation id from `rng`)."""
    return JobModel(
        ws.workspace_id,
        ids.new_id("job", at),
        user_id=user.user_id,
        key_id=key_id,
        status="queued",
        kind="generate",
        prompt=prompt,
        provider=provider,
        model=model,
        n=n,
        size="1024x1024",
        seed=rng.randint(1, 10**6),
        params={},
        correlation_id=f"seed-{rng.getrandbits(40):010x}",
        created_at=at,
        images=[],
        usage={},
        timings={},
    )


def _finish(job: JobModel, at: datetime, fail: bool, rng: random.Random, with_images: bool) -> str:
    """Settle the admitted job a few seconds after `at` (its images stored when asked), or release it."""
    usage = _usage_for(str(job.provider), str(job.model), "1024x1024", int(job.n), str(job.prompt), rng)
    queue_wait = rng.randint(30, 900)
    storage = rng.randint(20, 200) * int(job.n)
    done = at + timedelta(milliseconds=queue_wait + usage.provider_ms + storage + 50)
    timings = {
        "admission_ms": rng.randint(8, 40),
        "queue_wait_ms": queue_wait,
        "provider_ms": usage.provider_ms,
        "storage_ms": 0 if fail else storage,
        "settlement_ms": rng.randint(10, 60),
    }
    job.attempts = 1
    if fail:
        code, message = rng.choice(ERRORS)
        release_job(job, JobFinal("failed", done, error={"code": code, "message": message}, timings=timings), done, reason=code)
        return "failed"
    records, rows, counters = _images_for(job, done) if with_images else ([], [], [])
    settle_job(job, usage, JobFinal("succeeded", done, images=records, timings=timings), done, image_rows=rows, counters=counters)
    return "succeeded"


def seed(days: int = 14, rng_seed: int = 7, now: datetime | None = None) -> dict[str, Any]:
    """Create the personas' workspaces and `days` days of jobs ending today; returns what was made."""
    rng = random.Random(rng_seed)
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start_day = (end - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0)
    made: list[dict[str, Any]] = []
    counts = {"succeeded": 0, "failed": 0, "denied": 0}
    try:
        clock.set_clock(clock.FrozenClock(start_day - timedelta(hours=1)))
        for persona in PERSONAS:
            made.append(_persona_history(persona, start_day, end, days, rng, counts))
        counts["denied"] += _throttled_moment(made[1], end - timedelta(minutes=30))
    finally:
        clock.reset_clock()
    return {"workspaces": made, "jobs": counts, "from": start_day.date().isoformat(), "to": end.date().isoformat()}


def _persona_history(
    persona: Persona, start_day: datetime, end: datetime, days: int, rng: random.Random, counts: dict[str, int]
) -> dict[str, Any]:
    """One persona's workspace, a credit pack, and its days of jobs through admission and settlement."""
    created = create_workspace(persona.name, persona.owner_email, persona.plan, actor="seed")
    ws, user = created.workspace, created.owner
    adjust(
        ws.workspace_id,
        20_000,
        reason="seed: credit pack",
        actor="seed",
        now=clock.now(),
        entry_type="purchase",
        source=f"seed:{ws.workspace_id}",
    )
    weights = [w for _, _, w in persona.providers]
    for day in range(days):
        for _ in range(rng.randint(*persona.jobs_per_day)):
            at = start_day + timedelta(days=day, seconds=rng.randint(0, 86_399))
            if at > end:
                continue
            provider, model, _ = rng.choices(persona.providers, weights)[0]
            outcome = _run_job(
                ws,
                user,
                created.key.key_id,
                provider,
                model,
                rng.choice((1, 1, 2, 4)),
                rng.choice(PROMPTS),
                at,
                rng.random() < persona.failure_rate,
                rng,
                with_images=at >= end - timedelta(days=IMAGE_DAYS),
            )
            counts[outcome] += 1
    return {
        "workspace_id": ws.workspace_id,
        "name": persona.name,
        "plan": persona.plan,
        "user_id": user.user_id,
        "api_key": created.secret,
    }


def _throttled_moment(throttled: dict[str, Any], at: datetime) -> int:
    """Three refused requests for one workspace: its denials show in the failures view."""
    for i in range(3):
        record_denial(
            throttled["workspace_id"],
            "rate_limited",
            at + timedelta(seconds=i),
            user_id=throttled["user_id"],
            scope="workspace",
            provider="gemini",
            message="rate limit of 60 requests per minute reached",
        )
    return 3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=14, help="days of history ending today (default 14)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (the same seed makes the same jobs)")
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 366:
        parser.error("--days must be between 1 and 366")

    if not os.environ.get("AWS_ENDPOINT_URL"):
        configure_environment(int(os.environ.get("MOTO_PORT", "5000")))
    bind_models()
    print(json.dumps(seed(args.days, args.seed), indent=2))


if __name__ == "__main__":
    main()
