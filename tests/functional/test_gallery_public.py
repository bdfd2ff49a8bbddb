"""The public gallery: publishing, what anyone sees (and never sees), search against a brute-force
scan, deep pagination, top by likes, public and unlisted collections, cache headers, rate limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.functional.gallery_helpers import GENEROUS, add, collection, every_page, gallery, gallery_ids, publish, seed_images
from tests.functional.helpers import call
from tests.functional.library_helpers import member_of


@pytest.fixture(autouse=True)
def _generous_limits(monkeypatch: Any) -> None:
    """Every request of the tests comes from one address; the limit itself has its own test."""
    for name, value in GENEROUS.items():
        monkeypatch.setenv(name, value)


def test_publish_shows_the_image_to_anyone_and_leaks_nothing(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, ["a zanzibarian lighthouse at dusk"], tags=[["sea"]])
    assert gallery_ids(api, "?q=zanzibarian") == []
    body = publish(api, tenant, image)
    assert body["image"]["visibility"] == "public"
    status, page, headers = gallery(api, "?q=zanzibarian")
    assert status == 200 and [item["id"] for item in page["data"]] == [image]
    (item,) = page["data"]
    assert item["prompt"] == "a zanzibarian lighthouse at dusk" and item["tags"] == ["sea"] and item["likes"] == 0
    assert item["creator"].startswith("cr_") and item["provider"] == "local" and item["published_at"]
    text = json.dumps(page)
    for private in (tenant.workspace_id, tenant.user_id, "owner", "@example.test", "/seed/", "job_seed"):
        assert private not in text, private
    assert requests.get(item["preview_url"], timeout=10).content[:3] == b"\xff\xd8\xff"
    assert requests.get(item["url"], timeout=10).content[:4] == b"\x89PNG"
    assert headers["Cache-Control"] == "public, max-age=30" and headers["ETag"].startswith('W/"')
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
    publish(api, tenant, image)  # again: still one entry
    assert gallery_ids(api, "?q=zanzibarian") == [image]
    status, body, _ = call(api, "POST", f"/v1/images/{image}/unpublish", tenant)
    assert status == 200 and body["image"]["visibility"] == "private"
    assert gallery_ids(api, "?q=zanzibarian") == []
    assert requests.get(item["url"], timeout=10).status_code == 404  # the public copy is gone at once
    assert call(api, "POST", f"/v1/images/{image}/unpublish", tenant)[0] == 200  # idempotent


def test_publishing_is_refused_for_trashed_foreign_images_and_for_members(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    member = member_of(owner, "member")
    trashed, foreign, members = seed_images(owner, ["t", "f", "m"])
    call(api, "DELETE", f"/v1/images/{trashed}", owner)
    body = publish(api, owner, trashed, 409)
    assert body["error"]["code"] == "conflict" and "trash" in body["error"]["message"]
    assert publish(api, stranger, foreign, 404)["error"]["code"] == "not_found"
    assert publish(api, member, members, 403)["error"]["scope"] == "library:manage"
    assert call(api, "POST", f"/v1/images/{members}/unpublish", member)[0] == 403
    for image in (trashed, foreign, members):
        assert call(api, "GET", f"/v1/images/{image}", owner)[1]["image"]["visibility"] == "private"


def test_trash_takes_an_image_out_and_restore_brings_it_back_and_edits_reindex(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, ["a quokkaish smile"], tags=[["animal"]])
    publish(api, tenant, image)
    call(api, "DELETE", f"/v1/images/{image}", tenant)
    assert gallery_ids(api, "?q=quokkaish") == []
    call(api, "POST", f"/v1/images/{image}/restore", tenant)
    assert gallery_ids(api, "?q=quokkaish") == [image]
    call(api, "PATCH", f"/v1/images/{image}", tenant, {"tags": ["quokkatag"], "title": "Quokkatitle"})
    assert gallery_ids(api, "?q=quokkaish&tag=animal") == []  # the row decides: the tag is gone
    assert gallery_ids(api, "?tag=quokkatag") == []  # not indexed until published again
    publish(api, tenant, image)
    assert gallery_ids(api, "?tag=quokkatag") == [image] and gallery_ids(api, "?q=quokkatitle") == [image]
    assert gallery_ids(api, "?tag=animal") == []


VOCABULARY = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "glacier", "harbor"]
MODELS = {"local": "local-v1", "openai": "gpt-image-1", "gemini": "imagen-4.0-generate-001"}


def token() -> str:
    """A word no other test's image has: the gallery's tables are shared by the whole session."""
    import secrets

    return "tok" + secrets.token_hex(6)


def _brute_force(rows: dict[str, Any], entries: dict[str, Any], query: dict[str, str]) -> list[str]:
    """Every published, live image that passes every filter, newest published first."""
    from chalicelib.library.rules import words_of

    found = []
    for image_id, row in rows.items():
        if row.visibility != "public" or row.trashed_at is not None or image_id not in entries:
            continue
        words = set(words_of(row.title, row.prompt))
        if query.get("q") and not set(words_of(query["q"])) <= words:
            continue
        if query.get("tag") and query["tag"] not in (row.tags or []):
            continue
        if any(query.get(k) and getattr(row, k) != query[k] for k in ("provider", "model")):
            continue
        found.append(image_id)
    return sorted(found, key=lambda i: entries[i].listed_key, reverse=True)


def _path(query: dict[str, str]) -> str:
    return "/v1/gallery?" + "&".join(f"{k}={v.replace(' ', '+')}" for k, v in query.items())


def test_search_and_filters_match_a_brute_force_scan(api: Any, make_tenant: Any) -> None:
    from chalicelib.store import images as image_store
    from chalicelib.store.models import GalleryEntryModel

    tenants, mark = [make_tenant(), make_tenant()], token()
    made: list[tuple[Any, str]] = []
    for n in range(36):
        words = f"{VOCABULARY[n % 8]} {VOCABULARY[(n * 3) % 8]} scene {n} {mark if n % 5 else ''}"
        provider = list(MODELS)[n % 3]
        tags = [[f"{mark}-t{n % 4}"]]
        made.append(
            (tenants[n % 2], seed_images(tenants[n % 2], [words], tags=tags, provider=provider, model=MODELS[provider])[0])
        )
    for n, (tenant, image) in enumerate(made):
        if n % 6 != 5:  # a sixth stays private
            publish(api, tenant, image)
    for tenant, image in made[:2]:
        call(api, "DELETE", f"/v1/images/{image}", tenant)
    call(api, "POST", f"/v1/images/{made[3][1]}/unpublish", made[3][0])
    rows = {i: image_store.get_image(t.workspace_id, i) for t, i in made}
    entries = {row.image_id: row for row in GalleryEntryModel.batch_get([i for _, i in made])}
    queries = [
        {"q": mark},
        {"q": f"amber {mark}"},
        {"q": f"cobalt ember {mark}"},
        {"q": f"scene 17 {mark}"},
        {"tag": f"{mark}-t2"},
        {"tag": f"{mark}-t3", "q": "glacier"},
        {"q": mark, "provider": "openai"},
        {"q": mark, "model": "imagen-4.0-generate-001"},
        {"tag": f"{mark}-t1", "provider": "local"},
        {"tag": f"{mark}-t0", "sort": "top"},
        {"q": f"dune {mark}", "model": "local-v1", "sort": "top"},
        {"q": f"nothingmatches {mark}"},
    ]
    for query in queries:
        expected = _brute_force(rows, entries, {k: v for k, v in query.items() if k != "sort"})
        assert every_page(api, _path(query), 5) == expected, query
    everything = every_page(api, "/v1/gallery", 50)  # the "all" listing, shared with other tests
    assert len(everything) == len(set(everything))
    assert [i for i in everything if i in rows] == _brute_force(rows, entries, {})


def test_deep_pagination_sees_every_image_once_in_order(api: Any, make_tenant: Any) -> None:
    from chalicelib.store.models import GalleryEntryModel

    tenant, mark = make_tenant(), token()
    tags = [[mark, f"{mark}-rare"] if n % 9 == 0 else [mark] for n in range(43)]
    images = seed_images(tenant, [f"deep {n}" for n in range(43)], tags=tags)
    for image in images:
        publish(api, tenant, image)
    entries = {row.image_id: row.listed_key for row in GalleryEntryModel.batch_get(images)}
    newest = sorted(images, key=lambda i: entries[i], reverse=True)
    rare = [i for i in newest if images.index(i) % 9 == 0]
    assert every_page(api, f"/v1/gallery?tag={mark}", 7) == newest
    assert every_page(api, f"/v1/gallery?tag={mark}&sort=top", 9) == newest  # no likes: ties, newest first
    assert every_page(api, f"/v1/gallery?tag={mark}-rare", 2) == rare
    assert every_page(api, f"/v1/gallery?sort=top&tag={mark}-rare&provider=local", 1) == rare
    top = every_page(api, "/v1/gallery?sort=top", 100)  # everyone's, most liked first
    assert len(top) == len(set(top)) and [i for i in top if i in entries] == newest


def test_top_ranks_by_likes_counted_once_per_client(api: Any, make_tenant: Any) -> None:
    from chalicelib.gallery import feedback

    tenant, mark = make_tenant(), token()
    loved, liked, ignored = seed_images(tenant, ["loved", "liked", "ignored"], tags=[[mark]] * 3)
    for image in (loved, liked, ignored):
        publish(api, tenant, image)
    for n in range(5):
        assert feedback.like(loved, f"198.51.100.{n}").value.liked
    for n in range(2):
        feedback.like(liked, f"198.51.100.{n}")
    again = feedback.like(loved, "198.51.100.0").value
    assert not again.liked and again.likes == 5
    assert every_page(api, f"/v1/gallery?sort=top&tag={mark}", 2) == [loved, liked, ignored]
    assert gallery_ids(api, f"?tag={mark}") == [ignored, liked, loved]
    status, body, _ = call(api, "POST", f"/v1/gallery/images/{ignored}/like")
    assert status == 200 and body == {"image_id": ignored, "liked": True, "likes": 1}
    assert call(api, "POST", f"/v1/gallery/images/{ignored}/like")[1]["liked"] is False
    top = gallery(api, f"?sort=top&tag={mark}")[1]["data"]
    assert top[0]["likes"] >= 3 and top[1]["likes"] == 2  # ranked counts trail by at most half
    call(api, "POST", f"/v1/images/{loved}/unpublish", tenant)
    assert call(api, "POST", f"/v1/gallery/images/{loved}/like")[0] == 404
    assert every_page(api, f"/v1/gallery?sort=top&tag={mark}", 5) == [liked, ignored]


def test_likes_are_sharded_and_rank_writes_stay_logarithmic(api: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from chalicelib.gallery import feedback, rules
    from chalicelib.store import gallery as store
    from chalicelib.store.models import GalleryIndexModel

    tenant = make_tenant()
    (image,) = seed_images(tenant, ["viral"])
    publish(api, tenant, image)
    moves: list[int] = []
    original = store.move_rank
    monkeypatch.setattr(store, "move_rank", lambda entry, likes: moves.append(likes) or original(entry, likes))
    for n in range(48):
        feedback.like(image, f"203.0.113.{n}")
    shards = store.like_shards(image)
    assert sum(shards.values()) == 48 and len(shards) > 8 and max(shards.values()) < 48
    assert len(moves) <= 40  # about log2(count) per shard (here 48 likes on 16 shards), never one per like
    entry = store.get_entry(image)
    assert entry is not None and 24 <= entry.likes <= 48
    rank_rows = GalleryIndexModel.query(f"top#{rules.shard_of(image, rules.INDEX_SHARDS)}")
    assert [row.sk for row in rank_rows if row.image_id == image] == [entry.rank_key]  # one current rank row


def test_concurrent_publishes_and_unpublishes_leave_one_consistent_state(api: Any, make_tenant: Any) -> None:
    """An image is public exactly when its entry exists, and listed at most once, however
    publishes and unpublishes interleave."""
    import threading

    from chalicelib.gallery import publishing
    from chalicelib.gallery.errors import NotPublishable
    from chalicelib.library.images import Actor
    from chalicelib.store import gallery as store
    from chalicelib.store import images as image_store

    tenant, mark = make_tenant(), token()
    (image,) = seed_images(tenant, ["contested"], tags=[[mark]])
    actor = Actor(tenant.workspace_id, tenant.user_id, True)

    def work(n: int) -> None:
        for _ in range(3):
            try:
                (publishing.publish if n % 2 == 0 else publishing.unpublish)(actor, image)
            except NotPublishable:  # kept losing the race: nothing half-written, the test checks
                pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(2):  # the final state, then the opposite one: both consistent
        row, entry = image_store.get_image(tenant.workspace_id, image), store.get_entry(image)
        assert row is not None and (row.visibility == "public") == (entry is not None)
        assert gallery_ids(api, f"?tag={mark}") == ([image] if entry is not None else [])
        assert every_page(api, f"/v1/gallery?tag={mark}&sort=top", 5) == ([image] if entry is not None else [])
        (publishing.unpublish if entry is not None else publishing.publish)(actor, image)


def test_a_reindex_racing_a_rerank_keeps_the_new_rank(api: Any, make_tenant: Any, monkeypatch: Any) -> None:
    """Publishing again after an edit reads the entry, then a like re-ranks it, then the re-index
    writes: the entry must keep the rank the like gave it (else the image drops out of `top`)."""
    from chalicelib.gallery import feedback, publishing
    from chalicelib.store import gallery as store

    tenant, mark = make_tenant(), token()
    (image,) = seed_images(tenant, ["raced"], tags=[[mark]])
    publish(api, tenant, image)
    call(api, "PATCH", f"/v1/images/{image}", tenant, {"tags": [mark, f"{mark}-new"]})
    read = store.get_entry

    def read_then_like(image_id: str) -> Any:
        entry = read(image_id)
        monkeypatch.setattr(store, "get_entry", read)  # once: the like reads the entry too
        feedback.like(image_id, "192.0.2.77")  # the first like of a shard: a re-rank
        return entry

    monkeypatch.setattr(store, "get_entry", read_then_like)
    publishing.publish(publishing.Actor(tenant.workspace_id, tenant.user_id, True), image)
    entry = store.get_entry(image)
    assert entry is not None and entry.likes == 1 and f"tag:{mark}-new" in entry.facets
    assert every_page(api, f"/v1/gallery?sort=top&tag={mark}-new", 5) == [image]


def test_a_date_range_filters_by_publish_time(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    tenant, mark = make_tenant(), token()
    images = seed_images(tenant, [f"dated {n}" for n in range(4)], tags=[[mark]] * 4)
    for image in images:  # published an hour apart, from 12:00
        publish(api, tenant, image)
        frozen_clock.advance(hours=1)
    window = "from=2026-11-24T13:00:00Z&to=2026-11-24T14:00:00Z"
    assert every_page(api, f"/v1/gallery?tag={mark}&{window}", 1) == [images[2], images[1]]
    assert every_page(api, f"/v1/gallery?tag={mark}&sort=top&{window}", 1) == [images[2], images[1]]
    assert every_page(api, f"/v1/gallery?tag={mark}&from=2026-11-24T14:00:01Z", 5) == [images[3]]
    assert every_page(api, f"/v1/gallery?tag={mark}&to=2026-11-24", 5) == []
    status, body, _ = gallery(api, "?from=2026-11-25&to=2026-11-24")
    assert status == 400 and body["error"]["field"] == "from"
    assert gallery(api, "?from=tomorrow")[1]["error"]["field"] == "from"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?order=new", "order"),
        ("?sort=old", "sort"),
        ("?q=a", "q"),
        ("?q=" + "x" * 201, "q"),
        ("?q=one+two+three+four+five+six", "q"),
        ("?tag=a%23b", "tag"),
        ("?tag=" + "t" * 41, "tag"),
        ("?provider=a+b", "provider"),
        ("?model=" + "m" * 101, "model"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?cursor=abc", "cursor"),
        ("?cursor=e30.AAAA", "cursor"),
    ],
)
def test_bad_parameters_are_400_never_ignored(api: Any, query: str, field: str) -> None:
    status, body, _ = gallery(api, query)
    assert status == 400 and body["error"]["code"] == "invalid_request" and body["error"]["field"] == field, body


def test_cursors_are_bound_to_their_listing_and_filters(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    images = seed_images(tenant, ["xylocursor one", "xylocursor two", "xylocursor three"])
    for image in images:
        publish(api, tenant, image)
    cursor = gallery(api, "?q=xylocursor&limit=1")[1]["next_cursor"]
    assert cursor and gallery(api, f"?q=xylocursor&limit=1&cursor={cursor}")[0] == 200
    for other in ("?q=xylocursor&sort=top", "?q=one", "?tag=x", ""):
        sep = "&" if other else "?"
        status, body, _ = gallery(api, f"{other}{sep}cursor={cursor}")
        assert status == 400 and body["error"]["field"] == "cursor", other
    made = collection(api, tenant, "unlisted")
    assert call(api, "GET", f"/v1/gallery/collections/{made['id']}?cursor={cursor}")[0] == 400


def test_etag_answers_304_until_the_page_changes(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    first, second = seed_images(tenant, ["etagword first", "etagword second"])
    publish(api, tenant, first)
    status, _, headers = gallery(api, "?q=etagword")
    tag = headers["ETag"]
    status, body, again = gallery(api, "?q=etagword", {"If-None-Match": tag})
    assert status == 304 and body == {} and again["ETag"] == tag
    assert gallery(api, "?q=etagword", {"If-None-Match": 'W/"other"'})[0] == 200
    publish(api, tenant, second)
    status, _, changed = gallery(api, "?q=etagword", {"If-None-Match": tag})
    assert status == 200 and changed["ETag"] != tag


def test_public_reads_are_rate_limited_per_client(api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: Any) -> None:
    from chalicelib.gallery import listing, rules
    from chalicelib.gallery.errors import ClientRateLimited

    frozen_clock.set(datetime(2031, 7, 9, 10, 11, 5, tzinfo=UTC))  # a minute no other test counts in
    monkeypatch.setenv("GALLERY_READS_PER_MINUTE", "3")
    remaining = [gallery(api, "?limit=1")[2]["RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    status, body, headers = gallery(api, "?limit=1")
    assert status == 429 and body["error"]["code"] == "rate_limited" and body["error"]["scope"] == "client"
    assert headers["Retry-After"] == "55" and headers["RateLimit-Remaining"] == "0"
    assert call(api, "GET", "/v1/gallery/collections")[0] == 429  # the same budget
    listing.list_gallery(rules.Query(), 1, None, "192.0.2.44")  # another address is not affected
    with pytest.raises(ClientRateLimited):
        for _ in range(4):
            listing.list_gallery(rules.Query(), 1, None, "192.0.2.45")
    frozen_clock.advance(minutes=1)
    assert gallery(api, "?limit=1")[0] == 200


def test_public_unlisted_and_private_collections(api: Any, make_tenant: Any) -> None:
    tenant, stranger = make_tenant(), make_tenant()
    published, private_image, trashed = seed_images(tenant, ["shown prompt", "unpublished secret prompt", "trashed"])
    publish(api, tenant, published)
    shown = {v: collection(api, tenant, v, name=f"{v} album") for v in ("public", "unlisted", "private")}
    for made in shown.values():
        add(api, tenant, made["id"], [trashed, private_image, published])
    call(api, "DELETE", f"/v1/images/{trashed}", tenant)
    for visibility in ("public", "unlisted"):
        status, body, headers = call(api, "GET", f"/v1/gallery/collections/{shown[visibility]['id']}")
        assert status == 200 and headers["Cache-Control"].startswith("public")
        assert body["collection"]["visibility"] == visibility and body["collection"]["item_count"] == 3
        assert [item["id"] for item in body["data"]] == [private_image, published]  # never the trash
        assert body["data"][0]["prompt"] is None and body["data"][1]["prompt"] == "shown prompt"
        assert body["collection"]["cover_image_id"] is None  # the cover is in the trash: not shown
        text = json.dumps(body)
        assert tenant.workspace_id not in text and tenant.user_id not in text and "/seed/" not in text
        assert requests.get(body["data"][0]["preview_url"], timeout=10).content[:3] == b"\xff\xd8\xff"
    for who in (None, tenant, stranger):  # private: 404 for anyone, the owner's key changes nothing here
        status, body, _ = call(api, "GET", f"/v1/gallery/collections/{shown['private']['id']}", who)
        assert status == 404 and body["error"]["code"] == "not_found"
    assert call(api, "GET", "/v1/gallery/collections/col_nothing")[0] == 404
    listed = every_page(api, "/v1/gallery/collections", 50)
    assert shown["public"]["id"] in listed and shown["unlisted"]["id"] not in listed and shown["private"]["id"] not in listed
    call(api, "PATCH", f"/v1/collections/{shown['public']['id']}", tenant, {"visibility": "private"})
    assert shown["public"]["id"] not in every_page(api, "/v1/gallery/collections", 50)
    assert call(api, "GET", f"/v1/gallery/collections/{shown['public']['id']}")[0] == 404


def test_public_collection_pages_follow_the_order(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    images = seed_images(tenant, [f"ordered {n}" for n in range(9)])
    made = collection(api, tenant, "unlisted")
    add(api, tenant, made["id"], images)
    order = list(reversed(images))
    call(api, "PUT", f"/v1/collections/{made['id']}/order", tenant, {"image_ids": order})
    assert every_page(api, f"/v1/gallery/collections/{made['id']}", 4) == order


def test_a_share_of_a_collection_lists_its_live_items_in_order(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    first, second, third = seed_images(tenant, ["first", "second", "third"])
    made = collection(api, tenant)
    add(api, tenant, made["id"], [third, first, second])
    call(api, "PATCH", f"/v1/images/{first}", tenant, {"title": "First"})
    status, body, _ = call(
        api, "POST", "/v1/shares", tenant, {"target": {"type": "collection", "id": made["id"]}, "permission": "view"}
    )
    assert status == 201 and body["share"]["target"] == {"type": "collection", "id": made["id"]}, body
    token = body["share"]["url"].rsplit("/s/", 1)[1]
    status, shared, _ = call(api, "GET", f"/s/{token}")
    assert status == 200 and shared["type"] == "collection" and shared["name"] == "Album"
    assert [item["title"] for item in shared["items"]] == [None, "First", None] and made["id"] not in json.dumps(shared)
    call(api, "DELETE", f"/v1/images/{third}", tenant)
    assert [item["title"] for item in call(api, "GET", f"/s/{token}")[1]["items"]] == ["First", None]
    stranger = make_tenant()
    status, body, _ = call(
        api, "POST", "/v1/shares", stranger, {"target": {"type": "collection", "id": made["id"]}, "permission": "view"}
    )
    assert status == 404, body
    call(api, "DELETE", f"/v1/collections/{made['id']}", tenant)
    assert call(api, "GET", f"/s/{token}")[0] == 404
