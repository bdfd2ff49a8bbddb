"""An AWS meter for the benchmarks: every request the app's clients make, and for DynamoDB the
write and read units of each request, with the partition key of every table and index written.

It hooks botocore's `before-call`/`after-call` events on the clients the code uses (the pynamodb
models' own clients and `chalicelib.aws.client`). To know which index keys a write touches (an
UpdateItem or a REMOVE does not say), it reads the item before and after the call from moto's
in-process backend, so moto must run in this process (SerializedMotoServer).

Units, as DynamoDB bills them: a write costs ceil(larger of the item before/after, in KB) write
units, twice in a transaction (a ConditionCheck included); each index whose projected image
changes costs ceil(projected KB) more on that index's key (a moved key: a delete on the old one
and a put on the new one). A read costs ceil(KB read / 4) units, half when eventually consistent.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

TXN_OPS = ("Put", "Update", "Delete", "ConditionCheck")


@dataclass
class KeyStat:
    """Write units and writes that landed on one partition key of a table or index."""

    wcu: int = 0
    writes: int = 0
    owners: Counter[str] = field(default_factory=Counter)


@dataclass
class _Write:
    table: str
    key: dict[str, Any]
    transactional: bool
    check_only: bool
    before: dict[str, Any] | None = None
    before_size: int = 0


def _size(attrs: dict[str, Any]) -> int:
    return sum(len(name.encode()) + DynamoType(value).size() for name, value in attrs.items())


def _kb_units(size: int, unit: int = 1024) -> int:
    return max(1, math.ceil(size / unit))


class AwsMeter:
    """Counts requests by service/operation, DynamoDB units, and write units per partition key."""

    def __init__(self, region: str = "us-east-1") -> None:
        self._region = region
        self._local = threading.local()
        self._lock = threading.Lock()
        self.owner: str | None = None  # the workspace whose job is being driven (single-threaded runs)
        self.reset()

    def reset(self) -> None:
        self.requests: Counter[str] = Counter()
        self.wcu = 0
        self.rcu = 0.0
        self.keys: dict[tuple[str, str], KeyStat] = defaultdict(KeyStat)
        self.s3_put_bytes = 0
        self.refused: Counter[str] = Counter()  # DynamoDB calls answered with an error (cancelled, conditional)

    # --- hooks -----------------------------------------------------------------------------

    def install(self, clients: list[Any]) -> None:
        seen: set[int] = set()
        for c in clients:
            if id(c) in seen:
                continue
            seen.add(id(c))
            c.meta.events.register("before-call", self._before)
            c.meta.events.register("after-call", self._after)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        with self._lock:
            self.requests[f"{service}:{model.name}"] += 1
        if service == "s3" and model.name == "PutObject":
            body = params.get("body")
            with self._lock:
                self.s3_put_bytes += len(body) if isinstance(body, bytes | bytearray) else 0
        if service != "dynamodb":
            return
        body = json.loads(params.get("body") or b"{}")
        writes = self._writes_of(model.name, body)
        for w in writes:
            w.before, w.before_size = self._item(w.table, w.key)
        self._local.pending = (body, writes)

    def _after(self, model: Any, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.service_model.endpoint_prefix != "dynamodb":
            return
        body, writes = getattr(self._local, "pending", ({}, []))
        self._local.pending = ({}, [])
        if http_response.status_code != 200:
            with self._lock:
                self.refused[model.name] += 1
            return
        with self._lock:
            self.rcu += _read_units(model.name, body, parsed)
            for w in writes:
                self._account(w)

    # --- writes ----------------------------------------------------------------------------

    def _writes_of(self, op: str, body: dict[str, Any]) -> list[_Write]:
        if op == "PutItem":
            return [_Write(body["TableName"], self._key_of(body["TableName"], body["Item"]), False, False)]
        if op in ("UpdateItem", "DeleteItem"):
            return [_Write(body["TableName"], body["Key"], False, False)]
        if op == "TransactWriteItems":
            out = []
            for entry in body["TransactItems"]:
                (kind, spec), *_ = entry.items()
                key = spec.get("Key") or self._key_of(spec["TableName"], spec["Item"])
                out.append(_Write(spec["TableName"], key, True, kind == "ConditionCheck"))
            return out
        if op == "BatchWriteItem":
            return [
                _Write(
                    table,
                    r["DeleteRequest"]["Key"] if "DeleteRequest" in r else self._key_of(table, r["PutRequest"]["Item"]),
                    False,
                    False,
                )
                for table, requests in body["RequestItems"].items()
                for r in requests
            ]
        return []

    def _table(self, name: str) -> Any:
        return dynamodb_backends[DEFAULT_ACCOUNT_ID][self._region].get_table(name)

    def _key_of(self, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
        table = self._table(table_name)
        attrs = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {a: item[a] for a in attrs}

    def _item(self, table_name: str, key: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
        table = self._table(table_name)
        range_value = key.get(table.range_key_attr) if table.range_key_attr else None
        item = table.get_item(DynamoType(key[table.hash_key_attr]), DynamoType(range_value) if range_value else None)
        if item is None:
            return None, 0
        return json.loads(json.dumps(item.to_json()["Attributes"])), item.size()

    def _account(self, w: _Write) -> None:
        table = self._table(w.table)
        short = w.table.rsplit("-", 1)[-1]
        after, after_size = (w.before, w.before_size) if w.check_only else self._item(w.table, w.key)
        units = _kb_units(max(w.before_size, after_size)) * (2 if w.transactional else 1)
        pk = _plain(w.key[table.hash_key_attr])
        self._add(short, pk, units)
        if w.check_only:
            return
        for index in table.global_indexes:
            self._index_write(short, table, index, w.before, after)

    def _index_write(
        self, short: str, table: Any, index: Any, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        old, new = _projected(table, index, before), _projected(table, index, after)
        if old == new:
            return
        label = f"{short}/{index.name}"
        hash_attr = index.schema[0]["AttributeName"]
        if old is not None and (new is None or old[hash_attr] != new[hash_attr]):
            self._add(label, _plain(old[hash_attr]), _kb_units(_size(old)))  # the entry leaves its old key
        if new is not None:
            self._add(label, _plain(new[hash_attr]), _kb_units(_size(new)))

    def _add(self, label: str, pk: str, units: int) -> None:
        stat = self.keys[(label, pk)]
        stat.wcu += units
        stat.writes += 1
        stat.owners[self.owner or "-"] += 1
        self.wcu += units


def _plain(value: dict[str, Any]) -> str:
    (_, inner), *_ = value.items()
    return str(inner)


def _projected(table: Any, index: Any, item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The index entry of `item` (None: the item is not in this sparse index)."""
    if item is None or any(k["AttributeName"] not in item for k in index.schema):
        return None
    kind = index.projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return item
    names = {k["AttributeName"] for k in index.schema} | {table.hash_key_attr, table.range_key_attr} - {None}
    if kind == "INCLUDE":
        names |= set(index.projection.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in names}


def _read_units(op: str, body: dict[str, Any], parsed: dict[str, Any]) -> float:
    consistent = 1.0 if body.get("ConsistentRead") else 0.5
    if op == "GetItem":
        return _kb_units(_size(parsed.get("Item") or {}), 4096) * consistent
    if op in ("Query", "Scan"):
        return _kb_units(sum(_size(i) for i in parsed.get("Items", [])), 4096) * consistent
    if op == "BatchGetItem":
        items = [i for rows in parsed.get("Responses", {}).values() for i in rows]
        return sum(_kb_units(_size(i), 4096) * 0.5 for i in items)
    if op == "TransactGetItems":
        return sum(_kb_units(_size(r.get("Item") or {}), 4096) * 2.0 for r in parsed.get("Responses", []))
    return 0.0
