"""Custom model training: admitted like a job, run by the trainings worker, used as a job's model.

Tries to break it: admission refusals (402, 429) that must write nothing, Idempotency-Key replays,
a failing training and a cancel that must each refund the hold exactly once, a redelivered or
duplicated SQS message and a crash between learning and settling (charged once), a cancel racing
the worker both ways, other tenants' ids (404, nothing leaks), and the trained style visibly in a
job's output.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.aws import client
from chalicelib.settings import get_settings
from chalicelib.store import jobs as job_store
from chalicelib.training import worker
from chalicelib.training.style import mean_rgb
from tests.functional.helpers import call, drain
from tests.functional.training_helpers import (
    RED,
    create,
    ledger_types,
    run_trainings_worker,
    seed_pictures,
    take_messages,
    train,
    training_of,
    wallet,
)
from tests.functional.webhook_helpers import CapturedQueue

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def _empty_queue() -> None:
    take_messages()  # what earlier tests left on the shared queue is not this test's


@pytest.fixture()
def events(monkeypatch: pytest.MonkeyPatch) -> CapturedQueue:
    captured = CapturedQueue()
    monkeypatch.setattr("chalicelib.webhooks.queue.send", captured.send)
    return captured


def _job_pixels(workspace_id: str, job_id: str) -> bytes:
    job = job_store.get_job(workspace_id, job_id)
    assert job is not None and job.status == "succeeded", job and job.error
    key = job.images[0]["s3_key"]
    return bytes(client("s3").get_object(Bucket=get_settings().images_bucket, Key=key)["Body"].read())


def _distance(a: list[int], b: tuple[int, int, int] | list[int]) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def test_a_trained_style_shows_in_the_jobs_output(api: Any, make_tenant: Any, events: CapturedQueue) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    trained = train(api, tenant, seed_pictures(tenant, 6))
    assert trained["status"] == "succeeded" and trained["model"] == trained["id"]
    assert trained["credits_charged"] == trained["credits_reserved"] == 60
    assert _distance(trained["style"]["mean_rgb"], RED) < 60
    assert wallet(tenant.workspace_id) == (before[0] - 60, 0)
    assert ledger_types(tenant.workspace_id, trained["id"]) == ["hold", "charge"]
    sent = [m for m, _ in events.sent if m.get("event_type") == "training.succeeded"]
    assert [m["data"]["training"]["id"] for m in sent] == [trained["id"]]

    body = {"prompt": "a lighthouse at dusk", "seed": 7, "size": "256x256"}
    plain = call(api, "POST", "/v1/jobs", tenant, body)[1]["job"]
    styled = call(api, "POST", "/v1/jobs", tenant, {**body, "model": trained["id"]})[1]["job"]
    assert styled["model"] == trained["id"] and styled["provider"] == "local"
    drain()
    plain_rgb = mean_rgb(_job_pixels(tenant.workspace_id, plain["id"]))
    styled_rgb = mean_rgb(_job_pixels(tenant.workspace_id, styled["id"]))
    # The same picture, moved toward the training set's colour (red), far more than it was.
    assert _distance(styled_rgb, RED) < _distance(plain_rgb, RED) - 60, (plain_rgb, styled_rgb)
    assert styled_rgb[0] > plain_rgb[0] and styled_rgb[1] < plain_rgb[1]


def test_a_folder_trains_too_and_listings_keep_jobs_and_trainings_apart(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    status, folder, _ = call(api, "POST", "/v1/folders", tenant, {"name": "style refs"})
    assert status == 201, folder
    folder_id = folder["folder"]["id"]
    seed_pictures(tenant, 5, folder_id=folder_id)
    first = create(api, tenant, {"name": "from folder", "folder_id": folder_id})
    assert first["folder_id"] == folder_id and len(first["image_ids"]) == 5
    second = create(api, tenant, {"name": "again", "folder_id": folder_id, "steps": 200})
    status, page, _ = call(api, "GET", "/v1/trainings?limit=1", tenant)
    assert status == 200 and [t["id"] for t in page["data"]] == [second["id"]] and page["next_cursor"]
    status, rest, _ = call(api, "GET", f"/v1/trainings?limit=1&cursor={page['next_cursor']}", tenant)
    assert [t["id"] for t in rest["data"]] == [first["id"]]
    status, jobs, _ = call(api, "GET", "/v1/jobs", tenant)
    assert status == 200 and jobs["data"] == []
    status, other, _ = call(api, "GET", f"/v1/trainings?cursor={page['next_cursor']}", make_tenant())
    assert status == 400 and other["error"]["field"] == "cursor"


# --- admission: 402 and 429 before anything runs; Idempotency-Key --------------------------------


def _nothing_admitted(api: Any, tenant: Any, before: tuple[int, int]) -> None:
    assert wallet(tenant.workspace_id) == before
    assert call(api, "GET", "/v1/trainings", tenant)[1]["data"] == []
    assert [m for m in take_messages() if tenant.workspace_id in m["Body"]] == []


def test_too_few_credits_is_402_and_writes_nothing(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant("free", limits={"credits_per_day": 100_000})  # 50 credits of allowance
    before = wallet(tenant.workspace_id)
    status, body, _ = call(api, "POST", "/v1/trainings", tenant, {"name": "x", "upload_ids": seed_pictures(tenant, 6)})
    assert status == 402 and body["error"]["code"] == "insufficient_credits", body
    assert body["error"]["required"] == 60 and body["error"]["available"] == 50
    _nothing_admitted(api, tenant, before)


def test_a_rate_limited_training_is_429_with_its_scope(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant(limits={"requests_per_minute_user": 1})
    images = seed_pictures(tenant)
    create(api, tenant, {"name": "first", "upload_ids": images})
    take_messages()
    before = wallet(tenant.workspace_id)
    status, body, headers = call(api, "POST", "/v1/trainings", tenant, {"name": "second", "upload_ids": images})
    assert status == 429 and body["error"]["code"] == "rate_limited" and body["error"]["scope"] == "user", body
    assert int(headers["Retry-After"]) >= 1
    assert wallet(tenant.workspace_id) == before
    assert len(call(api, "GET", "/v1/trainings", tenant)[1]["data"]) == 1
    assert [m for m in take_messages() if tenant.workspace_id in m["Body"]] == []


def test_an_idempotency_key_admits_once(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    body = {"name": "once", "upload_ids": seed_pictures(tenant)}
    first = create(api, tenant, body, **{"Idempotency-Key": "trn-key-1"})
    status, again, headers = call(api, "POST", "/v1/trainings", tenant, body, headers={"Idempotency-Key": "trn-key-1"})
    assert status == 202 and again["training"]["id"] == first["id"] and headers.get("Idempotent-Replayed") == "true"
    assert wallet(tenant.workspace_id)[1] == 50  # one hold
    status, other, _ = call(
        api, "POST", "/v1/trainings", tenant, {**body, "name": "other"}, headers={"Idempotency-Key": "trn-key-1"}
    )
    assert status == 409 and other["error"]["code"] == "idempotency_conflict", other
    assert len(call(api, "GET", "/v1/trainings", tenant)[1]["data"]) == 1


# --- failure and cancel: the hold comes back exactly once ---------------------------------------


def _break_first_image(tenant: Any, image_id: str) -> None:
    from chalicelib.store import images as image_store

    row = image_store.get_image(tenant.workspace_id, image_id)
    assert row is not None
    client("s3").put_object(Bucket=get_settings().images_bucket, Key=row.s3_key, Body=b"not a picture")


def test_a_failed_training_refunds_its_hold_once(api: Any, make_tenant: Any, events: CapturedQueue) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    images = seed_pictures(tenant)
    _break_first_image(tenant, images[0])
    made = create(api, tenant, {"name": "broken", "upload_ids": images})
    messages = take_messages(made["id"])
    assert run_trainings_worker(messages) == {"batchItemFailures": []}
    assert run_trainings_worker(messages, receive_count=2) == {"batchItemFailures": []}  # redelivered
    failed = training_of(api, tenant, made["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "invalid_training_image"
    assert failed["credits_charged"] == 0 and failed["style"] is None and failed["model"] is None
    assert wallet(tenant.workspace_id) == before
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "release"]
    assert [m["event_type"] for m, _ in events.sent if m["event_type"].startswith("training.")] == ["training.failed"]
    status, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": "p", "model": made["id"]})
    assert status == 400 and body["error"]["field"] == "model"


def test_images_trashed_before_it_runs_fail_it_with_a_refund(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    images = seed_pictures(tenant)
    made = create(api, tenant, {"name": "gone", "upload_ids": images})
    assert call(api, "DELETE", f"/v1/images/{images[0]}", tenant)[0] in (200, 204)
    run_trainings_worker(take_messages(made["id"]))
    failed = training_of(api, tenant, made["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "not_enough_images"
    assert wallet(tenant.workspace_id) == before


def test_a_queued_training_cancels_once_and_the_worker_then_skips_it(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "never mind", "upload_ids": seed_pictures(tenant)})
    assert wallet(tenant.workspace_id) == (before[0] - 50, 50)
    status, body, _ = call(api, "POST", f"/v1/trainings/{made['id']}/cancel", tenant)
    assert status == 200 and body["training"]["status"] == "canceled", body
    status, again, _ = call(api, "POST", f"/v1/trainings/{made['id']}/cancel", tenant)
    assert status == 200 and again["training"]["status"] == "canceled"
    run_trainings_worker(take_messages(made["id"]))
    assert training_of(api, tenant, made["id"])["status"] == "canceled"
    assert wallet(tenant.workspace_id) == before
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "release"]


def test_a_finished_training_cannot_be_canceled(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    trained = train(api, tenant, seed_pictures(tenant))
    status, body, _ = call(api, "POST", f"/v1/trainings/{trained['id']}/cancel", tenant)
    assert status == 409 and body["error"]["code"] == "conflict" and body["error"]["status_now"] == "succeeded"
    assert ledger_types(tenant.workspace_id, trained["id"]) == ["hold", "charge"]


# --- redelivery, duplicates, crashes, races ------------------------------------------------------


def test_a_redelivered_or_duplicated_message_charges_once(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "twice", "upload_ids": seed_pictures(tenant)})
    messages = take_messages(made["id"])
    assert run_trainings_worker(messages + messages) == {"batchItemFailures": []}  # the same message twice in a batch
    assert run_trainings_worker(messages, receive_count=2) == {"batchItemFailures": []}  # and redelivered later
    assert training_of(api, tenant, made["id"])["status"] == "succeeded"
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "charge"]
    assert wallet(tenant.workspace_id) == (before[0] - 50, 0)


def test_a_crash_between_learning_and_settling_resumes_and_charges_once(
    api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()
    made = create(api, tenant, {"name": "crashy", "upload_ids": seed_pictures(tenant)})
    messages = take_messages(made["id"])
    real = worker.settle_job

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(worker, "settle_job", crash)
    failed = run_trainings_worker(messages)
    assert [f["itemIdentifier"] for f in failed["batchItemFailures"]] == [messages[0]["MessageId"]]
    stuck = training_of(api, tenant, made["id"])
    assert stuck["status"] == "running" and wallet(tenant.workspace_id)[1] == 50
    monkeypatch.setattr(worker, "settle_job", real)
    assert run_trainings_worker(messages, receive_count=2) == {"batchItemFailures": []}
    assert training_of(api, tenant, made["id"])["status"] == "succeeded"
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "charge"]
    assert wallet(tenant.workspace_id)[1] == 0


def test_a_cancel_while_it_runs_wins_and_the_worker_charges_nothing(
    api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "raced", "upload_ids": seed_pictures(tenant)})
    from chalicelib.training.trainers.local import LocalTrainer

    learn = LocalTrainer.start
    answers: list[int] = []

    def cancel_midway(self: Any, job: Any) -> Any:
        answers.append(call(api, "POST", f"/v1/trainings/{made['id']}/cancel", tenant)[0])  # the user cancels now
        return learn(self, job)

    monkeypatch.setattr(LocalTrainer, "start", cancel_midway)
    assert run_trainings_worker(take_messages(made["id"])) == {"batchItemFailures": []}
    assert answers == [200]
    ended = training_of(api, tenant, made["id"])
    assert ended["status"] == "canceled" and ended["credits_charged"] == 0 and ended["style"] is None
    assert wallet(tenant.workspace_id) == before
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "release"]


def test_a_cancel_after_the_worker_settled_loses_cleanly(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = make_tenant()
    made = create(api, tenant, {"name": "too late", "upload_ids": seed_pictures(tenant)})
    from chalicelib.training import service

    settle = worker.settle_job
    answers: list[dict[str, Any]] = []

    def settle_then_cancel(*args: Any, **kwargs: Any) -> Any:
        outcome = settle(*args, **kwargs)
        try:
            service.cancel_training(tenant.workspace_id, made["id"])
        except Exception as error:  # the cancel arrives just after the charge committed
            answers.append({"error": type(error).__name__, "status_now": getattr(error, "details", {}).get("status_now")})
        return outcome

    monkeypatch.setattr(worker, "settle_job", settle_then_cancel)
    run_trainings_worker(take_messages(made["id"]))
    assert answers == [{"error": "TrainingNotCancelable", "status_now": "succeeded"}]
    assert training_of(api, tenant, made["id"])["status"] == "succeeded"
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "charge"]


# --- tenants --------------------------------------------------------------------------------------


def test_other_tenants_ids_are_not_found_and_nothing_leaks(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    theirs = seed_pictures(owner)
    trained = train(api, owner, theirs)
    before = wallet(stranger.workspace_id)
    status, body, _ = call(api, "POST", "/v1/trainings", stranger, {"name": "steal", "upload_ids": theirs})
    assert status == 404 and body["error"]["code"] == "not_found", body
    mixed = seed_pictures(stranger, 4) + theirs[:1]
    assert call(api, "POST", "/v1/trainings", stranger, {"name": "mix", "upload_ids": mixed})[0] == 404
    for method, path in (("GET", f"/v1/trainings/{trained['id']}"), ("POST", f"/v1/trainings/{trained['id']}/cancel")):
        status, body, _ = call(api, method, path, stranger)
        assert status == 404 and trained["id"] in body["error"]["message"] and "style" not in body["error"]
    status, body, _ = call(api, "POST", "/v1/jobs", stranger, {"prompt": "p", "model": trained["id"]})
    assert status == 404 and body["error"]["field"] == "model"
    assert call(api, "GET", "/v1/trainings", stranger)[1]["data"] == []
    assert wallet(stranger.workspace_id) == before
    assert [m for m in take_messages() if stranger.workspace_id in m["Body"]] == []


def test_a_job_names_only_a_usable_trained_model(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    queued = create(api, tenant, {"name": "not yet", "upload_ids": seed_pictures(tenant)})
    cases = [
        ({"model": queued["id"]}, 400, "model"),  # not succeeded (yet)
        ({"model": "trn_nope"}, 400, "model"),  # not a training id
        ({"model": "trn_01JZZZZZZZZZZZZZZZZZZZZZZZ"}, 404, "model"),  # nobody's
        ({"model": "style-trainer-v1"}, 400, "model"),  # a trainer's price entry is not a model
        ({"model": "style-trainer-v1", "provider": "local"}, 400, "model"),
    ]
    for extra, status, field in cases:
        got, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": "p", **extra})
        assert (got, body["error"].get("field")) == (status, field), (extra, body)
    run_trainings_worker(take_messages(queued["id"]))
    assert call(api, "GET", "/v1/jobs", tenant)[1]["data"] == []
    # Succeeded now: a hosted provider draws with its base model and the style is applied to its
    # pictures (tests/functional/test_trainings_providers.py runs them against the fakes).
    got, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": "p", "model": queued["id"], "provider": "gemini"})
    assert got == 202 and (body["job"]["provider"], body["job"]["model"]) == ("gemini", queued["id"]), body
    assert call(api, "POST", f"/v1/jobs/{body['job']['id']}/cancel", tenant)[0] == 200  # not run here (no fake)


# --- bad input: 400 naming the field, nothing changes ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "", "upload_ids": "IDS"}, "name"),
        ({"name": "   ", "upload_ids": "IDS"}, "name"),
        ({"name": "x" * 101, "upload_ids": "IDS"}, "name"),
        ({"name": 5, "upload_ids": "IDS"}, "name"),
        ({"name": "n"}, "upload_ids"),
        ({"name": "n", "upload_ids": "IDS", "folder_id": "fld_01JZZZZZZZZZZZZZZZZZZZZZZZ"}, "upload_ids"),
        ({"name": "n", "upload_ids": "FOUR"}, "upload_ids"),
        ({"name": "n", "upload_ids": "DUPLICATE"}, "upload_ids"),
        ({"name": "n", "upload_ids": ["not-an-id"] * 5}, "upload_ids.0"),
        ({"name": "n", "upload_ids": ["abc", "abd", "abe", "abf", "abg"]}, "upload_ids"),
        ({"name": "n", "upload_ids": "img_x"}, "upload_ids"),
        ({"name": "n", "upload_ids": ["img_x"] * 51}, "upload_ids"),
        ({"name": "n", "upload_ids": "IDS", "steps": 99}, "steps"),
        ({"name": "n", "upload_ids": "IDS", "steps": 4001}, "steps"),
        ({"name": "n", "upload_ids": "IDS", "steps": "1000"}, "steps"),
        ({"name": "n", "upload_ids": "IDS", "steps": 1000.5}, "steps"),
        ({"name": "n", "upload_ids": "IDS", "base_model": "gpt-image-1"}, "base_model"),
        ({"name": "n", "upload_ids": "IDS", "base_model": ""}, "base_model"),
        ({"name": "n", "upload_ids": "IDS", "extra": 1}, "extra"),
        ({"name": "n", "folder_id": 7}, "folder_id"),
    ],
)
def test_bad_input_is_400_naming_the_field(api: Any, make_tenant: Any, body: dict[str, Any], field: str) -> None:
    tenant = make_tenant()
    images = seed_pictures(tenant, 5)
    named = {"IDS": images, "FOUR": images[:4], "DUPLICATE": [*images[:4], images[0]], "img_x": ["img_x"] * 5}
    given = body.get("upload_ids")
    given = named[given] if isinstance(given, str) else given
    payload = {**body, **({"upload_ids": given} if "upload_ids" in body else {})}
    before = wallet(tenant.workspace_id)
    status, answer, _ = call(api, "POST", "/v1/trainings", tenant, payload)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert answer["error"]["field"] == field, answer
    _nothing_admitted(api, tenant, before)


def test_folder_input_errors(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    status, body, _ = call(api, "POST", "/v1/trainings", tenant, {"name": "n", "folder_id": "fld_01JZZZZZZZZZZZZZZZZZZZZZZZ"})
    assert (status, body["error"]["field"]) == (404, "folder_id"), body
    folder = call(api, "POST", "/v1/folders", tenant, {"name": "thin"})[1]["folder"]["id"]
    seed_pictures(tenant, 4, folder_id=folder)
    status, body, _ = call(api, "POST", "/v1/trainings", tenant, {"name": "n", "folder_id": folder})
    assert (status, body["error"]["field"]) == (400, "folder_id"), body
    assert "4 images" in body["error"]["message"]
    _nothing_admitted(api, tenant, before)
    status, body, _ = call(api, "POST", "/v1/trainings", tenant, raw="[1, 2]")
    assert status == 400 and body["error"]["code"] == "invalid_request"
    for path in ("/v1/trainings/trn_nope", "/v1/trainings/job_01JZZZZZZZZZZZZZZZZZZZZZZZ"):
        assert call(api, "GET", path, tenant)[0] == 404


# --- the running cap and the stale-hold sweeper ---------------------------------------------------


def test_a_full_workspace_defers_the_training_with_its_hold(api: Any, make_tenant: Any) -> None:
    from chalicelib import clock
    from chalicelib.accounting import running

    tenant = make_tenant(limits={"max_concurrent_jobs": 1})
    job = call(api, "POST", "/v1/jobs", tenant, {"prompt": "holds the only slot"})[1]["job"]
    assert running.start_job(tenant.workspace_id, job["id"], clock.now()).outcome == "started"
    made = create(api, tenant, {"name": "waits", "upload_ids": seed_pictures(tenant)})
    take_messages(made["id"])
    assert worker.run_training(tenant.workspace_id, made["id"]) == "deferred"
    waiting = training_of(api, tenant, made["id"])
    assert waiting["status"] == "queued" and waiting["credits_reserved"] == 50
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold"]


def test_the_sweeper_refunds_a_training_whose_messages_all_died(api: Any, fresh_aws: Any, make_tenant: Any) -> None:
    from datetime import timedelta

    from chalicelib import clock
    from chalicelib.accounting import maintenance

    tenant = make_tenant()
    before = wallet(tenant.workspace_id)
    made = create(api, tenant, {"name": "lost", "upload_ids": seed_pictures(tenant)})
    take_messages(made["id"])  # its message is lost
    # (fresh tables: the sweep two hours ahead would release every other test's open hold too)
    released = maintenance.release_stale_holds(clock.now() + timedelta(hours=2), get_settings().hold_max_age_s)
    assert made["id"] in released
    lost = training_of(api, tenant, made["id"])
    assert lost["status"] == "failed" and lost["error"]["code"] == "timeout"
    assert wallet(tenant.workspace_id) == before
    assert ledger_types(tenant.workspace_id, made["id"]) == ["hold", "release"]
