"""The training state machine as data: queued → running → succeeded | failed | canceled.

Pure rules, no I/O: `store/trainings.py` and the accounting core enforce them with conditional
writes (the job-row status condition and the hold's `held → settled|released` guard), so a
redelivered message, a duplicate worker or a cancel racing the worker each find the row where
these rules say they may act, or change nothing.
"""

from __future__ import annotations

from typing import Final, Literal

Status = Literal["queued", "running", "succeeded", "failed", "canceled"]
STATES: Final = ("queued", "running", "succeeded", "failed", "canceled")
TERMINAL: Final = frozenset({"succeeded", "failed", "canceled"})
CANCELABLE: Final = frozenset({"queued", "running"})

# Which status may follow which. `queued → failed` is the sweeper's (a training whose messages
# never ran); `running → running` is a worker resuming after a crash or a redelivery.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "queued": frozenset({"running", "canceled", "failed"}),
    "running": frozenset({"running", "succeeded", "failed", "canceled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}

Claim = Literal["start", "resume", "skip"]


def can_move(current: str, target: str) -> bool:
    """True when a training in `current` may become `target` (unknown statuses never move)."""
    return target in TRANSITIONS.get(current, frozenset())


def claim(current: str) -> Claim:
    """What a worker holding a message does with a training in `current`: start a queued one,
    resume a running one (its previous worker died or the message was duplicated), skip the rest."""
    if current == "queued":
        return "start"
    if current == "running":
        return "resume"
    return "skip"


def cancel_answer(current: str) -> Literal["cancel", "done", "refuse"]:
    """A cancel request: cancel a queued or running training; a canceled one is answered as it is
    (a retried cancel); a succeeded or failed one is refused (409)."""
    if current in CANCELABLE:
        return "cancel"
    return "done" if current == "canceled" else "refuse"
