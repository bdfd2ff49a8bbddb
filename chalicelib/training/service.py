"""Training use cases: create (admission + queue), list, get, cancel; and what a job naming a
trained model (`model: "trn_…"`) may use.

A training is admitted exactly like a job (accounting.admission: one transaction takes the rate
slots, the daily quota, the spend caps, the wallet hold, the hold row keyed by the
Idempotency-Key, the ledger `hold` entry and the training's row), so 402/429 come before
anything runs and a replayed key admits nothing twice. Cancel and failure release the hold
through `accounting.settlement.release_job`; success charges it through `settle_job` (the
worker). The hold's `held → settled|released` guard makes each happen once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib import clock, ids
from chalicelib.accounting.admission import AdmissionRequest, RateStatus, SpendCaps, admit_job
from chalicelib.accounting.denials import record_denial
from chalicelib.accounting.errors import AmbiguousWrite, Contention, Denied, DuplicateAdmission
from chalicelib.accounting.plans import effective_limits, effective_plan
from chalicelib.accounting.settlement import JobFinal, release_job
from chalicelib.bootstrap import on_reset
from chalicelib.domain import RepeatedKey
from chalicelib.generation.errors import refusal
from chalicelib.library.errors import FolderNotFound, LibraryImageNotFound
from chalicelib.library.images import valid_image_id
from chalicelib.settings import get_settings
from chalicelib.store import billing_settings
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store import trainings as store
from chalicelib.training import queue, rules, states
from chalicelib.training.errors import InvalidTraining, TrainingNotCancelable, TrainingNotFound, TrainingUnavailable
from chalicelib.training.style import Style
from chalicelib.training.trainers import BASE_MODELS

if TYPE_CHECKING:
    from chalicelib.store.models import JobModel, WorkspaceModel

Cursor = store.Cursor


@dataclass(frozen=True)
class TrainingSpec:
    """The validated body of POST /v1/trainings."""

    name: str
    upload_ids: list[str] | None = None
    folder_id: str | None = None
    base_model: str | None = None
    steps: int | None = None


@dataclass(frozen=True)
class TrainingOrder:
    """Who asks for which training, and how a retry of the same request is recognised."""

    spec: TrainingSpec
    workspace: WorkspaceModel
    user_id: str
    key_id: str | None
    request_hash: str
    idempotency_key: str | None = None
    correlation_id: str | None = None
    caps: SpendCaps | None = None


@dataclass(frozen=True)
class TrainingRecord:
    """A training as the use cases hand it out (its row; the response model only copies)."""

    row: JobModel


@dataclass(frozen=True)
class CreatedTraining:
    record: TrainingRecord
    rate: RateStatus | None
    replayed: bool


def create_training(order: TrainingOrder) -> CreatedTraining:
    """Check the images, admit the training (its credits held before the 202) and queue it, or
    replay the training this Idempotency-Key admitted before."""
    image_ids = _images_of(order.workspace.workspace_id, order.spec)
    trainer = get_settings().trainer
    row = _draft(order, image_ids, trainer, _base_model(trainer, order.spec.base_model))
    now = row.created_at
    past_due = billing_settings.of(order.workspace).settings.past_due_since
    limits = effective_limits(effective_plan(order.workspace.plan, past_due, now), order.workspace.limits)
    key = f"idem:trn:{order.idempotency_key}" if order.idempotency_key else row.job_id
    request = AdmissionRequest(row, order.workspace.plan, limits, key, order.request_hash, now, order.caps or SpendCaps())
    try:
        admission = admit_job(request)
    except DuplicateAdmission as duplicate:
        return _replay(order, duplicate)
    except (AmbiguousWrite, Contention):
        raise TrainingUnavailable(
            "the training could not be admitted right now; retry with the same Idempotency-Key", retry_after=1
        ) from None
    except Denied as denied:
        raise _refused(order, denied) from None
    queue.enqueue_training(row.workspace_id, row.job_id, order.correlation_id)
    return CreatedTraining(TrainingRecord(row), admission.rate, replayed=False)


def _draft(order: TrainingOrder, image_ids: list[str], trainer: str, base_model: str) -> JobModel:
    now = clock.now()
    return store.new_training(
        order.workspace.workspace_id,
        ids.new_id("trn", now),
        user_id=order.user_id,
        key_id=order.key_id,
        name=order.spec.name,
        image_ids=image_ids,
        folder_id=order.spec.folder_id,
        base_model=base_model,
        steps=order.spec.steps or rules.DEFAULT_STEPS,
        trainer=trainer,
        correlation_id=order.correlation_id,
        created_at=now,
    )


def _base_model(trainer: str, asked: str | None) -> str:
    """The model the training extends: the trainer's own (the one allowed value, for now)."""
    base = BASE_MODELS[trainer] if trainer == "local" else str(get_settings().replicate_trainer or BASE_MODELS[trainer])
    if asked is not None and asked != base:
        raise InvalidTraining(f"base_model must be {base!r} (the trainer this deployment runs)", field="base_model")
    return base


