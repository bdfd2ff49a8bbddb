"""Which operations of a cancelled transaction failed, read from a plain botocore ClientError.

pynamodb attaches the cancellation reasons to its own error; when an answer comes as a plain
ClientError instead (a retried commit, another client), the reasons are read from the response:
a "None" code is an operation that was fine, anything else names the failed one, with its old
item when the request asked for it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.store.transaction import Transaction


def _cancelled(*reasons: dict[str, object]) -> ClientError:
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}, "CancellationReasons": list(reasons)},
        "TransactWriteItems",
    )


def test_only_the_operations_that_failed_are_named_with_their_old_items() -> None:
    txn = Transaction()
    txn._ops += [("wallet", "Update", {}), ("hold", "Update", {}), ("ledger", "Put", {})]
    failures = txn._failures(
        _cancelled(
            {"Code": "None"},
            {"Code": "ConditionalCheckFailed", "Item": {"status": {"S": "settled"}, "held": {"N": "3"}}},
            {"Code": "None"},
        )
    )
    assert list(failures) == ["hold"]
    assert (failures["hold"].code, failures["hold"].old) == ("ConditionalCheckFailed", {"status": "settled", "held": 3})


def test_a_transaction_whose_every_operation_was_fine_names_none() -> None:
    txn = Transaction()
    txn._ops += [("wallet", "Update", {}), ("ledger", "Put", {})]
    assert txn._failures(_cancelled({"Code": "None"}, {"Code": "None"})) == {}
    assert txn._failures(_cancelled({"Code": "TransactionConflict"}, {"Code": "None"}))["wallet"].code == "TransactionConflict"
