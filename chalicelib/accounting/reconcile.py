"""Reconciliation: does a wallet agree with its ledger and with itself?

A ledger entry is written in the same transaction as its wallet change, so "sum of entries ==
balance" alone cannot see a change applied twice (both sides move together). The checks here
also look at what each transaction must preserve:

1. balance   == sum(entry.amount)          (conservation)
2. held      == sum(entry.held_delta)
3. available == balance - held             (the stored copy admission conditions on)
4. held >= 0 and available >= 0            (never negative)
5. every job's hold is taken once and resolved at most once, and a resolution returns exactly
   what the hold took (a double settlement or release shows here)
6. active_jobs == jobs whose hold is still open; running_jobs == open jobs holding a slot

`check` is pure (unit-tested); `reconcile_wallet` reads the rows and calls it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chalicelib.accounting import wallet as rules

HOLD_TYPES = frozenset({"hold"})
RESOLUTION_TYPES = frozenset({"charge", "release"})


@dataclass(frozen=True)
class EntryFacts:
    """The parts of a ledger entry reconciliation needs."""

    type: str
    amount: int
    held_delta: int
    job_id: str | None = None


@dataclass
class Drift:
    """One wallet's reconciliation: `ok` when `problems` is empty."""

    workspace_id: str
    balance: int
    ledger_balance: int
    held: int
    ledger_held: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _job_problems(entries: Iterable[EntryFacts]) -> tuple[list[str], set[str]]:
    """Per-job checks (5); returns the problems and the jobs whose hold is still open."""
    holds: dict[str, list[int]] = defaultdict(list)
    resolutions: dict[str, list[int]] = defaultdict(list)
    for e in entries:
        if e.job_id and e.type in HOLD_TYPES:
            holds[e.job_id].append(e.held_delta)
        elif e.job_id and e.type in RESOLUTION_TYPES:
            resolutions[e.job_id].append(e.held_delta)
    problems = []
    for job_id in sorted(set(holds) | set(resolutions)):
        taken, given = holds.get(job_id, []), resolutions.get(job_id, [])
        if len(taken) != 1:
            problems.append(f"job {job_id}: {len(taken)} hold entries (expected 1)")
        if len(given) > 1:
            problems.append(f"job {job_id}: resolved {len(given)} times")
        if len(taken) == 1 and len(given) == 1 and taken[0] + given[0] != 0:
            problems.append(f"job {job_id}: hold {taken[0]} resolved with {given[0]}")
    open_jobs = {job_id for job_id, taken in holds.items() if taken and not resolutions.get(job_id)}
    return problems, open_jobs


def check(
    workspace_id: str,
    w: rules.Wallet,
    entries: list[EntryFacts],
    *,
    active_jobs: int,
    running_jobs: int,
    slot_of: Callable[[set[str]], int],
) -> Drift:
    """Every invariant above for one wallet; `slot_of(open_jobs)` counts those holding a slot."""
    ledger_balance = sum(e.amount for e in entries)
    ledger_held = sum(e.held_delta for e in entries)
    drift = Drift(workspace_id, w.balance, ledger_balance, w.held, ledger_held)
    if w.balance != ledger_balance:
        drift.problems.append(f"balance {w.balance} != ledger {ledger_balance}")
    if w.held != ledger_held:
        drift.problems.append(f"held {w.held} != ledger {ledger_held}")
    if w.available != w.balance - w.held:
        drift.problems.append(f"available {w.available} != balance - held {w.balance - w.held}")
    if w.held < 0 or w.available < 0:
        drift.problems.append(f"negative: held {w.held}, available {w.available}")
    job_problems, open_jobs = _job_problems(entries)
    drift.problems.extend(job_problems)
    if active_jobs != len(open_jobs):
        drift.problems.append(f"active_jobs {active_jobs} != open holds {len(open_jobs)}")
    slotted = slot_of(open_jobs) if open_jobs else 0
    if running_jobs != slotted:
        drift.problems.append(f"running_jobs {running_jobs} != open jobs holding a slot {slotted}")
    return drift
