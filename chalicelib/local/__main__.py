"""`python -m chalicelib.local`: start the whole local stack (what `make dev` runs)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading


def main() -> int:
    # Quieter logs on the console: the JSON lines also go to .local/app.log.
    os.makedirs(".local", exist_ok=True)
    os.environ.setdefault("LOG_FILE", os.path.join(".local", "app.log"))
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ImageGenLocal")
    # Imported after the environment above: the Powertools singletons read it when they are made.
    from chalicelib.local.stack import LocalStack
    from chalicelib.observability import add_file_sink

    stack = LocalStack(
        port=int(os.environ.get("PORT", "8000")),
        moto_port=int(os.environ.get("MOTO_PORT", "5000")),
        visibility_timeout_s=int(os.environ.get("LOCAL_VISIBILITY_TIMEOUT_S", "5")),
    )
    add_file_sink(os.environ["LOG_FILE"])
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    stack.start()
    _keep_webhook_secret()
    if os.environ.get("SEED_DEMO", "").lower() in ("1", "true", "yes"):
        _seed_demo()
    print(f"[ready] local stack up; logs in {os.environ['LOG_FILE']}; Ctrl-C stops everything", flush=True)
    # Wait in short slices: a signal the kernel hands to another of the stack's threads only sets
    # CPython's pending flag, and a main thread blocked in an untimed `wait()` would never run the
    # handler (a SIGTERM was seen ignored this way, 1 stop in ~30). The timeout returns to the
    # interpreter loop, which runs pending handlers.
    while not stop.wait(0.25):
        pass
    print("[stopping]", flush=True)
    # A second Ctrl-C/SIGTERM ends it at once; otherwise everything gets STOP_GRACE_S seconds.
    signal.signal(signal.SIGINT, lambda signum, frame: _exit_now(["(stopped by a second signal)"]))
    signal.signal(signal.SIGTERM, lambda signum, frame: _exit_now(["(stopped by a second signal)"]))
    _exit_now(stack.stop(grace_s=float(os.environ.get("STOP_GRACE_S", "10"))))
    return 0


def _keep_webhook_secret() -> None:
    """The local Stripe webhook secret, for `make stripe-event`; .local/ is not committed."""
    secret_file = os.path.join(".local", "stripe-webhook-secret")
    with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(os.environ["STRIPE_WEBHOOK_SECRET"])


def _seed_demo() -> None:
    """`SEED_DEMO=1 make dev`: two demo workspaces with SEED_DAYS (14) days of jobs."""
    from chalicelib.local.seed import seed

    made = seed(days=int(os.environ.get("SEED_DAYS", "14")))
    for ws in made["workspaces"]:
        print(f"[seed] {ws['name']} ({ws['plan']}): {ws['workspace_id']} api key {ws['api_key']}", flush=True)
    print(f"[seed] jobs {made['jobs']} from {made['from']} to {made['to']}", flush=True)


def _exit_now(still_running: list[str]) -> None:
    """End the process now, abandoning jobs still running in worker threads.

    A normal interpreter exit joins every ThreadPoolExecutor thread however long its job takes
    (a `[slow:…]` prompt, a provider call, botocore retrying against the stopped moto): Ctrl-C
    must end the stack. An abandoned job's message lived in moto's in-memory queue, which is gone
    too, so nothing outlives the stack; the logs are flushed first."""
    in_flight = sum(1 for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor") and t.is_alive())
    notes = [f"abandoned {in_flight} in-flight worker thread(s)"] if in_flight else []
    notes += [f"still stopping: {', '.join(still_running)}"] if still_running else []
    print(f"[stopped]{' ' + '; '.join(notes) if notes else ''}", flush=True)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
