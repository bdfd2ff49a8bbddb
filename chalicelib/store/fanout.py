"""Read every shard of a sharded key at once: one request per shard, run in parallel.

Platform-wide keys are split in shards so that no key is hot (DESIGN.md "Scale"); their readers
query all shards. Run one after the other that would be 100 round trips; in parallel it is about
the slowest one's time, over the connection pool every model's client already has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
MAX_PARALLEL = 16  # below the models' max_pool_connections (64): API and worker threads share it


def fan_out(read: Callable[[T], R], shards: Iterable[T]) -> list[R]:
    """`read(shard)` for every shard, in parallel; results in the shards' order."""
    items = list(shards)
    if len(items) <= 1:
        return [read(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items))) as pool:
        return list(pool.map(read, items))
