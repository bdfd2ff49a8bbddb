"""The exports worker: builds an export's zip in object storage, then marks it ready and emits
`export.ready`.

Invariants (tests/functional/test_library_exports.py tries to break each):
- One build at a time per export: a worker claims it (queued → running with a lease) by a
  conditional write. A duplicate SQS message finds it finished (and is done) or claimed (and
  comes back later: a message is only deleted once its export is decided). A worker that died
  leaves a lease that runs out before SQS shows its message again (the queue's visibility is 6x
  the worker's timeout, the lease its timeout plus a minute).
- Bounded memory: originals are streamed from storage in 1 MiB chunks into a zip written as a
  multipart upload of 8 MiB parts (objects.PartWriter); the zip appears whole or not at all.
- Converges after a crash between the upload and the status change: the zip's key is the
  export's, and a re-run that finds it complete finishes from its metadata without rebuilding.
- ready is written once (conditioned on running, with the pending slot given back in the same
  transaction); export.ready is emitted until it is marked sent, with one event id per export.
- A build that keeps failing fails the export (`export_failed`) on the queue's last receive.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.bootstrap import ready
from chalicelib.library import objects, rules
from chalicelib.observability import count, logger
from chalicelib.store import exports as export_store
from chalicelib.store import images as image_store
from chalicelib.store.models import ExportModel, ImageModel

LEASE_S = 360  # the worker's timeout (300 s) and a minute
MAX_RECEIVES = 3  # infra/config.py EXPORTS_MAX_RECEIVE_COUNT: the last receive fails the export
PENDING = ("queued", "running")


class BuildInProgress(Exception):
    """Another worker holds the export's lease: this message comes back after its visibility."""


@dataclass(frozen=True)
class Built:
    zip_bytes: int
    included: int
    skipped: int


def build(workspace_id: str, export_id: str, *, last_try: bool = False) -> str:
    """Build the export if it is still to be built and nobody else is; returns what happened."""
    export = export_store.get_export(workspace_id, export_id)
    if export is None:
        return "gone"
    if export.status == "ready":
        _announce(export)  # a crash after ready and before the event: emit it now
        return "ready"
    if export.status not in PENDING:
        return str(export.status)
    if not export_store.claim(export, clock.now(), LEASE_S):
        raise BuildInProgress(f"export {export_id} is being built by another worker")
    try:
        outcome = _build(export)
    except Exception:
        if not last_try:
            raise  # the message comes back (SQS) and the lease runs out before it does
        logger.exception("export failed", extra={"error_code": "export_failed", "export_id": export_id})
        _fail(export, "export_failed", "the zip could not be built; ask for a new export")
        objects.delete([str(export.zip_key)])  # a zip completed just before the failure goes too
        return "failed"
    fresh = export_store.get_export(workspace_id, export_id) if outcome == "ready" else None
    if fresh is not None and fresh.status == "ready":
        _announce(fresh)  # outside the build: a failed emit retries the message, never fails the export
    return outcome


def _build(export: ExportModel) -> str:
    found = objects.head(str(export.zip_key))
    if found is None:
        rows = _live_rows(export)
        if not rows:
            _fail(export, "no_images", "every image of this export was trashed or deleted before it was built")
            return "failed"
        built = write_zip(export, rows)
    else:  # built before a crash: finish from what the zip says
        size, meta = found
        built = Built(size, int(meta.get("included", "0")), int(meta.get("skipped", "0")))
    now = clock.now()
    attributes = {
        "zip_bytes": built.zip_bytes, "included": built.included, "skipped": built.skipped,
        "finished_at": now, "expires_at": now + rules.EXPORT_RETENTION,
    }  # fmt: skip
    if export_store.finish(export, "ready", attributes, due=("export_zip", now + rules.EXPORT_RETENTION)):
        count("ExportsReady")
    return "ready"


def _live_rows(export: ExportModel) -> list[ImageModel]:
    """The images asked for that are still there and not in the trash, in the order asked."""
    wanted = [str(i) for i in export.image_ids]
    rows = image_store.get_images(str(export.workspace_id), wanted)
    return [rows[i] for i in wanted if i in rows and rows[i].trashed_at is None]


def _fail(export: ExportModel, code: str, message: str) -> None:
    export_store.finish(export, "failed", {"error": {"code": code, "message": message}, "finished_at": clock.now()})
    count("ExportsFailed", code=code)


def _announce(export: ExportModel) -> None:
    """export.ready until it is marked sent (the same event id each time: receivers see one)."""
    from chalicelib.webhooks.producers import export_ready

    if export.notified:
        return
    export_ready(export)
    export_store.mark_notified(export)


