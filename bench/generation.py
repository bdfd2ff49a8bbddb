"""Generation speed: a job's n images and a batch's messages run concurrently.

    .venv/bin/python bench/generation.py

Against the local provider with 0.5 s injected latency: one job of n=4, and one SQS batch of
10 jobs, through the real worker Lambda handler. Prints wall time / 0.5 s as `job_n4_ratio`
(target <= 1.5) and `batch10_ratio` (DESIGN: well under 10; target <= 5), and the worker's peak memory, as one
JSON object on the last line.

It runs on the local stack's moto server, which handles one call at a time
(DynamoDB stays atomic, as on AWS): a batch's DynamoDB calls queue behind that lock, so the
figure is an upper bound of what the worker needs on AWS, where those calls run in parallel.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
LATENCY_S = float(os.environ.get("BENCH_LATENCY_S", "0.5"))


def measure() -> dict[str, float]:
    """One n=4 job and one batch of 10 through the worker handler, on the local stack's moto server."""
    from chalice.test import Client

    import app as chalice_app
    from chalicelib.local.lambda_events import LocalContext
    from chalicelib.local.moto_server import SerializedMotoServer
    from chalicelib.local.stack import configure_environment, create_resources, free_port
    from tests.functional.accounting_helpers import UNLIMITED
    from tests.functional.helpers import event_from, receive

    port = free_port()
    if os.environ.get("BENCH_MOTO_INPROCESS"):
        server = SerializedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        stop = server.stop
    else:
        # moto in its own process, as DynamoDB/S3/SQS are outside the Lambda: the worker's threads
        # do not share a GIL with the server's request handling.
        import subprocess

        proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.moto_server", str(port)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert proc.stdout is not None and proc.stdout.readline().startswith("moto listening")
        stop = proc.terminate
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

    figures: dict[str, float] = {}
    with Client(chalice_app.app) as client:

        def post(auth: dict[str, str], n: int, prompt: str) -> None:
            body = json.dumps({"prompt": prompt, "n": n, "size": "512x512"})
            response = client.http.post("/v1/jobs", headers=auth, body=body)
            assert response.status_code == 202, response.body

        first = tenant()
        post(first, 1, "warm-up")  # clients, connections, imports: what a warm container has
        run(receive())
        tracemalloc.start()
        post(first, 4, "one job of four")
        figures["job_n4_seconds"] = run(receive())
        for i in range(10):  # each job in its own workspace: no wallet is shared
            post(tenant(), 1, f"batch job {i}")
        messages = receive(10)
        assert len(messages) == 10, len(messages)
        figures["batch10_seconds"] = run(messages)
        figures["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    stop()
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
                "worker_peak_python_alloc_mb": round(figures["peak"] / 2**20, 1),
                "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
