"""Ambiguous writes: a transaction whose answer is lost may or may not have been applied.

The adapter retries under one `ClientRequestToken` (DynamoDB answers a repeat of an applied
token with success and applies nothing; the serialized moto server emulates that), classifies
every botocore error explicitly, and never turns "unknown" into "denied" or "done". Faults are
injected with a botocore `before-send` hook on the client the transactions use:
- a timeout BEFORE the write reaches the server (never applied),
- a timeout AFTER the server applied it (the answer is lost),
- transaction conflicts (retried with a fresh token) and persistent conflicts (503).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from chalicelib import clock
from chalicelib.accounting.errors import AmbiguousWrite, Contention
from chalicelib.accounting.settlement import JobFinal, Usage, settle_job
from chalicelib.store.models import JobModel, LedgerEntryModel, WalletModel
from chalicelib.store.transaction import AMBIGUOUS, CANCELLED, FATAL, RETRY, classify
from tests.functional.accounting_helpers import UNLIMITED, admit
from tests.functional.helpers import call, purge

EVENT = "before-send.dynamodb.TransactWriteItems"


class _Raw:
    """Enough of urllib3's response for botocore to read a canned body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Faults:
    """A scripted fault per TransactWriteItems attempt: 'before', 'after', 'conflict' or None."""

    def __init__(self, script: list[str | None]) -> None:
        self.script = list(script)
        self.tokens: list[str] = []
        self.thread = threading.get_ident()  # other threads' requests (a straggler of another test) pass

    def __call__(self, request: Any, **_: Any) -> Any:
        if threading.get_ident() != self.thread:
            return None
        self.tokens.append(json.loads(request.body)["ClientRequestToken"])
        fault = self.script.pop(0) if self.script else None
        if fault == "before":
            raise ReadTimeoutError(endpoint_url=request.url)
        if fault == "after":
            forwarded = urllib.request.Request(
                request.url, data=request.body, method="POST", headers={k: v for k, v in request.headers.items()}
            )
            try:
                with urllib.request.urlopen(forwarded, timeout=10) as answer:
                    answer.read()  # the server applied it; the client never hears back
            except urllib.error.HTTPError as refused:  # refused (e.g. a condition): that answer arrives
                return AWSResponse(request.url, refused.code, dict(refused.headers), _Raw(refused.read()))
            raise ReadTimeoutError(endpoint_url=request.url)
        if fault == "conflict":
            n = len(json.loads(request.body)["TransactItems"])
            body = json.dumps(
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": "Transaction cancelled",
                    "CancellationReasons": [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (n - 1),
                }
            )
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body.encode()))
        return None


@pytest.fixture()
def faults(aws: Any, monkeypatch: Any, frozen_clock: Any) -> Iterator[Any]:
    # Backoff sleeps (botocore's and the adapter's) only slow the test down.
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    monkeypatch.setattr("chalicelib.store.transaction._backoff", lambda attempt: None)
    events = WalletModel._get_connection().connection.client.meta.events
    installed: list[Faults] = []
    admit_warm_up()  # learn the shared windows' previous counts: no extra attempt under faults

    def install(*script: str | None) -> Faults:
        f = Faults(list(script))
        events.register_first(EVENT, f)
        installed.append(f)
        return f

    yield install
    for f in installed:
        events.unregister(EVENT, f)


def admit_warm_up() -> None:
    """One admission of a throwaway tenant at the frozen time: the provider scope's previous
    window (shared by every test) becomes known, so the faulted admissions need one attempt."""
    from chalicelib.store.models import WorkspaceModel
    from chalicelib.tenancy import create_workspace

    made = create_workspace("warm-up", "warm@example.test", "pro")
    WorkspaceModel(made.workspace.workspace_id).update(actions=[WorkspaceModel.limits.set(UNLIMITED)])

    class _T:
        workspace_id, user_id, key_id = made.workspace.workspace_id, made.owner.user_id, made.key.key_id

    admit(_T())


def _wallet(workspace_id: str) -> WalletModel:
    return WalletModel.get(workspace_id, consistent_read=True)


def _entries(workspace_id: str, entry_type: str) -> list[LedgerEntryModel]:
    return [e for e in LedgerEntryModel.query(workspace_id, consistent_read=True) if e.type == entry_type]


def test_a_timeout_after_the_write_was_applied_admits_once(make_tenant, faults):
    t = make_tenant(limits=UNLIMITED)
    before = _wallet(t.workspace_id)
    f = faults("after")
    admission = admit(t)
    assert len(f.tokens) == 2 and f.tokens[0] == f.tokens[1]  # the retry repeated the same token
    after = _wallet(t.workspace_id)
    assert int(after.held) == int(before.held) + admission.credits  # held once, not twice
    assert int(after.available) == int(before.available) - admission.credits
    assert int(after.active_jobs) == 1
    assert [e.job_id for e in _entries(t.workspace_id, "hold")] == [admission.job_id]


