"""Gallery benchmark: DynamoDB requests for a gallery page (newest, top), a search, a tag and a
filtered search, a public collection page, one publish, one like and one report, at growing
numbers of published images (they must not grow with the gallery).

    .venv/bin/python bench/gallery.py [sizes...]     # default: 1000 3000

Runs on moto's server (serialized, loopback); each size gets fresh tables, seeded directly
(image rows, entries, index and rank rows as publishing writes them). The rate-limit window of
each public request is one of the writes counted. The last line printed is one JSON object.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.accounting import start_moto  # noqa: E402
from bench.library import _setup  # noqa: E402
from chalicelib.store.request_counter import RequestCounter  # noqa: E402

PAGE = 20
WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "glacier", "harbor", "island", "jungle"]


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _published(workspace_id: str, user_id: str, n: int, key: str) -> tuple[Any, Any]:
    """The n-th seeded image and its gallery entry: three words (a tenth share "snow"), a tenth
    tagged "blue", n % 7 likes."""
    from chalicelib import clock, ids
    from chalicelib.gallery import rules
    from chalicelib.gallery.publishing import facets_of
    from chalicelib.store import images as image_store
    from chalicelib.store.models import GalleryEntryModel

    now = clock.now()
    image_id, listed = ids.new_id("img", now), ids.new_id("pub", now)
    prompt = f"{WORDS[n % 10]} {WORDS[(n // 10) % 10]} {'snow' if n % 10 == 0 else 'grass'}"
    row = image_store.new_image(
        workspace_id, image_id, job_id="job_bench", user_id=user_id, s3_key=key, width=8, height=8,
        content_type="image/png", size_bytes=100, source_image_id=None, kind="generate", created_at=now,
        prompt=prompt, provider="local", model="local-v1",
    )  # fmt: skip
    row.visibility, row.tags, row.thumb_key = "public", ["blue"] if n % 10 == 0 else [], key
    entry = GalleryEntryModel(
        image_id, workspace_id=workspace_id, listed_key=listed, facets=facets_of(row), likes=n % 7,
        rank_key=rules.rank_key(n % 7, listed), preview_key=key, original_key=key, published_by=user_id, published_at=now,
    )  # fmt: skip
    return row, entry


def _seed(workspace_id: str, user_id: str, count: int, key: str) -> list[str]:
    """`count` published images, written as publishing writes them (rows, entries, index rows)."""
    from chalicelib.gallery import rules
    from chalicelib.store.models import GalleryEntryModel, GalleryIndexModel, ImageModel

    made: list[str] = []
    for start in range(0, count, 500):
        pairs = [_published(workspace_id, user_id, n, key) for n in range(start, min(count, start + 500))]
        with GalleryIndexModel.batch_write() as batch:
            for _, entry in pairs:
                shard = rules.shard_of(str(entry.image_id), rules.INDEX_SHARDS)
                for facet in entry.facets:
                    batch.save(
                        GalleryIndexModel(rules.facet_pk(str(facet), shard), str(entry.listed_key), image_id=entry.image_id)
                    )
                batch.save(GalleryIndexModel(f"top#{shard}", str(entry.rank_key), image_id=entry.image_id))
        for model, index in ((ImageModel, 0), (GalleryEntryModel, 1)):
            with model.batch_write() as writes:
                for pair in pairs:
                    writes.save(pair[index])
        made += [str(row.image_id) for row, _ in pairs]
    return made


def _private_image(workspace_id: str, user_id: str, key: str) -> str:
    """One image not published yet (what the publish measured publishes)."""
    from chalicelib import clock, ids
    from chalicelib.store import images as image_store

    now = clock.now()
    row = image_store.new_image(
        workspace_id, ids.new_id("img", now), job_id="job_bench", user_id=user_id, s3_key=key, width=8, height=8,
        content_type="image/png", size_bytes=100, source_image_id=None, kind="generate", created_at=now,
        prompt="a brand new picture", provider="local", model="local-v1",
    )  # fmt: skip
    row.thumb_key = key
    row.save()
    return str(row.image_id)


def _requests(counter: RequestCounter, action: Any) -> Any:
    counter.reset()
    action()
    return dict(counter.calls) if os.environ.get("BENCH_DETAIL") else counter.total


def measure(size: int) -> dict[str, Any]:
    from chalicelib.aws import client
    from chalicelib.gallery import collections, feedback, listing, publishing, rules
    from chalicelib.library.images import Actor
    from chalicelib.settings import get_settings
    from chalicelib.tenancy import create_workspace

    os.environ.update({"GALLERY_READS_PER_MINUTE": "1000000", "GALLERY_LIKES_PER_MINUTE": "1000000"})
    os.environ["GALLERY_REPORTS_PER_MINUTE"] = "1000000"
    made = create_workspace("bench", f"gallery{size}@example.test", "enterprise")
    actor = Actor(made.workspace.workspace_id, made.owner.user_id, True, "enterprise", {})
    key = f"images/{actor.workspace_id}/bench/one.png"
    client("s3").put_object(Bucket=get_settings().images_bucket, Key=key, Body=_png(), ContentType="image/png")
    published = _seed(actor.workspace_id, actor.user_id, size, key)
    fresh = _private_image(actor.workspace_id, actor.user_id, key)
    album = collections.create_collection(actor, "Bench", None, "unlisted")
    collections.add_items(actor, album.id, published[:100])
    counter = RequestCounter()
    counter.install()
    try:

        def page(query: rules.Query) -> Any:
            return lambda: listing.list_gallery(query, PAGE, None, "198.51.100.1")

        return {
            "page_new": _requests(counter, page(rules.Query())),
            "page_top": _requests(counter, page(rules.Query(sort="top"))),
            "search_word": _requests(counter, page(rules.Query(words=("snow",)))),
            "tag_filter": _requests(counter, page(rules.Query(tag="blue"))),
            "search_word_and_tag_top": _requests(counter, page(rules.Query(sort="top", words=("amber",), tag="blue"))),
            "public_collection_page": _requests(
                counter, lambda: collections.public_collection(album.id, "198.51.100.1", 0, PAGE)
            ),
            "publish": _requests(counter, lambda: publishing.publish(actor, fresh)),
            "like": _requests(counter, lambda: feedback.like(published[5], "198.51.100.2")),
            "report": _requests(counter, lambda: feedback.report(published[5], "spam", None, "198.51.100.3")),
        }
    finally:
        counter.uninstall()


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 3000]
    port, stop = start_moto()
    try:
        counts = {}
        for size in sizes:  # fresh tables per size: the gallery holds exactly `size` published images
            _setup(port, f"bench-gallery-{size}")
            counts[str(size)] = measure(size)
            print(f"{size} published images: {counts[str(size)]}", file=sys.stderr)
        result = {"page": PAGE, "requests": counts}
    finally:
        stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
