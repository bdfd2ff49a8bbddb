"""Golden records: what a money path stored and answered, compared with a reviewed file.

Why: many of the money paths' bugs change a detail no assertion names (a rejection's message, the
field it blames, a ledger entry's reason or details, a counter's expiry, a denial's quota name).
Mutation testing found them one at a time (docs/mutation.md); a golden record pins all of them at
once. A test hands `golden.check(value)` what it observed (responses, webhook outcomes, the rows
of the money tables); the value, normalised so it is the same on every run, must equal the one
stored under the test's name in `tests/golden/<module>.json`.

When a change is meant, write the records again and review the diff like code:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/functional/test_golden_money.py ...

Normalising: values that differ per run by design become placeholders: our prefixed ULIDs and
the fake Stripe's ids (numbered by first appearance, so "the same id" stays visible), loopback
URLs and their signed query strings, request ids, and (unless the test froze the clock)
timestamps. Numbers are kept: money is integers and must match exactly.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

_OUR_ID = re.compile(r"\b([a-z]{2,5})_([0-9A-HJKMNP-TV-Z]{26})\b")
_STRIPE_ID = re.compile(r"\b(acct|ch|cs|cus|dp|evt|in|pi|pm|price|prod|re|seti|si|sub|we)_([0-9a-f]{24})\b")
_LOCAL_URL = re.compile(r"https?://(127\.0\.0\.1|localhost)(:\d+)?")
_SIGNED_QUERY = re.compile(r"\?[^\"\s]*X-Amz-[^\"\s]*")
_TEST_PREFIX = re.compile(r"\bt\d+-[a-z0-9-]*?(?=-(images|jobs|billing|webhooks|uploads|exports)\b)")  # tests/conftest.py's
_ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?\b")
# A uuid per request or per SQS message.
_VOLATILE_KEYS = frozenset({"request_id", "X-Request-Id", "correlation_id", "itemIdentifier"})
# Durations measured on the wall clock (perf_counter): which were measured is kept, not how long.
_MEASURED = frozenset({"admission_ms", "provider_ms", "latency_ms", "storage_ms", "settlement_ms", "queue_wait_ms"})


def normalise(value: Any, *, keep_times: bool = False) -> Any:
    """A JSON-able copy of `value` that is the same on every run (see the module's docstring)."""
    text = json.dumps(value, sort_keys=True, default=str)
    names: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        found = match.group(0)
        if found not in names:
            prefix = match.group(1)
            names[found] = f"<{prefix}#{sum(1 for v in names.values() if v.startswith(f'<{prefix}#')) + 1}>"
        return names[found]

    text = _OUR_ID.sub(placeholder, text)
    text = _STRIPE_ID.sub(placeholder, text)
    text = _LOCAL_URL.sub("<local>", text)
    text = _TEST_PREFIX.sub("<tables>", text)
    text = _SIGNED_QUERY.sub("?<signed>", text)
    if not keep_times:
        text = _ISO_TIME.sub("<time>", text)
    return _drop_volatile(json.loads(text))


def _drop_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "<volatile>" if k in _VOLATILE_KEYS else "<ms>" if k in _MEASURED else _drop_volatile(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


@contextmanager
def _locked(path: Path) -> Iterator[dict[str, Any]]:
    """The golden file's records, rewritten on exit; locked so parallel workers can update it."""
    path.parent.mkdir(exist_ok=True)
    # One lock file for all records, never removed: removing it would let a third worker lock a
    # new file while a second still holds the old one (git ignores it).
    with open(path.parent / ".update.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        records = json.loads(path.read_text()) if path.exists() else {}
        yield records
        path.write_text(json.dumps(dict(sorted(records.items())), indent=1, sort_keys=True) + "\n")


class Golden:
    """`check(value, name="")`: compare with (or, with UPDATE_GOLDEN=1, store as) this test's record."""

    def __init__(self, module: str, test: str, *, keep_times: bool = False) -> None:
        self.path = GOLDEN_DIR / f"{module}.json"
        self.test = test
        self.keep_times = keep_times
        self.checked: set[str] = set()

    def check(self, value: Any, name: str = "") -> None:
        key = f"{self.test}::{name}" if name else self.test
        assert key not in self.checked, f"two golden records named {key!r} in one test"
        self.checked.add(key)
        observed = normalise(value, keep_times=self.keep_times)
        if UPDATE:
            with _locked(self.path) as records:
                records[key] = observed
            return
        records = json.loads(self.path.read_text()) if self.path.exists() else {}
        assert key in records, f"no golden record {key!r} in {self.path.name}: run the test with UPDATE_GOLDEN=1"
        expected = records[key]
        if observed != expected:
            raise AssertionError(f"golden record {key!r} differs:\n{_diff(expected, observed)}")


def _diff(expected: Any, observed: Any, limit: int = 400) -> str:
    import difflib

    lines = difflib.unified_diff(
        json.dumps(expected, indent=1, sort_keys=True).splitlines(),
        json.dumps(observed, indent=1, sort_keys=True).splitlines(),
        "golden",
        "observed",
        lineterm="",
        n=2,
    )
    return "\n".join(list(lines)[:limit])


def _plain(value: Any) -> Any:
    """A DynamoDB value as JSON: integral Decimals as ints, sets as sorted lists."""
    from decimal import Decimal

    from boto3.dynamodb.types import Binary

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Binary | bytes):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, str) and value[:1] in "{[":  # a JSONAttribute: shown as what it holds
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def table_rows(*, skip: tuple[str, ...] = ("idempotency", "analytics")) -> dict[str, list[Any]]:
    """Every row of every table the app uses (but Powertools' idempotency records and the
    analytics sums of wall-clock durations), as plain JSON, in a stable order; empty tables left out. For tests on their
    own tables (`fresh_aws`) and the `deterministic` fixture."""
    from boto3.dynamodb.types import TypeDeserializer

    from chalicelib.aws import client
    from chalicelib.store.models import ALL_MODELS

    deserialize = TypeDeserializer().deserialize
    dynamodb = client("dynamodb")
    out: dict[str, list[Any]] = {}
    for model in ALL_MODELS:
        if model.table_suffix in skip:
            continue
        rows: list[Any] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=model.Meta.table_name):
            rows += [{k: _plain(deserialize(v)) for k, v in item.items()} for item in page["Items"]]
        rows = [_drop_volatile(row) for row in rows]  # before sorting: the order must not depend on them
        if rows:
            out[model.table_suffix] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out
