"""The one DynamoDB transaction adapter (the accounting core, billing and tenancy write through it):
ordered transactions with labelled items.

pynamodb builds each item (keys, conditions, update actions from the models); this module
keeps the order, adds ALL_OLD on condition failure where asked, sends ONE
`TransactWriteItems`, and maps `CancellationReasons` back to the labels, so callers can tell
which condition failed (rate window, quota, wallet, idempotency guard).

Every botocore outcome is classified explicitly (:func:`classify`):

- *cancelled*: a condition failed (`TransactionCancelled`, nothing was written) or only
  transaction conflicts did (retried with backoff, then `Contention`);
- *definite*: throttling and in-progress answers say the request was not applied: retried;
- *ambiguous*: a read timeout, a dropped connection or a 5xx may come after DynamoDB applied
  the write. The retry carries the same `ClientRequestToken`, which DynamoDB makes idempotent
  for 10 minutes: an applied transaction answers success again without applying twice. When
  even the retries stay ambiguous, `AmbiguousWrite` tells the caller the outcome is unknown
  (it must read to find out; it must never assume either way);
- anything else (validation, a parameter mismatch, access denied) is a bug or a
  misconfiguration: `TransactionFailed`, never retried.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.domain import DomainError, Unavailable
from chalicelib.store.models import WalletModel

# Error codes that say the request was refused before anything was applied.
NOT_APPLIED_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionInProgressException",  # the same token is still being processed: ask again
        "TransactionConflictException",
        "LimitExceededException",
    }
)
# Server-side failures: DynamoDB may or may not have applied the write.
AMBIGUOUS_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "InternalFailure"})
# Transport failures where the request may have reached DynamoDB.
AMBIGUOUS_TRANSPORT = (ReadTimeoutError, ConnectionClosedError)
# Transport failures where it surely did not.
UNSENT_TRANSPORT = (ConnectTimeoutError, EndpointConnectionError)

CANCELLED, RETRY, AMBIGUOUS, FATAL = "cancelled", "retry", "ambiguous", "fatal"


class Contention(Unavailable):
    """DynamoDB kept cancelling the transaction for conflicts (or throttling): nothing was written;
    retry later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1)


class AmbiguousWrite(Unavailable):
    """DynamoDB never answered definitely (timeouts, 5xx outlasted the retries): the write may or
    may not have been applied. Callers read to find out; they never assume either outcome."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1)


class TransactionFailed(DomainError):
    """DynamoDB refused the request itself (validation, access): a bug or a misconfiguration."""


@dataclass
class Failure:
    """Why one item of a cancelled transaction failed, with its old item when asked."""

    code: str
    old: dict[str, Any] | None


def _plain(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """DynamoDB JSON → Python values (numbers as int), enough for counters and wallets."""
    if raw is None:
        return None
    out: dict[str, Any] = {}
    for name, typed in raw.items():
        ((kind, value),) = typed.items()
        if kind == "N":
            out[name] = int(value) if "." not in value else float(value)
        elif kind == "BOOL":
            out[name] = bool(value)
        elif kind == "NULL":
            out[name] = None
        else:
            out[name] = value
    return out


class TransactionCancelled(Exception):
    """The transaction was refused; `failures` maps item labels to what went wrong."""

    def __init__(self, failures: dict[str, Failure]) -> None:
        super().__init__(", ".join(f"{k}={v.code}" for k, v in failures.items()))
        self.failures = failures


def error_code(exc: BaseException) -> str | None:
    """The DynamoDB error code of a ClientError (None for transport errors)."""
    if isinstance(exc, ClientError):
        return str((exc.response or {}).get("Error", {}).get("Code") or "") or None
    return None


def classify(exc: BaseException) -> str:
    """CANCELLED, RETRY (surely not applied), AMBIGUOUS (maybe applied) or FATAL."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code == "TransactionCanceledException":
            return CANCELLED
        if code in NOT_APPLIED_CODES:
            return RETRY
        if code in AMBIGUOUS_CODES:
            return AMBIGUOUS
        return FATAL
    if isinstance(exc, AMBIGUOUS_TRANSPORT):
        return AMBIGUOUS
    if isinstance(exc, UNSENT_TRANSPORT):
        return RETRY
    return FATAL


