"""The gallery's rules as pure functions: collection edits (items, order, cover), what the public
may see, the index's facets and shards, report reasons, the merge of sharded listings.

No boto3 here: the store and the services apply these; tests/unit check them alone.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.library import rules as library_rules

VISIBILITIES = ("private", "unlisted", "public")
SHOWN_PUBLICLY = ("unlisted", "public")  # reachable by id without a key; only "public" is listed
MAX_ITEMS = 1000  # per collection: the order is one list on one row (~30 KB at most)
MAX_IDS_PER_CALL = 100  # ids in one add request
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 1000
MAX_NOTE_CHARS = 500
MAX_QUERY_WORDS = 5
INDEX_SHARDS = 8  # every gallery index key is split this way: 8 x 300 writes/s of publishing
COLLECTION_SHARDS = 4  # the public collections' listing
REPORT_SHARDS = 4
LIKE_SHARDS = 16  # one image's likes: 16 keys, so one viral image takes 16 x 300 likes/s
REASONS = ("spam", "sexual", "violence", "hate", "harassment", "self_harm", "illegal", "copyright", "other")
REPORT_STATUSES = ("open", "hidden", "dismissed")
HIDDEN = "hidden"  # ImageModel.visibility of an image a platform admin hid: it shows nowhere publicly
PUBLIC = "public"


class RuleError(ValueError):
    """A request the rules refuse; `kind` says how (invalid, conflict), `field` what."""

    def __init__(self, message: str, *, kind: str = "invalid", field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field
        self.details = details


# --- collections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Items:
    """A collection's items in their order, and its cover (one of them, or None)."""

    ids: tuple[str, ...]
    cover: str | None


def collection_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise RuleError(f"name must be 1-{MAX_NAME_CHARS} printable characters", field="name")
    return name