def test_a_timeout_before_the_write_reached_dynamodb_retries_and_admits_once(make_tenant, faults):
    t = make_tenant(limits=UNLIMITED)
    # 5 timeouts outlast botocore's own 4 attempts, so the adapter's loop retries too.
    f = faults("before", "before", "before", "before", "before")
    admission = admit(t)
    assert len(f.tokens) == 6 and len(set(f.tokens)) == 1
    assert int(_wallet(t.workspace_id).held) == admission.credits
    assert len(_entries(t.workspace_id, "hold")) == 1


def test_an_unanswered_admission_that_was_applied_is_found_by_reading(make_tenant, faults):
    """Every attempt times out, but the first one landed: the job row proves it, so the caller
    gets its job (not a 503 that would make it submit a second one)."""
    t = make_tenant(limits=UNLIMITED)
    faults("after", *(["before"] * 40))
    admission = admit(t)
    assert JobModel.get(t.workspace_id, admission.job_id).status == "queued"
    assert int(_wallet(t.workspace_id).held) == admission.credits


def test_an_unanswered_admission_that_never_landed_is_a_503_and_changes_nothing(api, make_tenant, faults):
    purge()
    t = make_tenant(limits=UNLIMITED)
    before = _wallet(t.workspace_id)
    faults(*(["before"] * 40))
    status, body, headers = call(api, "POST", "/v1/jobs", t, {"prompt": "lost in the network"})
    assert status == 503 and body["error"]["code"] == "service_unavailable"
    assert headers.get("Retry-After") == "1"
    after = _wallet(t.workspace_id)
    assert (int(after.held), int(after.available), int(after.active_jobs)) == (
        int(before.held),
        int(before.available),
        int(before.active_jobs),
    )
    assert list(JobModel.query(t.workspace_id)) == []


def test_a_settlement_whose_answer_was_lost_charges_once(make_tenant, faults):
    t = make_tenant(limits=UNLIMITED)
    admission = admit(t, n=2)
    job = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)
    before = _wallet(t.workspace_id)
    faults("after")
    now = clock.now()
    outcome = settle_job(job, Usage(images=2, credits=admission.credits - 1), JobFinal("succeeded", now), now)
    assert outcome.applied
    after = _wallet(t.workspace_id)
    assert int(after.held) == int(before.held) - admission.credits
    assert int(after.period_spent) == int(before.period_spent) + admission.credits - 1
    assert len(_entries(t.workspace_id, "charge")) == 1
    # A redelivered message settling again changes nothing.
    assert not settle_job(job, Usage(images=2, credits=1), JobFinal("succeeded", now), now).applied
    assert int(_wallet(t.workspace_id).period_spent) == int(after.period_spent)


def test_conflicts_are_retried_under_a_fresh_token(make_tenant, faults):
    t = make_tenant(limits=UNLIMITED)
    f = faults("conflict", "conflict")
    admission = admit(t)
    assert len(f.tokens) == 3 and len(set(f.tokens)) == 3  # nothing applied: each retry is new
    assert int(_wallet(t.workspace_id).held) == admission.credits


def test_persistent_conflicts_end_in_contention_and_a_503(api, make_tenant, faults):
    purge()
    t = make_tenant(limits=UNLIMITED)
    faults(*(["conflict"] * 8))
    with pytest.raises(Contention):
        admit(t)
    faults(*(["conflict"] * 8))
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "busy"})
    assert status == 503 and body["error"]["code"] == "service_unavailable"
    assert int(_wallet(t.workspace_id).held) == 0 and list(JobModel.query(t.workspace_id)) == []


def test_ambiguity_that_outlasts_the_retries_is_reported_not_guessed(make_tenant, faults):
    t = make_tenant(limits=UNLIMITED)
    admission = admit(t)
    job = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)
    faults(*(["before"] * 40))
    now = clock.now()
    with pytest.raises(AmbiguousWrite):
        settle_job(job, Usage(images=1, credits=1), JobFinal("succeeded", now), now)


def _client_error(code: str) -> Any:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}}, "TransactWriteItems")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_client_error("TransactionCanceledException"), CANCELLED),
        (_client_error("ProvisionedThroughputExceededException"), RETRY),
        (_client_error("ThrottlingException"), RETRY),
        (_client_error("RequestLimitExceeded"), RETRY),
        (_client_error("TransactionInProgressException"), RETRY),
        (_client_error("InternalServerError"), AMBIGUOUS),
        (_client_error("ServiceUnavailable"), AMBIGUOUS),
        (_client_error("ValidationException"), FATAL),
        (_client_error("IdempotentParameterMismatchException"), FATAL),
        (_client_error("AccessDeniedException"), FATAL),
        (ReadTimeoutError(endpoint_url="http://x"), AMBIGUOUS),
    ],
)
def test_every_error_is_classified(error, kind):
    assert classify(error) == kind


def test_classification_of_transport_errors():
    from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError

    assert classify(ConnectionClosedError(endpoint_url="http://x")) == AMBIGUOUS
    assert classify(ConnectTimeoutError(endpoint_url="http://x")) == RETRY
    assert classify(EndpointConnectionError(endpoint_url="http://x")) == RETRY
    assert classify(ValueError("not botocore")) == FATAL
