"""moto's server on loopback with its request handling serialized by one lock.

moto's backends are not atomic under concurrent requests, while DynamoDB's conditional
writes and transactions are. Holding one lock per request (response included) makes each
call atomic as on AWS, so a concurrency test that overspends has found our bug, not moto's.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import threading
import time
from functools import lru_cache
from typing import Any, Callable, Iterable

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
TOKEN_WINDOW_S = 600.0


class _Undo:
    """The items a transaction changed, as they were before it: put back if it is cancelled."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.before: list[tuple[Any, Any, Any, Any]] = []  # table, hash, range, item before (None: absent)

    def remember(self, table_name: str, key: dict[str, Any], current: Any) -> None:
        """`current`: the item as the transaction found it (None when absent), copied as it was."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self.backend.get_table(table_name)
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        self.before.append((table, hash_value, range_value, copy.deepcopy(current)))

    def roll_back(self) -> None:
        for table, hash_value, range_value, item in reversed(self.before):
            if item is None:
                if table.get_item(hash_value, range_value) is not None:
                    table.delete_item(hash_value, range_value)
            elif range_value is not None:
                table.items[hash_value][range_value] = item
            else:
                table.items[hash_value] = item


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _apply(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    """One operation of the transaction, its condition already checked by `_one` on the item as
    it is (nothing changes it in between: one request at a time), so not handed to moto again."""
    table_name = op["TableName"]
    condition = {
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **condition)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **condition)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **condition)


_Answer = tuple[str, str, "dict[str, Any] | None"] | tuple[None, None, None]


def _one(backend: Any, op_type: str, op: dict[str, Any], targets: set[tuple[str, str]], undo: _Undo) -> _Answer:
    """Check and apply one operation; its answer (code, message, item) for the cancellation."""
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    key = _key_of(backend, op_type, op)
    target = (str(op["TableName"]), str(dict(sorted(key.items()))))
    if target in targets:  # one operation per item
        raise MultipleTransactionsException()
    targets.add(target)
    current = backend.get_item(op["TableName"], key)
    condition = op.get("ConditionExpression")
    if condition is not None and not get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    ).expr(current):
        old = current.to_json()["Attributes"] if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current else None
        return ("ConditionalCheckFailed", "The conditional request failed", old)
    if op_type != "ConditionCheck":
        undo.remember(op["TableName"], key, current)
        _apply(backend, op_type, op, key)
    return (None, None, None)


def _transact_write_items_undoing_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's `DynamoDBBackend.transact_write_items` (5.2), rolling back by item instead of by table.

    moto deep-copies every table a transaction touches before applying it, to restore the table
    if an operation fails: each transaction costs time and memory in proportion to the whole
    table (60% of moto's time in the generation bench; one test worker grew to 11 GB). Here only
    the items the transaction names are copied, and only they are put back: the same outcome,
    because a transaction changes nothing else (moto derives index entries from the items when
    queried). The checks, the order of application and the error answers are moto's own.
    Safe because this server applies one request at a time (`serialized`).
    """
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo(self)
    targets: set[tuple[str, str]] = set()
    answers: list[_Answer] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        try:
            answers.append(_one(self, op_type, op, targets, undo))
        except (MultipleTransactionsException, MockValidationException):
            undo.roll_back()
            raise
        except ConditionalCheckFailed as e:  # moto's own check of a write (its `expected`)
            answers.append(("ConditionalCheckFailed", str(e.message), None))
        except Exception as e:  # moto's own: any other failure cancels the transaction, with its name
            answers.append((type(e).__name__, str(e), None))
    if any(code is not None for code, _, _ in answers):
        undo.roll_back()
        raise TransactionCanceledException(answers)


def install_item_rollback() -> None:
    """Put the item-level rollback in place of moto's (idempotent; this process's moto only).
    moto's own stays reachable as `DynamoDBBackend.moto_transact_write_items` (the tests compare)."""
    from moto.dynamodb.models import DynamoDBBackend

    if not hasattr(DynamoDBBackend, "moto_transact_write_items"):
        DynamoDBBackend.moto_transact_write_items = DynamoDBBackend.transact_write_items  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _transact_write_items_undoing_items  # type: ignore[method-assign]


