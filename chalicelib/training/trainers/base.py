"""The trainer seam: what the training worker asks of a trainer, whichever runs it.

A trainer either finishes inside `start` (the local one) or hands back a `handle` that the worker
polls later (a hosted one). Errors are `TrainerError`s, already classified as retryable or final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Phase = Literal["running", "succeeded", "failed", "canceled"]


@dataclass(frozen=True)
class TrainingInput:
    """What a trainer learns from: the training, its images (file name, bytes) and its settings."""

    workspace_id: str
    training_id: str
    images: list[tuple[str, bytes]]
    steps: int
    base_model: str


@dataclass(frozen=True)
class Progress:
    """Where a training stands at the trainer: `parameters` is the model once it succeeded."""

    phase: Phase
    handle: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    poll_after_s: int = 30


class Trainer(Protocol):
    name: str

    def start(self, job: TrainingInput) -> Progress: ...

    def poll(self, handle: str) -> Progress: ...

    def cancel(self, handle: str) -> None: ...
