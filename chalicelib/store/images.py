"""Image persistence: one row per image (a job's or an upload), with its lineage and library
fields (folder, tags, title, trash); the bytes live in S3.

Rows of a job's images are written by settlement, in the transaction that charges the job, so
images and charge appear together or not at all; this module builds them and reads them back.
Library edits go through a Transaction and condition on the row's `version`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.store.models import ImageModel
from chalicelib.store.transaction import Transaction

BATCH_GET = 100  # BatchGetItem's limit per request


def get_image(workspace_id: str, image_id: str) -> ImageModel | None:
    """The workspace's image, or None (another tenant's image is not found either)."""
    try:
        return ImageModel.get(workspace_id, image_id)
    except ImageModel.DoesNotExist:
        return None


def new_image(
    workspace_id: str,
    image_id: str,
    *,
    job_id: str,
    user_id: str,
    s3_key: str,
    width: int,
    height: int,
    content_type: str,
    size_bytes: int,
    source_image_id: str | None,
    kind: str,
    created_at: datetime,
    prompt: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    title: str | None = None,
) -> ImageModel:
    """An image's row, not yet written: settlement writes it with the charge (an upload's
    completion with its storage count)."""
    return ImageModel(
        workspace_id,
        image_id,
        job_id=job_id,
        user_id=user_id,
        s3_key=s3_key,
        width=width,
        height=height,
        content_type=content_type,
        bytes=size_bytes,
        source_image_id=source_image_id,
        kind=kind,
        created_at=created_at,
        prompt=prompt,
        provider=provider,
        model=model,
        title=title,
        tags=[],
        version=1,
        sync_ms=int(created_at.timestamp() * 1000),
    )


def get_images(workspace_id: str, image_ids: Iterable[str]) -> dict[str, ImageModel]:
    """The workspace's images among `image_ids`, by id, read consistently in batches of 100."""
    wanted = list(dict.fromkeys(image_ids))
    found: dict[str, ImageModel] = {}
    for start in range(0, len(wanted), BATCH_GET):
        keys = [(workspace_id, image_id) for image_id in wanted[start : start + BATCH_GET]]
        for row in ImageModel.batch_get(keys, consistent_read=True):
            found[row.image_id] = row
    return found


def folder_page(workspace_id: str, folder_id: str, low: str, high: str, limit: int) -> tuple[list[str], bool]:
    """Ids of a folder's live images between low and high, newest first (one Query of by_folder)."""
    result = ImageModel.by_folder.query(
        folder_key(workspace_id, folder_id), ImageModel.image_id.between(low, high), scan_index_forward=False, limit=limit
    )
    ids = [row.image_id for row in result]
    return ids, result.last_evaluated_key is not None


def ordered_page(
    workspace_id: str, folder_id: str, after: tuple[str, str] | None, limit: int, *, above: str | None = None
) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """(image id, rank) of a folder's live images in their set order, from after the position
    `after` (rank, image id) or after the rank `above`; one Query of by_folder_rank. Returns
    where the next page starts (None: the end)."""
    key = folder_key(workspace_id, folder_id)
    start = None
    if after is not None:
        start = {
            "folder_key": {"S": key},
            "folder_rank": {"S": after[0]},
            "workspace_id": {"S": workspace_id},
            "image_id": {"S": after[1]},
        }
    condition = ImageModel.folder_rank > above if above is not None else None
    result = ImageModel.by_folder_rank.query(key, condition, limit=limit, last_evaluated_key=start)
    found = [(str(row.image_id), str(row.folder_rank)) for row in result]
    last = result.last_evaluated_key
    return found, (last["folder_rank"]["S"], last["image_id"]["S"]) if last else None


def folder_key(workspace_id: str, folder_id: str) -> str:
    return f"{workspace_id}#{folder_id}"


def version_of(image: ImageModel) -> int:
    return int(image.version or 0)


def unchanged_since(image: ImageModel) -> Condition:
    """The row is still the version that was read (rows from before the library have none)."""
    if image.version is None:
        return ImageModel.version.does_not_exist() & ImageModel.image_id.exists()
    return ImageModel.version == version_of(image)


