"""The accounting core's one DynamoDB adapter: ordered transactions with labelled items.

pynamodb builds each item (keys, conditions, update actions from the models); this module
keeps the order, adds ALL_OLD on condition failure where asked, sends ONE
`TransactWriteItems`, and maps `CancellationReasons` back to the labels, so callers can tell
which condition failed (rate window, quota, wallet, idempotency guard).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection.base import BOTOCORE_EXCEPTIONS
from pynamodb.exceptions import TransactWriteError

from chalicelib.accounting.errors import Contention


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
        (kind, value), = typed.items()
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


@dataclass
class Transaction:
    """Up to 100 labelled operations, sent as one TransactWriteItems."""

    _ops: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def update(self, label: str, instance: Any, actions: list[Any], condition: Any = None,
               *, return_old: bool = False) -> None:
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

    def check(self, label: str, model_cls: Any, hash_key: Any, range_key: Any = None,
              condition: Any = None, *, return_old: bool = False) -> None:
        kwargs = model_cls.get_operation_kwargs_from_class(hash_key, range_key=range_key, condition=condition)
        if return_old:
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._ops.append((label, "ConditionCheck", kwargs))

    def __len__(self) -> int:
        return len(self._ops)

    def commit(self, connection: Any, *, attempts: int = 8) -> None:
        """Send it; retry only DynamoDB's TransactionConflict (with jittered backoff)."""
        items = [{op: kwargs} for _, op, kwargs in self._ops]
        for attempt in range(attempts):
            try:
                try:
                    connection.dispatch("TransactWriteItems", {"TransactItems": items})
                    return
                except BOTOCORE_EXCEPTIONS as raw:
                    raise TransactWriteError("Failed to write transaction items", raw) from raw
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException":
                    raise
                reasons = exc.cancellation_reasons or []
                failures: dict[str, Failure] = {}
                for (label, _, _), reason in zip(self._ops, reasons, strict=False):
                    if reason is not None and reason.code not in (None, "None"):
                        failures[label] = Failure(reason.code, _plain(reason.raw_item))
                codes = {f.code for f in failures.values()}
                if not failures or codes <= {"TransactionConflict"}:
                    if attempt + 1 < attempts:
                        time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())
                        continue
                    raise Contention("transaction kept conflicting") from exc
                raise TransactionCancelled(failures) from exc
