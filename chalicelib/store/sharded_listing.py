"""Newest-first pages over several partitions of an index, merged by id.

A listing that must not have one hot partition (DESIGN.md "Scale") spreads its items over N
partition keys of an index whose range key is a time-ordered id (ULIDs sort by creation). A page
queries each partition in parallel, newest first, and merges them. Filters are filter
expressions, so a query may evaluate items it does not return; a page therefore runs at most
`max_rounds` rounds of at most one query per partition, whatever the table's size, and may come
back short with a `next` position when matches are rare. Used by the admin workspace listing
(store/workspaces.py) and the template listings (store/templates.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pynamodb.models import Model

M = TypeVar("M", bound=Model)

MAX_ROUNDS = 3  # queries per partition and page at most, when filters leave a round short
FILTERED_WINDOW = 100  # items one query evaluates per round when a filter applies


@dataclass(frozen=True)
class Listing(Generic[M]):
    """Where the items are: the model, the index, and the name of the id (the index's range key)."""

    model: type[M]
    index: Any
    id_attribute: str


@dataclass
class _Partition(Generic[M]):
    """One partition's progress through a page: where its next query starts, how far it read."""

    key: str
    start: dict[str, Any] | None = None
    frontier: str | None = None  # the id of the last item its queries evaluated
    done: bool = False
    found: list[M] = field(default_factory=list)


def _read(listing: Listing[M], part: _Partition[M], before: str | None, condition: Any, window: int) -> None:
    """Exactly one Query (the page iterator: the item iterator would keep paging while a filter
    drops items)."""
    key = getattr(listing.model, listing.id_attribute) < before if before else None
    result = listing.index.query(
        part.key, key, filter_condition=condition, scan_index_forward=False, page_size=window, last_evaluated_key=part.start
    )
    page = next(result.page_iter)
    part.found += [listing.model.from_raw_data(raw) for raw in page.get("Items", [])]
    part.start = result.page_iter.last_evaluated_key
    part.done = part.start is None
    if part.start is not None:
        part.frontier = part.start[listing.id_attribute]["S"]


def _edge(parts: Iterable[_Partition[M]]) -> str | None:
    """Every item at or above this id has been evaluated in every partition (None: all of them)."""
    frontiers = [p.frontier for p in parts if not p.done and p.frontier is not None]
    return max(frontiers) if frontiers else None


def page(listing: Listing[M], keys: Sequence[str], limit: int, before: str | None, condition: Any) -> tuple[list[M], str | None]:
    """Up to `limit` items of the partitions `keys` with ids below `before`, newest first, and
    where the next page starts (None on the last). Without a filter one round fills it."""
    window = limit if condition is None else max(limit, FILTERED_WINDOW)
    parts: list[_Partition[M]] = [_Partition(key) for key in keys]

    def ident(item: M) -> str:
        return str(getattr(item, listing.id_attribute))

    ready: list[M] = []
    with ThreadPoolExecutor(len(parts)) as pool:
        for _ in range(MAX_ROUNDS):
            list(pool.map(lambda p: _read(listing, p, before, condition, window), [p for p in parts if not p.done]))
            edge = _edge(parts)
            ready = sorted((x for p in parts for x in p.found if edge is None or ident(x) >= edge), key=ident, reverse=True)
            if edge is None or len(ready) >= limit:
                break
    if len(ready) > limit:
        return ready[:limit], ident(ready[limit - 1])
    return ready, edge