def update_in(txn: Transaction, image: ImageModel, changes: dict[str, Any]) -> None:
    """Set (or, for None, remove) library attributes and move the version on, if unchanged."""
    actions: list[Any] = [ImageModel.version.set(version_of(image) + 1), ImageModel.sync_ms.set(_now_ms())]
    for name, value in sorted(changes.items()):
        attribute = getattr(ImageModel, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    txn.update(f"img:{image.image_id}", ImageModel(image.workspace_id, image.image_id), actions, unchanged_since(image))


def _now_ms() -> int:
    """When a row is written, for offline sync's `by_sync` index (mobile/sync.py)."""
    from chalicelib import clock

    return int(clock.now().timestamp() * 1000)


def delete_in(txn: Transaction, image: ImageModel) -> None:
    """Delete the row, if unchanged since it was read."""
    txn.delete(f"img:{image.image_id}", ImageModel(image.workspace_id, image.image_id), unchanged_since(image))


def put_in(txn: Transaction, image: ImageModel) -> None:
    """Write a new row (an upload's image): never over an existing one."""
    txn.put(f"img:{image.image_id}", image, ImageModel.image_id.does_not_exist())


# --- the library's backfill (chalicelib/library/backfill.py) --------------------------------------


def scan_uncounted(cursor: dict[str, Any] | None, limit: int) -> tuple[list[ImageModel], dict[str, Any] | None]:
    """Up to `limit` rows not yet counted, and where to go on from (None: the table's end). A
    Scan: for the one-off backfill only, never a request path."""
    result = ImageModel.scan(ImageModel.counted.does_not_exist(), limit=limit, page_size=limit, last_evaluated_key=cursor)
    rows = list(result)
    return rows, result.last_evaluated_key


def scan_unranked(cursor: dict[str, Any] | None, limit: int) -> tuple[list[ImageModel], dict[str, Any] | None]:
    """Rows in a folder written before folder ranks (the backfill gives them their default rank)."""
    condition = ImageModel.folder_key.exists() & ImageModel.folder_rank.does_not_exist()
    result = ImageModel.scan(condition, limit=limit, page_size=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key


def give_rank(image: ImageModel, rank: str) -> bool:
    """Set the rank of a row in a folder that has none; False when it moved, left or got one."""
    try:
        image.update(
            actions=[ImageModel.folder_rank.set(rank)],
            condition=ImageModel.folder_rank.does_not_exist() & ImageModel.folder_key.exists(),
        )
    except UpdateError:
        return False
    return True


def count_in(txn: Transaction, image: ImageModel) -> None:
    """Mark a row counted, if nobody counted or changed it since it was read."""
    condition = ImageModel.counted.does_not_exist() & unchanged_since(image)
    txn.update(f"img:{image.image_id}", ImageModel(image.workspace_id, image.image_id), [ImageModel.counted.set(True)], condition)


def backfill_position(name: str) -> dict[str, Any] | None:
    """Where a one-off run stopped (a row of the markers table), or None."""
    from chalicelib.store.models import MarkerModel

    try:
        return dict(MarkerModel.get(f"backfill:{name}", consistent_read=True).data or {}).get("cursor")
    except MarkerModel.DoesNotExist:
        return None


def save_backfill_position(name: str, cursor: dict[str, Any] | None, now: datetime) -> None:
    """Remember where to resume; None (the end) forgets it."""
    from chalicelib.store.models import MarkerModel

    marker = MarkerModel(f"backfill:{name}", data={"cursor": cursor}, created_at=now)
    if cursor is None:
        marker.delete()
    else:
        marker.save()


def get_images_by_key(keys: Iterable[tuple[str, str]]) -> dict[str, ImageModel]:
    """Images of any workspaces by (workspace_id, image_id), in batches of 100 (the public
    gallery's rows come from many workspaces; ids are unique, so the result is by image id)."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, ImageModel] = {}
    for start in range(0, len(wanted), BATCH_GET):
        for row in ImageModel.batch_get(wanted[start : start + BATCH_GET], consistent_read=True):
            found[row.image_id] = row
    return found


# --- offline sync (chalicelib/mobile/sync.py) --------------------------------------------------------


def synced_since(workspace_id: str, since_ms: int, limit: int) -> list[tuple[str, int]]:
    """(image id, sync_ms) of up to `limit` images written after `since_ms`, oldest write first."""
    result = ImageModel.by_sync.query(workspace_id, ImageModel.sync_ms > since_ms, scan_index_forward=True, limit=limit)
    return [(str(row.image_id), int(row.sync_ms)) for row in result]


def synced_between(workspace_id: str, low_ms: int, high_ms: int) -> list[tuple[str, int]]:
    """(image id, sync_ms) of every image last written in [low_ms, high_ms]."""
    result = ImageModel.by_sync.query(workspace_id, ImageModel.sync_ms.between(low_ms, high_ms))
    return [(str(row.image_id), int(row.sync_ms)) for row in result]


def scan_unsynced(cursor: dict[str, Any] | None, limit: int) -> tuple[list[ImageModel], dict[str, Any] | None]:
    """Rows never stamped with `sync_ms` (written before offline sync), and where to go on from.
    A Scan: for the one-off `backfill-sync` only, never a request path."""
    result = ImageModel.scan(ImageModel.sync_ms.does_not_exist(), limit=limit, page_size=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key


def stamp_sync(image: ImageModel, now_ms: int) -> bool:
    """Stamp a row written before offline sync; False when a write stamped it (or it went) meanwhile."""
    from pynamodb.exceptions import UpdateError

    try:
        ImageModel(image.workspace_id, image.image_id).update(
            actions=[ImageModel.sync_ms.set(now_ms)], condition=ImageModel.image_id.exists() & ImageModel.sync_ms.does_not_exist()
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