def _images_of(workspace_id: str, spec: TrainingSpec) -> list[str]:
    """The training images: exactly one of upload_ids or folder_id, 5-50 live images of the workspace."""
    if (spec.upload_ids is None) == (spec.folder_id is None):
        raise InvalidTraining("give exactly one of upload_ids or folder_id", field="upload_ids")
    if spec.upload_ids is not None:
        return _chosen(workspace_id, spec.upload_ids)
    return _folder(workspace_id, str(spec.folder_id))


def _chosen(workspace_id: str, image_ids: list[str]) -> list[str]:
    if not rules.MIN_IMAGES <= len(image_ids) <= rules.MAX_IMAGES:
        raise InvalidTraining(f"upload_ids holds {rules.MIN_IMAGES} to {rules.MAX_IMAGES} image ids", field="upload_ids")
    if len(set(image_ids)) != len(image_ids):
        raise InvalidTraining("upload_ids has a duplicate id", field="upload_ids")
    bad = next((image_id for image_id in image_ids if not valid_image_id(image_id)), None)
    if bad is not None:
        raise InvalidTraining(f"{bad!r} is not an image id", field="upload_ids")
    found = image_store.get_images(workspace_id, image_ids)
    for image_id in image_ids:
        if image_id not in found or found[image_id].trashed_at is not None:
            raise LibraryImageNotFound(image_id)
    return image_ids


def _folder(workspace_id: str, folder_id: str) -> list[str]:
    """The folder's live images (not its subfolders'), newest first."""
    if not ids.is_id(folder_id, "fld") or folder_store.get_folder(workspace_id, folder_id) is None:
        raise FolderNotFound(folder_id, field="folder_id")
    found, more = image_store.folder_page(workspace_id, folder_id, "img_", "img_~", rules.MAX_IMAGES + 1)
    if more or len(found) > rules.MAX_IMAGES:
        raise InvalidTraining(f"the folder holds more than {rules.MAX_IMAGES} images: name them in upload_ids", field="folder_id")
    rows = image_store.get_images(workspace_id, found)
    live = [i for i in found if i in rows and rows[i].trashed_at is None and rows[i].folder_id == folder_id]
    if len(live) < rules.MIN_IMAGES:
        raise InvalidTraining(
            f"the folder holds {len(live)} images; a training needs at least {rules.MIN_IMAGES}", field="folder_id"
        )
    return live


def _replay(order: TrainingOrder, duplicate: DuplicateAdmission) -> CreatedTraining:
    """The training this Idempotency-Key admitted; queued again if still queued (its message may be lost)."""
    if duplicate.request_hash != order.request_hash:
        raise RepeatedKey("this Idempotency-Key was used with a different body")
    row = _load(order.workspace.workspace_id, duplicate.job_id)
    if row.status == "queued":
        queue.enqueue_training(row.workspace_id, row.job_id, row.correlation_id)
    return CreatedTraining(TrainingRecord(row), None, replayed=True)


