"""One-off: bring what was written before offline sync into its indexes
(`python -m chalicelib.ops backfill-sync`), so a first pull sees the whole library.

- images and tag count rows without `sync_ms` are stamped with the run's time (a conditional
  update: a write that stamped the row meanwhile wins);
- every folder and live template gets its change-log row unless it has one (conditional too).

Scans, a page at a time: an operator's task, never a request path. Idempotent: run it twice, or
two at once, and each record is brought in once; it is stamped "now", so clients that pulled
before it see those records on their next pull.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store import library_index, sync_log
from chalicelib.store import templates as template_store

PAGE = 100

Scan = Callable[[dict[str, Any] | None, int], tuple[list[Any], dict[str, Any] | None]]


@dataclass
class SyncBackfill:
    """How many records of each table were brought in (and found in already)."""

    added: dict[str, int] = field(default_factory=dict)
    skipped: int = 0


def _each(scan: Scan, bring: Callable[[Any], bool], table: str, report: SyncBackfill) -> None:
    cursor: dict[str, Any] | None = None
    while True:
        rows, cursor = scan(cursor, PAGE)
        for row in rows:
            if bring(row):
                report.added[table] = report.added.get(table, 0) + 1
            else:
                report.skipped += 1
        if cursor is None:
            return


def run() -> SyncBackfill:
    now = clock.now()
    now_ms = sync_log.millis(now)
    report = SyncBackfill()
    _each(image_store.scan_unsynced, lambda row: image_store.stamp_sync(row, now_ms), "images", report)
    _each(library_index.scan_unsynced_tags, lambda row: library_index.stamp_tag(row, now_ms), "tags", report)
    _each(
        folder_store.scan_all,
        lambda row: sync_log.touch_if_absent(str(row.workspace_id), "folders", str(row.folder_id), now),
        "folders",
        report,
    )
    _each(
        template_store.scan_live_heads,
        lambda row: sync_log.touch_if_absent(str(row.workspace_id), "templates", str(row.template_id), now),
        "templates",
        report,
    )
    return report
