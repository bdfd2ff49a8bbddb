"""Generation speed: a job's n images and a batch's messages run concurrently.

    .venv/bin/python bench/generation.py

Against the local provider with 0.5 s injected latency: one job of n=4, and one SQS batch of
10 jobs, through the real worker Lambda handler. Prints wall time / 0.5 s as `job_n4_ratio`
(target <= 1.5) and `batch10_ratio` (issue 17: < 2.0), the AWS requests on a job's critical
path, the batch's ratio without moto's lock wait, and the worker's peak memory (from a second,
untimed batch: tracemalloc slows what it watches), as one JSON object on the last line.

It runs on the local stack's moto server, which handles one call at a time
(DynamoDB stays atomic, as on AWS): a batch's DynamoDB calls queue behind that lock, so the
figure is an upper bound of what the worker needs on AWS, where those calls run in parallel.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
LATENCY_S = float(os.environ.get("BENCH_LATENCY_S", "0.5"))


class Moto:
    """The local stack's serialized moto server, in its own process as DynamoDB/S3/SQS are outside
    the Lambda (the worker's threads share no GIL with it; BENCH_MOTO_INPROCESS=1 to compare), on
    a port the OS picks; `lock()` reads how long requests waited for its one-at-a-time lock."""

    def __init__(self) -> None:
        import subprocess

        from chalicelib.local import moto_server

        self._proc: Any = None
        if os.environ.get("BENCH_MOTO_INPROCESS"):
            self._server = moto_server.SerializedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            self.port = self._server.port
            return
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.moto_server", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        line = self._proc.stdout.readline()
        assert line.startswith("moto listening"), line
        self.port = int(line.rsplit(":", 1)[1])

    def reset_lock(self) -> None:
        from chalicelib.local.moto_server import LOCK_STATS

        if self._proc is None:
            LOCK_STATS.reset()
            return
        self._proc.send_signal(signal.SIGUSR2)
        time.sleep(0.2)  # the handler runs between the server's bytecodes

    def lock(self) -> dict[str, float]:
        from chalicelib.local.moto_server import LOCK_STATS

        if self._proc is None:
            return dict(vars(LOCK_STATS))
        self._proc.send_signal(signal.SIGUSR1)
        return dict(json.loads(self._proc.stdout.readline()))

    def stop(self) -> None:
        if self._proc is None:
            self._server.stop()
        else:
            self._proc.terminate()


class Requests:
    """AWS requests by `service:operation`, from a `before-call` hook on every client the code uses."""

    def __init__(self) -> None:
        from collections import Counter

        from chalicelib.aws import client
        from chalicelib.store.models import ALL_MODELS

        self.calls: Counter[str] = Counter()
        clients = {id(c): c for c in [m._get_connection().connection.client for m in ALL_MODELS]}
        clients.update({id(c): c for c in (client("dynamodb"), client("s3"), client("sqs"))})
        for c in clients.values():
            c.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1


def measure() -> dict[str, Any]:
    """One n=4 job and one batch of 10 through the worker handler, on the local stack's moto server."""
    import app as chalice_app
    from chalicelib.local.lambda_events import LocalContext
    from chalicelib.local.stack import configure_environment, create_resources
    from tests.functional.accounting_helpers import UNLIMITED
    from tests.functional.helpers import app_client, event_from, receive

    moto = Moto()
    port = moto.port
    configure_environment(port, "benchgen", STAGE="test", POWERTOOLS_METRICS_NAMESPACE="Bench")
    import chalicelib.generation.worker as worker
    from chalicelib.store import bind_models

    worker._idempotent_runner.cache_clear()
    bind_models()
    create_resources(visibility_timeout_s=60)
    from chalicelib.store.models import WorkspaceModel
    from chalicelib.tenancy import create_workspace

    def tenant() -> dict[str, str]:
        made = create_workspace("bench", "bench@example.test", "pro")
        WorkspaceModel(made.workspace.workspace_id).update(actions=[WorkspaceModel.limits.set(UNLIMITED)])
        return {"Authorization": f"Bearer {made.secret}", "Content-Type": "application/json"}

    def run(messages: list) -> float:
        started = time.perf_counter()
        result = chalice_app.worker(event_from(messages), LocalContext("worker", 300))
        elapsed = time.perf_counter() - started
        assert result == {"batchItemFailures": []}, result
        return elapsed

    figures: dict[str, Any] = {}
    with app_client() as client:  # stage `test` (Chalice's default `dev` refuses the local provider)

        def post(auth: dict[str, str], n: int, prompt: str) -> None:
            body = json.dumps({"prompt": prompt, "n": n, "size": "512x512"})
            response = client.http.post("/v1/jobs", headers=auth, body=body)
            assert response.status_code == 202, response.body

        first = tenant()
        post(first, 1, "warm-up")  # clients, connections, imports: what a warm container has
        run(receive())
        requests = Requests()
        post(first, 4, "one job of four")
        message = receive()
        requests.calls.clear()
        figures["job_n4_seconds"] = run(message)
        figures["job_requests"] = dict(requests.calls)

        def batch() -> list:
            for i in range(10):  # each job in its own workspace: no wallet is shared
                post(tenant(), 1, f"batch job {i}")
            messages = receive(10)
            assert len(messages) == 10, len(messages)
            return messages

        messages = batch()
        requests.calls.clear()
        moto.reset_lock()
        figures["batch10_seconds"] = run(messages)
        lock = moto.lock()
        figures["batch10_requests"] = sum(requests.calls.values())
        figures["batch10_lock_wait_s"] = lock["waited_s"]
        figures["batch10_lock_held_s"] = lock["held_s"]
        figures["batch10_lock_held_by"] = lock.get("held_by", {})
        # Memory from a second, untimed batch: tracemalloc slows every allocation (it made the
        # timed batch 10-20% slower when it ran during it).
        messages = batch()
        tracemalloc.start()
        run(messages)
        figures["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    moto.stop()
    return figures


def main() -> None:
    os.environ["LOCAL_PROVIDER_LATENCY_MS"] = str(int(LATENCY_S * 1000))
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    figures = measure()
    print(
        json.dumps(
            {
                "job_n4_seconds": round(figures["job_n4_seconds"], 3),
                "job_n4_ratio": round(figures["job_n4_seconds"] / LATENCY_S, 2),
                "batch10_seconds": round(figures["batch10_seconds"], 3),
                "batch10_ratio": round(figures["batch10_seconds"] / LATENCY_S, 2),
                # A job's AWS requests on its critical path (the n=4 job, worker side), and the
                # batch's ratio with moto's lock wait taken out: moto serves one request at a
                # time, so each of the 10 jobs waits on average lock_wait / 10 behind the others'
                # requests, where DynamoDB, S3 and SQS would serve them in parallel.
                "job_critical_path_aws_requests": sum(figures["job_requests"].values()),
                "job_critical_path_aws_requests_by_call": figures["job_requests"],
                "batch10_aws_requests": figures["batch10_requests"],
                "batch10_moto_lock_wait_s": round(figures["batch10_lock_wait_s"], 3),
                "batch10_moto_lock_held_s": round(figures["batch10_lock_held_s"], 3),
                # where moto's serial time goes, by operation (ms for the whole batch)
                "batch10_moto_held_ms_by_operation": {
                    op.split(".")[-1]: round(s * 1000)
                    for op, s in sorted(figures["batch10_lock_held_by"].items(), key=lambda kv: -kv[1])
                },
                "batch10_ratio_without_moto_lock_wait": round(
                    (figures["batch10_seconds"] - figures["batch10_lock_wait_s"] / 10) / LATENCY_S, 2
                ),
                "worker_peak_python_alloc_mb": round(figures["peak"] / 2**20, 1),
                "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
