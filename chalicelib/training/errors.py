"""What the training use cases refuse, as domain kinds (`chalicelib.api.errors` maps them to HTTP).

Admission's refusals (402, 429, 403 banned) reuse the job's translation (`generation.errors.refusal`):
a training is admitted exactly like a job.
"""

from __future__ import annotations

from chalicelib.domain import Conflict, InvalidInput, NotFound, Unavailable


class TrainingNotFound(NotFound):
    """No such training in the caller's workspace (another tenant's is not found either)."""

    def __init__(self, training_id: str, field: str | None = None) -> None:
        details = {"field": field} if field else {}
        super().__init__(f"training {training_id} not found", **details)


class InvalidTraining(InvalidInput):
    """The training (or a job naming a trained model) asks for something that cannot be; `field` says what."""


class TrainingNotCancelable(Conflict):
    """Only a queued or running training can be canceled; `status_now` says where this one is."""

    def __init__(self, status_now: str) -> None:
        super().__init__(f"only queued or running trainings can be canceled; this one is {status_now}", status_now=status_now)


class TrainingUnavailable(Unavailable):
    """Admission did not reach a definite answer; the same Idempotency-Key can be retried."""

    code = "service_unavailable"


class TrainerError(Exception):
    """A trainer's failure, classified: retryable (the message comes back) or final (the training fails)."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
