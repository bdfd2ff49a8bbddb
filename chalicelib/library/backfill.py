"""One-off: index and count the image rows written before the library's index and counters
(`python -m chalicelib.ops backfill-library`).

- Finds the rows not yet counted (`ImageModel.counted` absent) with a Scan of the images table,
  a page at a time: an operator's task, never a request path.
- Per row, in the library's order: its facet rows first (idempotent puts: the row is then listed,
  searched and filtered like any other), then one transaction marking it counted and adding it to
  the workspace's `images`/`image_bytes` counters, conditioned on it being uncounted and
  unchanged since it was read. A row counted or deleted meanwhile is skipped; one edited
  meanwhile is read and tried again. So the run is idempotent: twice, or two at once, count each
  row once.
- Then images in a folder that have no place in it yet (written before folder order) get their
  default rank (library/ranks.py), conditioned on still having none: listed in the folder's order.
- Resumable: the position after each page is kept (a markers row) and the next run starts there;
  `--restart` starts from the beginning (harmless: counted rows are filtered out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.library import changes, ranks
from chalicelib.store import images as image_store
from chalicelib.store import library_index
from chalicelib.store.models import ImageModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

NAME = "library"
PAGE = 100
ATTEMPTS = 3


@dataclass(frozen=True)
class BackfillReport:
    counted: int
    skipped: int
    pages: int
    finished: bool
    cursor: dict[str, Any] | None
    ranked: int = 0


def run(*, restart: bool = False, max_pages: int | None = None, page_size: int = PAGE) -> BackfillReport:
    """Count pages of uncounted rows from where the last run stopped (or the start)."""
    cursor = None if restart else image_store.backfill_position(NAME)
    counted = skipped = pages = 0
    while max_pages is None or pages < max_pages:
        rows, cursor = image_store.scan_uncounted(cursor, page_size)
        done = sum(count_row(row) for row in rows)
        counted, skipped, pages = counted + done, skipped + len(rows) - done, pages + 1
        image_store.save_backfill_position(NAME, cursor, clock.now())
        if cursor is None:
            break
    ranked = rank_folders() if cursor is None else 0
    return BackfillReport(counted, skipped, pages, cursor is None, cursor, ranked)


def rank_folders(page_size: int = PAGE) -> int:
    """Give every image in a folder without a rank its default one; returns how many."""
    cursor: dict[str, Any] | None = None
    ranked = 0
    while True:
        rows, cursor = image_store.scan_unranked(cursor, page_size)
        # (a row moved, trashed or placed meanwhile is skipped: the library wrote what it needs)
        ranked += sum(image_store.give_rank(row, ranks.default_rank(str(row.image_id))) for row in rows)
        if cursor is None:
            return ranked


def count_row(row: ImageModel) -> bool:
    """Index and count one row; False when someone else counted or deleted it first."""
    workspace_id = str(row.workspace_id)
    for _ in range(ATTEMPTS):
        library_index.put_facets(workspace_id, changes.index_rows([row]))
        txn = Transaction()
        image_store.count_in(txn, row)
        library_index.add_images_in(txn, workspace_id, 1, int(row.bytes))
        try:
            txn.commit()
            return True
        except TransactionCancelled:
            fresh = image_store.get_image(workspace_id, str(row.image_id))
            if fresh is None or fresh.counted:
                return False
            row = fresh
    return False
