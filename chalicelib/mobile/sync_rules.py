"""The rules of offline sync (WatermelonDB's pull/push protocol), as pure functions.

Pull: the change log's rows changed after the client's `last_pulled_at` become, per table,
`created` (first logged after what the client has seen), `updated` (known before) or `deleted`
(a tombstone, or a record the caller may no longer see). The answer's `timestamp` is what the
client sends back next time, and it says how far the client has seen:
- a complete pull answers `now - overlap`, made even: a change whose transaction took its time
  and landed after this read is still newer than that, so the next pull reads it (records of
  the last `overlap` ms come again, as `updated`, which WatermelonDB applies idempotently); the
  client has seen everything up to `timestamp + overlap`;
- a page cut short (`has_more`) answers an odd timestamp, the end of the last 2-ms slot it holds
  whole (a slot is never split between pages; a slot fuller than a page is read whole), and the
  client has seen exactly up to it. The next pull reads after `timestamp`, either way.

Push: a pushed record conflicts when the server changed it after the client saw it: its log
row's `changed_ms` is after what the client had seen (above), and after the `server_changed_at`
the client holds for it (the pulled column, sent back unchanged) when it sends one. Any conflict
refuses the whole push (409) before anything is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

PULL_PAGE: Final = 500  # records per pull page (a 2-ms slot holding more is read whole)
MAX_PUSH_RECORDS: Final = 500  # created + updated + deleted in one push (more: 413)
CREATED, UPDATED, DELETED = "created", "updated", "deleted"


class LogRow(Protocol):
    """What the rules read of a change-log row (SyncChangeModel)."""

    @property
    def record_key(self) -> str: ...
    @property
    def changed_ms(self) -> int | float: ...
    @property
    def created_ms(self) -> int | float | None: ...
    @property
    def gone(self) -> bool | None: ...


def split_key(record_key: str) -> tuple[str, str]:
    """("images", "img_…") of "images:img_…"."""
    table, _, record_id = record_key.partition(":")
    return table, record_id


def since_of(last_pulled_at: int | None) -> int:
    """Rows strictly after this are read by the next pull (a first pull reads everything)."""
    return -1 if last_pulled_at is None else last_pulled_at


def seen_until(last_pulled_at: int | None, overlap_ms: int) -> int:
    """How far the client has seen, from the timestamp it got (odd: a page; even: a whole pull)."""
    if last_pulled_at is None:
        return -1
    return last_pulled_at if last_pulled_at % 2 else last_pulled_at + overlap_ms


def kind_of(row: LogRow, seen: int, visible: bool) -> str:
    """created / updated / deleted for one changed row; `seen` is `seen_until` of the client."""
    if row.gone or not visible:
        return DELETED
    if seen < 0:
        return CREATED
    if row.created_ms is None:  # a source that cannot tell (tags): WatermelonDB creates what it lacks
        return UPDATED
    return CREATED if int(row.created_ms) > seen else UPDATED


def slot_of(ms: int) -> int:
    """The first millisecond of the 2-ms slot holding `ms` (pages end on whole slots)."""
    return ms - ms % 2


@dataclass(frozen=True)
class Page:
    """The rows of one pull, whether more remain (the client pulls again), and for a cut page
    the last millisecond it holds whole."""

    rows: list[LogRow]
    has_more: bool
    through: int | None = None


def cut(rows: list[LogRow], limit: int) -> tuple[list[LogRow], int | None, int | None]:
    """`rows` (read with limit + 1, oldest change first) cut to whole 2-ms slots: the rows to send,
    the odd millisecond they reach when cut (None: not cut), and the slot to read whole instead
    when the page held nothing else (None otherwise)."""
    if len(rows) <= limit:
        return rows, None, None
    boundary = slot_of(int(rows[limit].changed_ms))
    kept = [row for row in rows[:limit] if int(row.changed_ms) < boundary]
    if not kept:
        return [], boundary + 1, boundary
    return kept, boundary - 1, None


def timestamp_of(page: Page, now_ms: int, overlap_ms: int) -> int:
    """What the client stores as its next `last_pulled_at` (odd: a page; even: a whole pull)."""
    if page.has_more and page.through is not None:
        return page.through
    return slot_of(max(0, now_ms - overlap_ms))


def conflicts(pushed: Iterable[tuple[str, int | None]], log: Mapping[str, LogRow], seen: int) -> list[str]:
    """Record keys (of (record key, server_changed_at the client holds)) changed on the server
    after the client saw them (`seen`: `seen_until`). A record never logged has not changed."""
    found = []
    for key, held in pushed:
        row = log.get(key)
        if row is None:
            continue
        baseline = max(seen, held) if held is not None else seen
        if int(row.changed_ms) > baseline:
            found.append(key)
    return found


def deepest_first(folder_ids: Iterable[str], parents: Mapping[str, str | None]) -> list[str]:
    """Folders to delete, children before their parents (a parent must be empty first)."""

    def depth(folder_id: str) -> int:
        seen, n, current = set(), 0, parents.get(folder_id)
        while current is not None and current not in seen:
            seen.add(current)
            n, current = n + 1, parents.get(current)
        return n

    return sorted(folder_ids, key=lambda f: (-depth(f), f))


def parents_first(records: list[dict[str, object]]) -> list[dict[str, object]]:
    """Folders to create, each after the pushed folder it nests in (cycles keep their order)."""
    by_id = {str(r["id"]): r for r in records}
    done: list[dict[str, object]] = []
    placed: set[str] = set()

    def place(record: dict[str, object], trail: set[str]) -> None:
        record_id = str(record["id"])
        if record_id in placed or record_id in trail:
            return
        parent = record.get("parent_id")
        if isinstance(parent, str) and parent in by_id:
            place(by_id[parent], trail | {record_id})
        placed.add(record_id)
        done.append(record)

    for record in records:
        place(record, set())
    return done