def _refused(order: TrainingOrder, denied: Denied) -> Exception:
    error = refusal(denied)
    record_denial(
        order.workspace.workspace_id,
        str(error.code),
        clock.now(),
        user_id=order.user_id,
        key_id=order.key_id,
        scope=getattr(denied, "scope", None),
        provider="local",
        message=denied.message,
        request_id=order.correlation_id,
    )
    return error


def _load(workspace_id: str, training_id: str) -> JobModel:
    row = store.get_training(workspace_id, training_id) if ids.is_id(training_id, "trn") else None
    if row is None:
        raise TrainingNotFound(training_id)
    return row


def get_training(workspace_id: str, training_id: str) -> TrainingRecord:
    """A training of this workspace, read consistently (another tenant's is not found)."""
    return TrainingRecord(_load(workspace_id, training_id))


def list_trainings(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[TrainingRecord], Cursor | None]:
    """Newest first (ULID keys), strongly consistent."""
    rows, last = store.newest_trainings(workspace_id, limit, cursor)
    return [TrainingRecord(row) for row in rows], last


def cancel_training(workspace_id: str, training_id: str) -> TrainingRecord:
    """Cancel a queued or running training: its hold is released once, whoever races it (the
    worker's settlement finds the hold released and charges nothing). A canceled one is answered
    as it is; a succeeded or failed one is refused (409)."""
    row = _load(workspace_id, training_id)
    answer = states.cancel_answer(row.status)
    if answer == "refuse":
        raise TrainingNotCancelable(row.status)
    if answer == "cancel":
        now = clock.now()
        release_job(row, JobFinal("canceled", now), now, reason="canceled", job_condition=store.active())
        row = _load(workspace_id, training_id)
        if row.status != "canceled":
            raise TrainingNotCancelable(row.status)  # the worker finished it first
    return TrainingRecord(row)


# --- trained models in jobs ---------------------------------------------------------------------


def provider_for_model(workspace_id: str, model: str, provider: str) -> str:
    """The provider a job naming the trained model `model` runs on (`provider`, the job's own or
    its caller's default): the workspace's own succeeded training only (another tenant's, or
    none: 404; not succeeded, or not runnable here: 400)."""
    if not ids.is_id(model, "trn"):
        raise InvalidTraining(f"{model!r} is not a training id (trn_…)", field="model")
    row = store.get_training(workspace_id, model)
    if row is None:
        raise TrainingNotFound(model, field="model")
    if row.status != "succeeded":
        raise InvalidTraining(f"training {model} is {row.status}; only a succeeded training is a model", field="model")
    if (row.params or {}).get("trainer") != "local":
        raise InvalidTraining(f"training {model} ran on a hosted trainer; its model runs there, not here", field="model")
    if provider not in rules.STYLE_PROVIDERS:
        raise InvalidTraining(f"a trained style runs on {', '.join(rules.STYLE_PROVIDERS)}", field="provider")
    return provider


_styles: dict[tuple[str, str], Style] = {}
_styles_lock = threading.Lock()


def trained_style(workspace_id: str, model: str) -> Style | None:
    """The style of the workspace's succeeded training `model`, or None. A succeeded training
    never changes, so it is kept per container once read."""
    key = (workspace_id, model)
    with _styles_lock:
        if key in _styles:
            return _styles[key]
    row = store.get_training(workspace_id, model)
    learnt = (row.params or {}).get("style") if row is not None and row.status == "succeeded" else None
    if learnt is None:
        return None
    style = Style.from_dict(learnt)
    with _styles_lock:
        _styles[key] = style
    return style


@on_reset
def reset_styles() -> None:
    with _styles_lock:
        _styles.clear()