def description(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION_CHARS or any(not (c.isprintable() or c in "\n\t") for c in text):
        raise RuleError(f"description has at most {MAX_DESCRIPTION_CHARS} printable characters", field="description")
    return text or None


def add(items: Items, new_ids: Sequence[str]) -> tuple[Items, list[str]]:
    """Append the ids not in the collection yet (in the order given; adding twice is a no-op);
    the first item becomes the cover of a collection without one. Refused whole when full."""
    fresh = [i for i in dict.fromkeys(new_ids) if i not in items.ids]
    if len(items.ids) + len(fresh) > MAX_ITEMS:
        room = MAX_ITEMS - len(items.ids)
        raise RuleError(f"a collection holds at most {MAX_ITEMS} images ({room} more fit)", kind="conflict", field="image_ids")
    ids = (*items.ids, *fresh)
    return Items(ids, items.cover or (ids[0] if ids else None)), fresh


def remove(items: Items, image_id: str) -> Items:
    """Without `image_id`; removing the cover makes the new first item the cover."""
    if image_id not in items.ids:
        raise RuleError(f"image {image_id} is not in this collection", kind="not_found")
    ids = tuple(i for i in items.ids if i != image_id)
    cover = items.cover if items.cover != image_id else (ids[0] if ids else None)
    return Items(ids, cover)


def reorder(items: Items, given: Sequence[str], gone: Iterable[str] = ()) -> Items:
    """The items in the order `given`, which must hold each item exactly once. Items whose image
    no longer exists (`gone`: purged from the library) may be left out: they are dropped."""
    if len(set(given)) != len(given):
        raise RuleError("image_ids lists an image twice", field="image_ids")
    kept = set(items.ids) - set(gone)
    missing = [i for i in items.ids if i in kept and i not in set(given)]
    unexpected = [i for i in given if i not in set(items.ids)]
    if missing or unexpected:
        raise RuleError(
            "image_ids must be exactly the collection's items, each once",
            kind="conflict",
            field="image_ids",
            missing=missing[:10],
            unexpected=unexpected[:10],
        )
    ids = tuple(given)
    cover = items.cover if items.cover in ids else (ids[0] if ids else None)
    return Items(ids, cover)


def set_cover(items: Items, cover: str | None) -> Items:
    if cover is not None and cover not in items.ids:
        raise RuleError(f"cover_image_id {cover} is not an item of this collection", field="cover_image_id")
    return Items(items.ids, cover)


def needs_manage(visibility: str) -> bool:
    """Showing a collection to the public is publishing: the matrix's owners and admins."""
    return visibility in SHOWN_PUBLICLY


# --- what the public sees ---------------------------------------------------------------------


def creator_handle(workspace_id: str) -> str:
    """An opaque, stable handle for a workspace: the public sees who made what is theirs
    without any id of the workspace (nor an email)."""
    return "cr_" + hashlib.sha256(f"imagegen-creator\x00{workspace_id}".encode()).hexdigest()[:20]


def client_key(address: str) -> str:
    """A client address as stored (hashed: rate windows and markers keep no address)."""
    return hashlib.sha256(f"imagegen-client\x00{address}".encode()).hexdigest()[:32]


# --- the index ---------------------------------------------------------------------------------


def shard_of(item_id: str, shards: int) -> int:
    return zlib.crc32(item_id.encode("utf-8")) % shards


def facets(tags: Iterable[str], words: Iterable[str], provider: str | None, model: str | None) -> list[str]:
    """The listings a published image is in (the library's words and tags, normalised alike)."""
    names = {"all", *(f"tag:{t}" for t in tags), *(f"word:{w}" for w in words)}
    if provider:
        names.add(f"provider:{provider}")
    if model:
        names.add(f"model:{model}")
    return sorted(names)


def facet_pk(facet: str, shard: int) -> str:
    return f"f#{facet}#{shard}"


def rank_key(likes: int, listed_key: str) -> str:
    """The "top" listing's sort key: likes first (descending reads), then the newest."""
    return f"{min(likes, 10**10 - 1):010d}#{listed_key}"


def rerank_due(shard_count: int) -> bool:
    """Rewrite an image's rank when one of its like shards reaches a power of two: the rank
    then trails the true count by at most half (plus one per shard), and a viral image rewrites
    its rank O(log likes) times, never once per like."""
    return shard_count > 0 and shard_count & (shard_count - 1) == 0


@dataclass(frozen=True)
class Query:
    """A gallery listing: the filters, each re-checked on the image row (the publish time on the
    entry; for "new" it also bounds the keys read)."""

    sort: str = "new"  # new | top
    words: tuple[str, ...] = ()
    tag: str | None = None
    provider: str | None = None
    model: str | None = None
    start: datetime | None = None  # published at or after
    end: datetime | None = None  # published at or before

    def facet(self) -> str:
        """The most selective index for "new" (the others are re-checked): tag, word, model, provider."""
        if self.tag:
            return f"tag:{self.tag}"
        if self.words:
            return f"word:{max(self.words, key=len)}"
        if self.model:
            return f"model:{self.model}"
        if self.provider:
            return f"provider:{self.provider}"
        return "all"

    def filtered(self) -> bool:
        """True when rows of the index read may fail a filter (pages may then need more reads)."""
        exact = 1 if self.sort == "new" and self.facet() != "all" else 0
        dated = self.sort == "top" and (self.start is not None or self.end is not None)
        return len(self.words) + bool(self.tag) + bool(self.provider) + bool(self.model) + dated > exact

    def scope(self) -> str:
        return repr((self.sort, self.words, self.tag, self.provider, self.model, self.start, self.end))

    def published_within(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at <= self.end)


def matches(
    query: Query, tags: Iterable[str], title: str | None, prompt: str | None, provider: str | None, model: str | None
) -> bool:
    """The image row itself decides, never the index."""
    return (
        (query.tag is None or query.tag in set(tags))
        and (not query.words or set(query.words) <= set(library_rules.words_of(title, prompt)))
        and (query.provider is None or provider == query.provider)
        and (query.model is None or model == query.model)
    )


@dataclass(frozen=True)
class ShardPage:
    """One shard's answer to "the items below a position": its sort keys, newest (or highest)
    first, and whether it has more below the last one."""

    keys: tuple[str, ...]
    more: bool


def ready(pages: Sequence[ShardPage]) -> tuple[list[str], str | None]:
    """The keys that are surely in order across shards (descending), and the edge below which a
    shard still has unread keys (None: every shard was read to its end).

    A shard that has more was read down to its last key; every key at or above the highest such
    last key has then been seen in every shard, so those keys can be merged and shown."""
    edges = [page.keys[-1] for page in pages if page.more and page.keys]
    edge = max(edges) if edges else None
    merged = sorted((k for page in pages for k in page.keys if edge is None or k >= edge), reverse=True)
    return merged, edge