def _connection() -> Any:
    """The low-level pynamodb connection every table shares (same endpoint and credentials)."""
    return WalletModel._get_connection().connection


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())


@dataclass
class Transaction:
    """Up to 100 labelled operations, sent as one TransactWriteItems."""

    _ops: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    attempts_made: int = 0  # requests sent by the last commit (benchmarks, tests)

    def update(self, label: str, instance: Any, actions: list[Any], condition: Any = None, *, return_old: bool = False) -> None:
        kwargs = instance.get_update_kwargs_from_instance(
            actions=actions,
            condition=condition,
            return_values_on_condition_failure="ALL_OLD" if return_old else None,
            add_version_condition=False,
        )
        self._ops.append((label, "Update", kwargs))

    def put(self, label: str, instance: Any, condition: Any = None, *, return_old: bool = False) -> None:
        kwargs = instance.get_save_kwargs_from_instance(
            condition=condition,
            return_values_on_condition_failure="ALL_OLD" if return_old else None,
        )
        self._ops.append((label, "Put", kwargs))

    def delete(self, label: str, instance: Any, condition: Any = None) -> None:
        kwargs = instance.get_delete_kwargs_from_instance(condition=condition, add_version_condition=False)
        self._ops.append((label, "Delete", kwargs))

    def check(
        self, label: str, model_cls: Any, hash_key: Any, range_key: Any = None, condition: Any = None, *, return_old: bool = False
    ) -> None:
        kwargs = model_cls.get_operation_kwargs_from_class(hash_key, range_key=range_key, condition=condition)
        if return_old:
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._ops.append((label, "ConditionCheck", kwargs))

    def __len__(self) -> int:
        return len(self._ops)

    def commit(self, connection: Any = None, *, attempts: int = 8) -> None:
        """Send it once, exactly: retries reuse one ClientRequestToken until an answer is definite.

        Raises TransactionCancelled (a condition failed: nothing written), Contention (conflicts
        outlasted the retries: nothing written), AmbiguousWrite (the outcome is unknown) or
        TransactionFailed (a request DynamoDB will never accept).
        """
        connection = connection if connection is not None else _connection()
        request = {"TransactItems": [{op: kwargs} for _, op, kwargs in self._ops], "ClientRequestToken": uuid.uuid4().hex}
        ambiguous: BaseException | None = None
        self.attempts_made = 0
        for attempt in range(attempts):
            self.attempts_made += 1
            try:
                connection.dispatch("TransactWriteItems", request)
                return
            except (BotoCoreError, ClientError) as exc:
                kind = classify(exc)
                if kind == FATAL:
                    raise TransactionFailed(f"TransactWriteItems refused: {exc}") from exc
                if kind == CANCELLED:
                    failures = self._failures(exc)
                    # A cancellation is definite even after an ambiguous attempt: had that attempt
                    # applied, DynamoDB would have answered this same token with success.
                    if failures and {f.code for f in failures.values()} - {"TransactionConflict"}:
                        raise TransactionCancelled(failures) from exc
                    ambiguous = None  # only conflicts: nothing applied; retry under a fresh token
                    request["ClientRequestToken"] = uuid.uuid4().hex
                elif kind == AMBIGUOUS:
                    ambiguous = exc
            if attempt + 1 < attempts:
                _backoff(attempt)
        if ambiguous is not None:
            raise AmbiguousWrite("DynamoDB did not answer definitely; the transaction may have been applied") from ambiguous
        raise Contention("transaction kept conflicting or being throttled")

    def _failures(self, exc: BaseException) -> dict[str, Failure]:
        """Cancellation reasons by label (pynamodb attaches them to its VerboseClientError)."""
        reasons = list(getattr(exc, "cancellation_reasons", None) or [])
        if not reasons and isinstance(exc, ClientError):
            raw = (exc.response or {}).get("CancellationReasons") or []
            reasons = [r if r.get("Code") not in (None, "None") else None for r in raw]
        failures: dict[str, Failure] = {}
        for (label, _, _), reason in zip(self._ops, reasons, strict=False):
            if reason is None:
                continue
            code = reason.get("Code") if isinstance(reason, dict) else reason.code
            item = reason.get("Item") if isinstance(reason, dict) else reason.raw_item
            if code not in (None, "None"):
                failures[label] = Failure(str(code), _plain(item))
        return failures
