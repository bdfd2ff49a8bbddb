"""Moderation, for platform admins: the report cases, newest reported first by status, and
hiding an image everywhere the public could see it.

Hiding sets the image's `visibility` to "hidden" in ONE transaction with its gallery entry's
removal, the case's decision and the audit row (who, before, after, why). The public surfaces all
read the image row: the gallery (`visibility` must be "public"), collections and share links
(library.shares.shown_publicly) then skip it, and publishing it again is refused. Its public
copies are deleted at once; URLs a share link handed out before expire with their signature
(PRESIGN_EXPIRY_S). Hiding twice changes nothing and writes no second audit row. The owner still
sees the image in their library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, ids
from chalicelib.domain import Conflict, NotFound
from chalicelib.gallery import rules
from chalicelib.gallery.publishing import forget, withdraw_in
from chalicelib.library import objects
from chalicelib.library.images import valid_image_id
from chalicelib.store import audit
from chalicelib.store import gallery as store
from chalicelib.store import gallery_reports as report_store
from chalicelib.store import images as image_store
from chalicelib.store.models import ImageModel, ReportCaseModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

ATTEMPTS = 3


@dataclass(frozen=True)
class ReportCase:
    image_id: str
    workspace_id: str
    status: str
    reports: int
    reasons: list[str]
    last_note: str | None
    first_reported_at: datetime | None
    last_reported_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    title: str | None
    prompt: str | None
    preview_url: str | None  # for the admin: the image itself, whoever may see it


@dataclass(frozen=True)
class Hidden:
    image_id: str
    workspace_id: str
    changed: bool  # False: it was hidden already


def _case(row: ReportCaseModel, image: ImageModel | None) -> ReportCase:
    preview = objects.url(str(image.thumb_key or image.s3_key)) if image is not None else None
    return ReportCase(
        str(row.image_id), str(row.workspace_id), str(row.status), int(row.reports or 0), sorted(row.reasons or []),
        row.last_note, row.first_reported_at, row.last_reported_at, row.decided_by, row.decided_at, row.decision_reason,
        image.title if image else None, image.prompt if image else None, preview,
    )  # fmt: skip


def list_reports(status: str, limit: int, before: str | None) -> tuple[list[ReportCase], str | None]:
    """Cases of one status, most recently reported first: one query per shard, merged, then the
    images by key (one BatchGetItem)."""
    page, last = report_store.status_page(status, limit, before)
    images = image_store.get_images_by_key((str(r.workspace_id), str(r.image_id)) for r in page)
    return [_case(r, images.get(str(r.image_id))) for r in page], last


def _located(image_id: str, workspace_id: str | None) -> ImageModel:
    """The image, in the workspace given or the one its gallery entry or report case names."""
    if not valid_image_id(image_id):
        raise NotFound(f"image {image_id} not found", field="image_id")
    if workspace_id is None:
        entry, case = store.get_entry(image_id), report_store.get(image_id)
        workspace_id = str(entry.workspace_id) if entry else (str(case.workspace_id) if case else None)
    row = image_store.get_image(workspace_id, image_id) if workspace_id else None
    if row is None:
        raise NotFound(f"image {image_id} not found: give its workspace_id if it was never published or reported")
    return row


def hide_image(image_id: str, workspace_id: str | None, actor: str, reason: str) -> Hidden:
    for _ in range(ATTEMPTS):
        row = _located(image_id, workspace_id)
        ws = str(row.workspace_id)
        if row.visibility == rules.HIDDEN:
            return Hidden(image_id, ws, False)
        entry = store.get_entry(image_id)
        entry = entry if entry is not None and entry.workspace_id == ws else None
        now = clock.now()
        txn = Transaction()
        image_store.update_in(txn, row, {"visibility": rules.HIDDEN})
        if entry is not None:
            withdraw_in(txn, entry)
        report_store.decide_in(txn, image_id, ws, rules.HIDDEN, actor, reason, ids.new_id("rpt", now), now)
        before, after = (
            {"image_id": image_id, "visibility": row.visibility or "private"},
            {"image_id": image_id, "visibility": "hidden"},
        )
        audit.audit_in(txn, ws, actor, "gallery.hide_image", before=before, after=after, reason=reason, now=now)
        try:
            txn.commit()
        except TransactionCancelled:
            continue
        forget(row, entry)
        return Hidden(image_id, ws, True)
    raise Conflict(f"image {image_id} kept changing concurrently; retry")


def dismiss_report(image_id: str, actor: str, reason: str) -> ReportCase:
    """Close an open case without hiding the image (a new report opens it again)."""
    case = report_store.get(image_id) if valid_image_id(image_id) else None
    if case is None:
        raise NotFound(f"no report about image {image_id}")
    now, ws = clock.now(), str(case.workspace_id)
    txn = Transaction()
    report_store.decide_in(txn, image_id, ws, "dismissed", actor, reason, ids.new_id("rpt", now), now)
    audit.audit_in(
        txn,
        ws,
        actor,
        "gallery.dismiss_report",
        before={"status": case.status},
        after={"status": "dismissed"},
        reason=reason,
        now=now,
    )
    try:
        txn.commit()
    except TransactionCancelled:
        raise Conflict(f"the report case of image {image_id} is {case.status}, not open") from None
    decided = report_store.get(image_id)
    assert decided is not None
    return _case(decided, image_store.get_image(ws, image_id))