def install_request_shortcuts() -> None:
    """Spare moto per-request work that DynamoDB does not do (idempotent; this process only).

    - Routing: to pick the service of each request, moto's server lists its own package
      directory (`list_of_moto_modules`: a listdir and ~150 stats). The directory does not
      change while the server runs, so it is listed once.
    - Parsing: every UpdateExpression is parsed twice per request (the response layer's checks
      of the names used, then the backend's update), the same few texts over and over. The tree
      is only read (`find_clauses`) or deep-copied before it is resolved (`Validator.__init__`),
      never changed, so one parse per distinct text serves every request; a text that does not
      parse raises each time (failures are not cached).
    - Validating: moto's tree nests one UpdateExpression node per action, and two of its checks
      (too many clauses of a kind; overlapping or repeated paths) run on every such node over
      its whole subtree: quadratic in the actions, a fifth of an update of 9 ADDs. Each node's
      subtree holds a subset of the root's actions, so if the root passes, every node does; the
      root is checked first, and only when it fails does moto's own walk run, to raise exactly
      the error moto raises.
    - moto rebuilds each checker's map of node types for every node it visits: built once.
    All keep moto's answers unchanged (tests/functional/test_moto_transactions.py); together
    they took about a third of the server's time in `bench/generation.py`.
    """
    from importlib import import_module

    backends: Any = import_module("moto.backends")  # moto's parsing modules carry no types
    traverser: Any = import_module("moto.dynamodb.parsing.ast_nodes").DepthFirstTraverser
    parser: Any = import_module("moto.dynamodb.parsing.expressions").UpdateExpressionParser
    validators: Any = import_module("moto.dynamodb.parsing.validators")
    if getattr(backends, "_imagegen_shortcuts", False):
        return
    backends.moto_list_of_moto_modules = backends.list_of_moto_modules  # the tests compare
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    traverser.nodes_to_be_processed = _node_types
    parse = parser.make
    parser.make = classmethod(lambda cls, text: _parsed(parse, text))  # moto passes the text (a str)
    for checker in (validators.ActionCountValidator, validators.OverlappingPathsValidator):
        checker.moto_traverse = checker.traverse  # the tests compare
        checker.traverse = _root_first(checker.traverse)
    backends._imagegen_shortcuts = True


