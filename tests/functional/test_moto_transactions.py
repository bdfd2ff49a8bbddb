"""The local moto server's transactions: all or nothing, rolled back by item (moto_server.py).

moto's own rollback deep-copies every table a transaction touches; ours restores only the items
the transaction named. These tests pin the outcome both must have: a cancelled transaction
leaves every item as it was (a new item gone, an updated one restored, a deleted one back),
whatever operation failed and wherever it stood in the list; a good one applies all.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture(params=["item rollback", "moto's table copy"])
def table(request: pytest.FixtureRequest, moto_server: int) -> Any:
    """A table of our own on the test process's serialized moto server, with our rollback and
    then with moto's own: every test below must hold for both."""
    from moto.dynamodb.models import DynamoDBBackend

    from chalicelib.local.moto_server import install_item_rollback

    install_item_rollback()  # what the server's app does when it starts; idempotent
    if request.param == "moto's table copy":
        DynamoDBBackend.transact_write_items = DynamoDBBackend.moto_transact_write_items
        request.addfinalizer(install_item_rollback)
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{moto_server}", region_name="us-east-1")
    name = f"txn-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "5"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "2"}, "n": {"N": "7"}, "tag": {"S": "keep"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "4"}})
    yield ddb, name
    ddb.delete_table(TableName=name)


def _items(ddb: Any, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in ddb.scan(TableName=name, ConsistentRead=True)["Items"]}


def _ops(name: str, failing_at: int | None) -> list[dict[str, Any]]:
    """A put of a new item, an update, a delete and a condition check; `failing_at` makes one fail."""
    key = lambda sk: {"pk": {"S": "a"}, "sk": {"S": sk}}  # noqa: E731
    ops: list[dict[str, Any]] = [
        {"Put": {"TableName": name, "Item": {**key("3"), "n": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        {
            "Update": {
                "TableName": name,
                "Key": key("1"),
                "UpdateExpression": "ADD n :one SET tag = :t",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"S": "changed"}},
            }
        },
        {"Delete": {"TableName": name, "Key": key("2")}},
        {"ConditionCheck": {"TableName": name, "Key": key("4"), "ConditionExpression": "attribute_exists(pk)"}},
    ]
    if failing_at is not None:
        op = next(iter(ops[failing_at].values()))
        op["ConditionExpression"] = "attribute_not_exists(nothing_here) AND attribute_exists(nothing_here)"
        op["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return ops


@pytest.mark.parametrize("failing_at", [0, 1, 2, 3])
def test_a_cancelled_transaction_leaves_every_item_as_it_was(table, failing_at):
    ddb, name = table
    before = _items(ddb, name)
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=_ops(name, failing_at))
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = raised.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed" if n == failing_at else "None" for n in range(4)]
    if failing_at in (1, 2, 3):  # an existing item: its old image comes back with the reason (ALL_OLD)
        assert reasons[failing_at]["Item"]["pk"] == {"S": "a"}
    assert _items(ddb, name) == before


def test_a_good_transaction_applies_every_operation(table):
    ddb, name = table
    ddb.transact_write_items(TransactItems=_ops(name, None))
    after = _items(ddb, name)
    assert set(after) == {("a", "1"), ("a", "3"), ("a", "4")}
    assert after[("a", "1")]["n"] == {"N": "6"} and after[("a", "1")]["tag"] == {"S": "changed"}


def test_two_operations_on_one_item_are_refused_and_change_nothing(table):
    ddb, name = table
    before = _items(ddb, name)
    ops = _ops(name, None)[:2] + [{"Delete": {"TableName": name, "Key": {"pk": {"S": "a"}, "sk": {"S": "3"}}}}]
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=ops)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _items(ddb, name) == before


