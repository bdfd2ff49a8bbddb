"""Share persistence (ShareModel): links by workspace, found publicly by their token's hash."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.store.models import LibraryIndexModel, ShareModel

Cursor = dict[str, Any]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(share: ShareModel) -> None:
    """The share; one with an expiry also puts it in the due queue (its copies go then)."""
    if share.expires_at is None:
        share.save(ShareModel.share_id.does_not_exist())
        return
    from chalicelib.store import library_index
    from chalicelib.store.transaction import Transaction

    txn = Transaction()
    txn.put("share", share, ShareModel.share_id.does_not_exist())
    library_index.put_due_in(txn, "share", str(share.workspace_id), str(share.share_id), share.expires_at)
    txn.commit()


def get_share(workspace_id: str, share_id: str) -> ShareModel | None:
    try:
        return ShareModel.get(workspace_id, share_id, consistent_read=True)
    except ShareModel.DoesNotExist:
        return None


def by_token(token: str) -> ShareModel | None:
    """The share a token opens: the index gives its key, the row is then read consistently (a
    revocation counts at once)."""
    for hit in ShareModel.by_token.query(token_hash(token), limit=1):
        return get_share(str(hit.workspace_id), str(hit.share_id))
    return None


def newest(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[ShareModel], Cursor | None]:
    result = ShareModel.query(
        workspace_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor, consistent_read=True
    )
    return list(result), result.last_evaluated_key


def revoke(workspace_id: str, share_id: str, now: datetime) -> bool:
    """Revoke (once; revoking again keeps the first time). False when there is no such share."""
    try:
        ShareModel(workspace_id, share_id).update(
            actions=[ShareModel.revoked_at.set(ShareModel.revoked_at | now)], condition=ShareModel.share_id.exists()
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def count_hit(client_key: str, window: int, limit: int, expires_at: int) -> bool:
    """Count one public read in the client's window; False when the window is full (one write)."""
    row = LibraryIndexModel(f"rate#{client_key}", str(window))
    try:
        row.update(
            actions=[LibraryIndexModel.n.add(1), LibraryIndexModel.expires_at.set(expires_at)],
            condition=LibraryIndexModel.n.does_not_exist() | (LibraryIndexModel.n < limit),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True