# --- the zip ----------------------------------------------------------------------------------


def write_zip(export: ExportModel, rows: list[ImageModel]) -> Built:
    """Stream the originals (stored as they are: PNG/JPEG/WebP do not compress) and a
    manifest.json into the export's zip."""
    names = file_names(rows)
    skipped = len(export.image_ids) - len(rows)
    metadata = {"included": str(len(rows)), "skipped": str(skipped)}
    with objects.part_writer(str(export.zip_key), "application/zip", metadata) as out:
        _fill(zipfile.ZipFile(out, mode="w", allowZip64=True), export, rows, names)
    return Built(out.written, len(rows), skipped)


def _fill(archive: zipfile.ZipFile, export: ExportModel, rows: list[ImageModel], names: list[str]) -> None:
    """Each original chunk by chunk, then the manifest; closing writes the central directory."""
    with archive:
        for row, name in zip(rows, names, strict=True):
            info = zipfile.ZipInfo(name, date_time=_zip_time(row.created_at))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = int(row.bytes)
            with archive.open(info, mode="w") as member:
                for chunk in objects.stream(str(row.s3_key)):
                    member.write(chunk)
        manifest = json.dumps(_manifest(export, rows, names), indent=1, ensure_ascii=False)
        archive.writestr("manifest.json", manifest, compress_type=zipfile.ZIP_DEFLATED)


def file_names(rows: list[ImageModel]) -> list[str]:
    """A readable, distinct file name per image: its title (or id) and the original's extension."""
    taken: set[str] = {"manifest.json"}
    names: list[str] = []
    for row in rows:
        stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", row.title or "").strip(" ._")[:80] or str(row.image_id)
        ext = str(row.s3_key).rsplit(".", 1)[-1] if "." in str(row.s3_key).rsplit("/", 1)[-1] else "png"
        name, n = f"{stem}.{ext}", 1
        while name.lower() in taken:
            n += 1
            name = f"{stem}-{n}.{ext}"
        taken.add(name.lower())
        names.append(name)
    return names


def _zip_time(at: datetime | None) -> tuple[int, int, int, int, int, int]:
    """The image's creation time (zip times start in 1980): the same bytes on every rebuild."""
    moment = at or datetime(1980, 1, 1)
    return (max(1980, moment.year), moment.month, moment.day, moment.hour, moment.minute, moment.second)


def _manifest(export: ExportModel, rows: list[ImageModel], names: list[str]) -> dict[str, Any]:
    included = {str(row.image_id) for row in rows}
    return {
        "export_id": export.export_id,
        "created_at": clock.iso(export.created_at),
        "images": [
            {
                "file": name,
                "id": row.image_id,
                "title": row.title,
                "prompt": row.prompt,
                "tags": list(row.tags or []),
                "kind": row.kind or "generate",
                "width": int(row.width),
                "height": int(row.height),
                "content_type": row.content_type,
                "bytes": int(row.bytes),
                "created_at": clock.iso(row.created_at),
                "source_image_id": row.source_image_id,
            }  # fmt: skip
            for row, name in zip(rows, names, strict=True)
        ],
        "skipped": [str(i) for i in export.image_ids if str(i) not in included],
    }


# --- the due queue (library.purge, hourly) -----------------------------------------------------


def sweep(kind: str, workspace_id: str, export_id: str, now: datetime) -> bool:
    """`export`: still queued or running at its deadline (its messages ran out) → failed.
    `export_zip`: a ready zip at its expiry → deleted, the export `expired`. True when it acted."""
    export = export_store.get_export(workspace_id, export_id)
    if export is None:
        return False
    if kind == "export":
        if export.status not in PENDING:
            return False
        error = {"code": "timeout", "message": "the export was not built in time; ask for a new one"}
        return export_store.finish(export, "failed", {"error": error, "finished_at": now})
    if export.status != "ready" or (export.expires_at is not None and export.expires_at > now):
        return False
    objects.delete([str(export.zip_key)])
    return export_store.expire(export)


# --- the consumer -------------------------------------------------------------------------------


def _record(record: Any) -> str:
    """One exports-queue record; a malformed one is logged and dropped (retrying cannot fix it)."""
    try:
        body = json.loads(record.body)
        workspace_id, export_id = str(body["workspace_id"]), str(body["export_id"])
    except (ValueError, KeyError, TypeError):
        logger.warning("exports message ignored", extra={"error_code": "bad_export_message"})
        return "ignored"
    receives = int((record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    return build(workspace_id, export_id, last_try=receives >= MAX_RECEIVES)


def handle_exports_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The exports queue's Lambda (partial batch failures: one failed build fails alone)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    ready()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