def test_an_update_that_fails_inside_moto_cancels_the_whole_transaction(table):
    """ADD of a number to a string: moto refuses that operation itself, after earlier ones applied."""
    ddb, name = table
    before = _items(ddb, name)
    ops = _ops(name, None)[:1] + [
        {
            "Update": {
                "TableName": name,
                "Key": {"pk": {"S": "a"}, "sk": {"S": "2"}},
                "UpdateExpression": "ADD tag :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=ops)
    assert raised.value.response["Error"]["Code"] in ("TransactionCanceledException", "ValidationException")
    assert _items(ddb, name) == before


# --- the server's caches of moto's per-request work (moto_server.install_request_shortcuts) ---------


def test_the_routing_cache_lists_what_moto_lists(moto_server: int) -> None:
    import moto.backends as backends

    assert getattr(backends, "_imagegen_shortcuts", False), "the serialized server installs its shortcuts"
    assert tuple(backends.list_of_moto_modules()) == tuple(backends.moto_list_of_moto_modules())
    assert {"dynamodb", "s3", "sqs"} <= set(backends.list_of_moto_modules())


def test_one_update_text_serves_every_item_and_value(moto_server: int) -> None:
    """The parsed tree of a text is shared: what one update resolved must not leak into the next."""
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{moto_server}", region_name="us-east-1")
    name = f"parse-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    text = "ADD #n :v SET #t = :t"
    names = {"#n": "n", "#t": "tag"}

    def values(n: int, tag: str) -> dict[str, Any]:
        return {":v": {"N": str(n)}, ":t": {"S": tag}}

    try:
        for n, tag in ((3, "first"), (4, "second")):  # a new item, then the same one
            ddb.update_item(
                TableName=name,
                Key={"pk": {"S": "x"}},
                UpdateExpression=text,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values(n, tag),
            )
        same = {"TableName": name, "UpdateExpression": text, "ExpressionAttributeNames": names}
        ddb.transact_write_items(
            TransactItems=[
                {"Update": {**same, "Key": {"pk": {"S": "y"}}, "ExpressionAttributeValues": values(10, "y")}},
                {"Update": {**same, "Key": {"pk": {"S": "z"}}, "ExpressionAttributeValues": values(20, "z")}},
                {"Update": {**same, "Key": {"pk": {"S": "x"}}, "ExpressionAttributeValues": values(-7, "third")}},
            ]
        )
        items = {i["pk"]["S"]: (i["n"]["N"], i["tag"]["S"]) for i in ddb.scan(TableName=name, ConsistentRead=True)["Items"]}
        assert items == {"x": ("0", "third"), "y": ("10", "y"), "z": ("20", "z")}
        for _ in range(2):  # a text that does not parse fails every time (failures are not cached)
            with pytest.raises(ClientError) as raised:
                ddb.update_item(
                    TableName=name, Key={"pk": {"S": "x"}}, UpdateExpression="ADD #n", ExpressionAttributeNames={"#n": "n"}
                )
            assert raised.value.response["Error"]["Code"] == "ValidationException"
        with pytest.raises(ClientError) as raised:  # two SETs of one path: moto's validators still run
            ddb.update_item(
                TableName=name,
                Key={"pk": {"S": "x"}},
                UpdateExpression="SET #t = :t, #t = :t",
                ExpressionAttributeNames={"#t": "tag"},
                ExpressionAttributeValues={":t": {"S": "a"}},
            )
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert ddb.get_item(TableName=name, Key={"pk": {"S": "x"}})["Item"]["tag"]["S"] == "third"
    finally:
        ddb.delete_table(TableName=name)


@pytest.mark.parametrize(
    "text",
    [
        "ADD #a :v, #b :v, #c :v, #d :v SET #e = :v REMOVE #f",
        "SET #a = :v, #b = :v ADD #c :v",
        "ADD #a :v ADD #b :v",  # two ADD clauses
        "SET #a = :v REMOVE #b SET #c = :v",  # two SET clauses
        "REMOVE #a REMOVE #b ADD #c :v ADD #d :v",  # both: moto names the one its walk meets first
        "SET #a = :v, #a = :v",  # one path twice
        "SET a.b = :v, a = :v",  # overlapping paths
        "SET #a = :v ADD #b :v, #a :v",
        "SET #missing = :v",  # a name with no value in the map: moto's own KeyError
    ],
)
def test_checks_on_the_root_first_answer_as_moto_walks_do(moto_server: int, text: str) -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator

    names = {f"#{c}": c for c in "abcdef"}

    def outcome(checker: Any, walk: Any) -> str:
        try:
            walk(checker, UpdateExpressionParser.make(text))
        except Exception as e:  # the error itself is the answer compared
            return f"{type(e).__name__}: {e}"
        return "ok"

    for checker in (ActionCountValidator(), OverlappingPathsValidator(names)):
        kind = type(checker)
        assert outcome(checker, kind.traverse) == outcome(checker, kind.moto_traverse), kind.__name__
