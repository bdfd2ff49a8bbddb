"""The public gallery's pages: published images, newest or top, with search and filters.

Search, honestly: DynamoDB cannot rank full text, so the gallery keeps an inverted index of what
a published image is found by (its normalised prompt and title words, tags, provider, model) in
`store.gallery`, written by the publish path, spread over INDEX_SHARDS keys per facet. A page
reads one facet (the most selective filter; "top" reads the likes-ordered rows), one Query per
shard, merges them by key (rules.ready), then reads the entries and the image rows by key and
re-checks every filter on the row: at most MAX_ROUNDS x (INDEX_SHARDS + 2) requests a page,
whatever the gallery's size; with several filters a page may come back short, with a cursor.
The index is written synchronously, so it does not lag behind publishing.

The seam: routes call `search()`, which answers a `GallerySearch`. When the gallery outgrows this
(ranking by relevance, fuzzy words, many filters at once), an OpenSearch Serverless adapter with
the same `page` fed from the publish path (or a DynamoDB stream of `gallery_entries`) replaces
`DynamoGallerySearch` there; nothing else changes (docs in README "Gallery").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib import ids
from chalicelib.gallery import media, public, rules
from chalicelib.store import gallery as store
from chalicelib.store import images as image_store
from chalicelib.store.models import GalleryEntryModel, ImageModel

MAX_ROUNDS = 3
FILTERED_WINDOW = 50  # rows a shard's query reads per round when rows may fail a filter
BATCH = 100  # candidates checked per round: one BatchGetItem of entries, one of images


@dataclass(frozen=True)
class GalleryItem:
    """A published image as the public sees it: no workspace (an opaque creator handle instead)."""

    id: str
    title: str | None
    prompt: str | None
    tags: list[str]
    provider: str | None
    model: str | None
    width: int
    height: int
    content_type: str
    preview_url: str
    url: str
    creator: str
    likes: int
    published_at: datetime


class GallerySearch(Protocol):
    """What a gallery page needs from a search backend: items below a position, and the next one."""

    def page(self, query: rules.Query, limit: int, before: str | None) -> tuple[list[GalleryItem], str | None]: ...


def item_of(entry: GalleryEntryModel, row: ImageModel) -> GalleryItem:
    return GalleryItem(
        str(row.image_id), row.title, row.prompt, [str(t) for t in row.tags or []], row.provider, row.model,
        int(row.width), int(row.height), str(row.content_type), media.url(str(entry.preview_key)),
        media.url(str(entry.original_key)), rules.creator_handle(str(row.workspace_id)), int(entry.likes or 0),
        entry.published_at,
    )  # fmt: skip


def shown_in_gallery(row: ImageModel | None) -> bool:
    """Published, not in the trash (a hidden image is no longer `public`)."""
    return row is not None and row.visibility == rules.PUBLIC and row.trashed_at is None


class DynamoGallerySearch:
    """The inverted index in DynamoDB (store.gallery)."""

    def page(self, query: rules.Query, limit: int, before: str | None) -> tuple[list[GalleryItem], str | None]:
        pks = store.top_pks() if query.sort == "top" else store.facet_pks(query.facet())
        window = max(limit + 1, FILTERED_WINDOW) if query.filtered() else limit + 1
        low, before = _bounds(query, before)
        found: list[GalleryItem] = []
        for _ in range(MAX_ROUNDS):
            shards = store.listing_rows(pks, low, before, window)
            keys, edge = rules.ready([rules.ShardPage(tuple(r.sk for r in rows), more) for rows, more in shards])
            if not keys:
                return found, None
            targets = {r.sk: r.image_id for rows, _ in shards for r in rows}
            batch, cut = keys[:BATCH], len(keys) > BATCH
            visible = self._visible(query, {k: targets[k] for k in batch})
            for n, key in enumerate(batch):
                if key in visible:
                    found.append(visible[key])
                if len(found) == limit:
                    more = n + 1 < len(batch) or cut or edge is not None
                    return found, key if more else None
            if edge is None and not cut:
                return found, None
            before = batch[-1]
        return found, before

    @staticmethod
    def _visible(query: rules.Query, targets: dict[str, str]) -> dict[str, GalleryItem]:
        """The candidates whose entry still points at this row and whose image passes every filter."""
        entries = store.get_entries(targets.values())
        current = {}
        for key, image_id in targets.items():
            entry = entries.get(image_id)
            if entry is None or key != (entry.rank_key if query.sort == "top" else entry.listed_key):
                continue  # a stale row: the entry moved on (unpublished, re-ranked, published again)
            if query.published_within(entry.published_at):
                current[key] = entry
        rows = image_store.get_images_by_key((str(e.workspace_id), str(e.image_id)) for e in current.values())
        visible = {}
        for key, entry in current.items():
            row = rows.get(str(entry.image_id))
            if (
                row is not None
                and shown_in_gallery(row)
                and rules.matches(query, [str(t) for t in row.tags or []], row.title, row.prompt, row.provider, row.model)
            ):
                visible[key] = item_of(entry, row)
        return visible


def _bounds(query: rules.Query, before: str | None) -> tuple[str | None, str | None]:
    """The "new" listing's keys are publish-time ULIDs: a date range is a key range there."""
    if query.sort != "new":
        return None, before
    low = "pub_" + ids.ulid_bound(query.start, upper=False) if query.start else None
    high = "pub_" + ids.ulid_bound(query.end, upper=True) + "~" if query.end else None
    if high is not None and (before is None or high < before):
        before = high
    return low, before


def search() -> GallerySearch:
    """The backend the gallery reads (the seam: an OpenSearch adapter would be returned here)."""
    return DynamoGallerySearch()


def list_gallery(
    query: rules.Query, limit: int, before: str | None, address: str
) -> public.Metered[tuple[list[GalleryItem], str | None]]:
    """A page of the public gallery for a client (counted against its rate limit first)."""
    window = public.admit("reads", address)
    return public.Metered(search().page(query, limit, before), window)
