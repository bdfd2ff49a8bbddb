"""The rules of offline sync (WatermelonDB's pull/push protocol), as pure functions.

Pull: the change log's rows changed after the client's `last_pulled_at` become, per table,
`created` (first logged after the client's last pull), `updated` (known before it) or `deleted`
(a tombstone, or a record the caller may no longer see). The answer's `timestamp` is what the
client sends back next time:
- a complete pull answers `now - overlap`: a change whose transaction took its time and landed
  after this read is still newer than that, so the next pull reads it (records of the last
  `overlap` ms are sent again; they come as `updated`, which WatermelonDB applies idempotently);
- a page cut short (`has_more`) answers the last millisecond it holds in full (a millisecond is
  never split between pages), and the client pulls again at once.

Push: a pushed record conflicts when the server changed it after the client saw it: its log
row's `changed_ms` is after `last_pulled_at` and after the `server_changed_at` the client holds
for it (the pulled column, sent back unchanged), when it sends one. Any conflict refuses the
whole push (409) before anything is applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

PULL_PAGE: Final = 500  # records per pull page (a millisecond holding more is read whole)
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
    """Rows strictly after this are new to the client (a first pull reads everything)."""
    return -1 if last_pulled_at is None else last_pulled_at


def kind_of(row: LogRow, last_pulled_at: int | None, overlap_ms: int, visible: bool) -> str:
    """created / updated / deleted for one changed row. A record first logged within `overlap_ms`
    after `last_pulled_at` may have been sent by that pull already: it counts as updated."""
    if row.gone or not visible:
        return DELETED
    if last_pulled_at is None:
        return CREATED
    created = int(row.created_ms if row.created_ms is not None else row.changed_ms)
    return CREATED if created > last_pulled_at + overlap_ms else UPDATED


@dataclass(frozen=True)
class Page:
    """The rows of one pull, and whether more remain (the client pulls again)."""

    rows: list[LogRow]
    has_more: bool


def cut(rows: list[LogRow], limit: int) -> tuple[list[LogRow], int | None]:
    """`rows` (read with limit + 1, oldest change first) cut to whole milliseconds: the rows to
    send and, when it was cut, the millisecond to read whole because a page held nothing else
    (None otherwise)."""
    if len(rows) <= limit:
        return rows, None
    boundary = int(rows[limit].changed_ms)
    kept = [row for row in rows[:limit] if int(row.changed_ms) < boundary]
    return kept, (boundary if not kept else None)


def timestamp_of(page: Page, now_ms: int, overlap_ms: int) -> int:
    """What the client stores as its next `last_pulled_at`."""
    if page.has_more and page.rows:
        return int(page.rows[-1].changed_ms)
    return now_ms - overlap_ms


def conflicts(pushed: Iterable[tuple[str, int | None]], log: Mapping[str, LogRow], last_pulled_at: int | None) -> list[str]:
    """Record keys (of (record key, server_changed_at the client holds)) changed on the server
    after the client saw them. A record never logged has not changed since the log began."""
    seen_until = since_of(last_pulled_at)
    found = []
    for key, held in pushed:
        row = log.get(key)
        if row is None:
            continue
        baseline = max(seen_until, held) if held is not None else seen_until
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
