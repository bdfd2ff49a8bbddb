"""Library benchmark: DynamoDB requests for a folder page, a tag filter, a prompt-word search and
a 500-image bulk move, at growing library sizes (they must not grow with the library).

    .venv/bin/python bench/library.py [sizes...]     # default: 1000 100000

Runs on moto's server (serialized, loopback; seeding 100,000 images there takes a long while:
pass smaller sizes to try it). The last line printed is one JSON object; `export_100_zip` is the
time to build a 100-image export zip (256 KiB originals, streamed into a multipart upload) next to
the time to read those objects once, and their ratio.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.accounting import start_moto  # noqa: E402
from chalicelib.store.request_counter import RequestCounter  # noqa: E402

PAGE = 20


def _setup(port: int, prefix: str) -> None:
    os.environ.update({"STAGE": "test", "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_NAMESPACE": "Bench"})
    from chalicelib import bootstrap
    from chalicelib.local.stack import configure_environment, create_resources
    from chalicelib.store.models import ALL_MODELS

    for model in ALL_MODELS:  # moto copies every table per transaction: slow at 100k rows, not DynamoDB's cost
        model.Meta.read_timeout_seconds = model.Meta.connect_timeout_seconds = 600
    configure_environment(port, prefix, STAGE="test")
    create_resources()
    bootstrap.reset()


def _seed(workspace_id: str, user_id: str, count: int, folder_id: str) -> list[str]:
    """`count` images (a tenth in the folder, a tenth tagged "blue", every one with its words)."""
    from chalicelib import clock, ids
    from chalicelib.library.changes import index_rows
    from chalicelib.store import images as image_store
    from chalicelib.store import library_index
    from chalicelib.store.models import ImageModel

    made: list[str] = []
    for start in range(0, count, 1000):
        rows = []
        for n in range(start, min(count, start + 1000)):
            image_id = ids.new_id("img", clock.now())
            row = image_store.new_image(
                workspace_id, image_id, job_id="job_bench", user_id=user_id, s3_key=f"images/{workspace_id}/b/{n}.png",
                width=8, height=8, content_type="image/png", size_bytes=100, source_image_id=None, kind="generate",
                created_at=clock.now(), prompt=f"a fox number {n} in {'snow' if n % 10 == 0 else 'grass'}",
                provider="local", model="local-v1",
            )  # fmt: skip
            if n % 10 == 0:
                row.tags, row.folder_id = ["blue"], folder_id
                row.folder_key = image_store.folder_key(workspace_id, folder_id)
            rows.append(row)
        library_index.put_facets(workspace_id, index_rows(rows))
        with ImageModel.batch_write() as batch:
            for row in rows:
                batch.save(row)
        made += [str(row.image_id) for row in rows]
    return made


def _export_bench() -> dict[str, Any]:
    """On the last size's tables: a workspace of its own with 100 images."""
    from chalicelib.tenancy import create_workspace

    made = create_workspace("bench export", "bench-export@example.test", "enterprise")
    workspace_id, user_id = made.workspace.workspace_id, made.owner.user_id
    image_ids = _seed(workspace_id, user_id, 100, "fld_none")
    return export_timing(workspace_id, user_id, image_ids)


def _requests(counter: RequestCounter, action: Any) -> int:
    counter.reset()
    action()
    return dict(counter.calls) if os.environ.get("BENCH_DETAIL") else counter.total


def measure(size: int) -> dict[str, Any]:
    from chalicelib.library import bulk, folders, images
    from chalicelib.store import folders as folder_store
    from chalicelib.tenancy import create_workspace

    made = create_workspace("bench", f"bench{size}@example.test", "enterprise")
    actor = images.Actor(made.workspace.workspace_id, made.owner.user_id, True, "enterprise", {})
    source = folders.create_folder(actor, "Source", None)
    target = folders.create_folder(actor, "Target", None)
    seeded = _seed(actor.workspace_id, actor.user_id, size, source.id)
    folder_store.FolderModel(actor.workspace_id, source.id).update(actions=[folder_store.FolderModel.image_count.set(size // 10)])
    counter = RequestCounter()
    counter.install()
    try:

        def page(f: Any) -> Any:
            return lambda: images.list_images(actor.workspace_id, f, PAGE, None)

        return {
            "folder_page": _requests(counter, page(images.Filters(folder_id=source.id))),
            "tag_filter": _requests(counter, page(images.Filters(tag="blue"))),
            "word_search": _requests(counter, page(images.Filters(words=("snow",)))),
            "bulk_move_500": _requests(counter, lambda: bulk.bulk(actor, "move", seeded[:500], target.id)),
        }
    finally:
        counter.uninstall()


def export_timing(workspace_id: str, user_id: str, image_ids: list[str], size: int = 256 * 1024) -> dict[str, Any]:
    """Seconds to read `image_ids`' originals once, and to build their export zip."""
    from chalicelib import clock, ids
    from chalicelib.library import objects
    from chalicelib.library.export_worker import write_zip
    from chalicelib.library.exports import export_key
    from chalicelib.store import images as image_store
    from chalicelib.store.models import ExportModel, ImageModel

    payload = os.urandom(size)
    rows = list(image_store.get_images(workspace_id, image_ids).values())
    for row in rows:
        objects.put(str(row.s3_key), payload, "image/png")
        row.update(actions=[ImageModel.bytes.set(size)])
    started = time.perf_counter()
    for row in rows:
        for _ in objects.stream(str(row.s3_key)):
            pass
    read_s = time.perf_counter() - started
    export_id = ids.new_id("exp")
    export = ExportModel(
        workspace_id, export_id, user_id=user_id, image_ids=[str(r.image_id) for r in rows], bytes=size * len(rows),
        zip_key=export_key(workspace_id, export_id), created_at=clock.now(),
    )  # fmt: skip
    started = time.perf_counter()
    write_zip(export, rows)
    build_s = time.perf_counter() - started
    return {"images": len(rows), "bytes_each": size, "read_s": round(read_s, 3), "build_s": round(build_s, 3),
            "ratio": round(build_s / read_s, 2)}  # fmt: skip


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 100_000]
    port, stop = start_moto()
    try:
        counts = {}
        for size in sizes:  # fresh tables per size: the library holds exactly `size` images
            _setup(port, f"bench-library-{size}")
            counts[str(size)] = measure(size)
        result = {"page": PAGE, "requests": counts, "export_100_zip": _export_bench()}
    finally:
        stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