def _root_first(walk: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A whole-tree check run on the root alone; moto's own walk when the root fails it."""

    def traverse(self: Any, node: Any) -> Any:
        try:
            if self.process(node) is node:  # the root is an UpdateExpression, and it passed
                return node
        except Exception:
            pass
        return walk(self, node)

    return traverse


def _node_types(self: Any) -> tuple[type, ...]:
    """moto's `DepthFirstTraverser.nodes_to_be_processed`, built once per processor: moto rebuilds
    the processing map (a dict of bound methods) for every node it visits."""
    types = self.__dict__.get("_node_types")
    if types is None:
        types = self.__dict__["_node_types"] = tuple(self._processing_map().keys())
    return types


@lru_cache(maxsize=4096)
def _parsed(parse: Callable[[str], Any], text: str) -> Any:
    """The parsed tree of an update expression text, once per text (exceptions are not cached)."""
    return parse(text)


class TransactionTokens:
    """DynamoDB's `ClientRequestToken` idempotency, which moto does not implement.

    For 10 minutes after a TransactWriteItems with a token succeeded, the same token with the
    same request answers success again without applying it; with another request it answers
    IdempotentParameterMismatchException. The accounting adapter relies on this to retry a
    transaction whose answer was lost (a read timeout) without applying it twice.
    """

    def __init__(self) -> None:
        self._done: dict[str, tuple[float, str]] = {}

    def check(self, body: bytes) -> tuple[str | None, str, bytes | None]:
        """(token, body hash, a canned answer if this token was already applied)."""
        try:
            token = json.loads(body).get("ClientRequestToken")
        except (ValueError, AttributeError):
            return None, "", None
        digest = hashlib.sha256(body).hexdigest()
        now = time.monotonic()
        self._done = {k: v for k, v in self._done.items() if now - v[0] < TOKEN_WINDOW_S}
        seen = self._done.get(token) if isinstance(token, str) else None
        if seen is None:
            return token if isinstance(token, str) else None, digest, None
        if seen[1] != digest:
            return (
                token,
                digest,
                json.dumps(
                    {
                        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                        "message": "the request uses the same client token as a previous, but non-identical request",
                    }
                ).encode(),
            )
        return token, digest, b"{}"

    def applied(self, token: str, digest: str) -> None:
        self._done[token] = (time.monotonic(), digest)


class LockStats:
    """Time requests spent waiting for the one lock, and holding it (benchmarks: how much of a
    figure is moto serving one request at a time rather than our code)."""

    def __init__(self) -> None:
        self.waited_s = 0.0
        self.held_s = 0.0
        self.requests = 0
        self.held_by: dict[str, float] = {}  # seconds holding the lock, by operation

    def reset(self) -> None:
        self.waited_s, self.held_s, self.requests, self.held_by = 0.0, 0.0, 0, {}

    def add(self, operation: str, waited: float, held: float) -> None:
        self.waited_s += waited
        self.held_s += held
        self.requests += 1
        self.held_by[operation] = self.held_by.get(operation, 0.0) + held


def _operation(environ: dict[str, Any]) -> str:
    """A request's operation, enough to tell where moto's time goes (`DynamoDB_20120810.GetItem`,
    `AmazonSQS.SendMessage`, or the method for S3's REST calls)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    return str(target) if target else f"{environ.get('REQUEST_METHOD', '?')} (REST)"


LOCK_STATS = LockStats()  # of the servers running in this process


def _run(app: Callable[..., Iterable[bytes]], environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The whole answer, read while the lock is held (the response is part of the atomic step)."""
    result = app(environ, start_response)
    try:
        return [b"".join(result)]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _transact(
    app: Callable[..., Iterable[bytes]], tokens: TransactionTokens, environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    """A TransactWriteItems, with DynamoDB's ClientRequestToken idempotency (TransactionTokens)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    token, digest, canned = tokens.check(body)
    if canned is not None:
        status = "200 OK" if canned == b"{}" else "400 Bad Request"
        start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(canned)))])
        return [canned]
    seen: list[str] = []

    def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        seen.append(status)
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    out = _run(app, environ, capture)
    if token and seen and seen[0].startswith("200"):
        tokens.applied(token, digest)
    return out


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """moto's WSGI app, one request at a time (LOCK_STATS counts the waiting and the holding)."""
    install_item_rollback()  # cheap transactions, correct because of the lock below
    install_request_shortcuts()  # moto's per-request work that DynamoDB does not do
    lock = threading.Lock()
    tokens = TransactionTokens()

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        arrived = time.perf_counter()
        with lock:
            entered = time.perf_counter()
            try:
                if environ.get("HTTP_X_AMZ_TARGET") == TRANSACT_WRITE:
                    return _transact(app, tokens, environ, start_response)
                return _run(app, environ, start_response)
            finally:
                LOCK_STATS.add(_operation(environ), entered - arrived, time.perf_counter() - entered)

    return handle


class QuietRequestHandler(MotoRequestHandler):
    """No access log line per AWS call (the app's own JSON logs say what happened)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SerializedMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app runs one request at a time. Port 0 binds a free port
    (no bind-release-rebind race); `port` then tells which."""

    @property
    def port(self) -> int:
        return int(self._port)

    def _server_entry(self) -> None:
        app = serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietRequestHandler)
        self._port = self._server.server_port  # the real one when asked for port 0
        self._server_ready_event.set()
        self._server.serve_forever()


def serve_forever(host: str, port: int) -> None:
    """Run the serialized server in this process until killed (`python -m chalicelib.local.moto_server`)."""
    import signal

    server = SerializedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    # Benchmarks read the lock's figures from another process: SIGUSR1 prints them as one JSON
    # line on stdout, SIGUSR2 zeroes them.
    signal.signal(signal.SIGUSR1, lambda *_: print(json.dumps(vars(LOCK_STATS)), flush=True))
    signal.signal(signal.SIGUSR2, lambda *_: LOCK_STATS.reset())
    print(f"moto listening on http://{host}:{server.port}", flush=True)
    forever = threading.Event()
    while not forever.wait(0.25):  # timed: the signal handlers above run even when the kernel hands
        pass  # the signal to a server thread (an untimed wait would never return to run them)


if __name__ == "__main__":
    import sys

    serve_forever("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
