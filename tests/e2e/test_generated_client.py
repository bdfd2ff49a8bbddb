"""The API as an external developer uses it: a client generated from our own OpenAPI document
by `openapi-python-client` (scripts/generate_client.py), typed models in and out, against the
local stack over HTTP. The client is generated here, into a temporary directory, from
`build_openapi(app.app)`: a route whose spec the generator cannot model fails this test first."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from scripts.generate_client import PACKAGE, generate
from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The freshly generated `imagegen_client` package, importable for this module only."""
    root = tmp_path_factory.mktemp("client")
    generate(root)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


def test_the_generated_package_has_one_module_per_area(sdk: ModuleType) -> None:
    areas = {p.name for p in Path(sdk.__file__).parent.joinpath("api").iterdir() if p.is_dir()}
    assert {"jobs", "account", "library", "webhooks", "admin"} <= areas


def test_a_developer_makes_an_image_with_the_generated_client(sdk: ModuleType, stack: Stack) -> None:
    models = _models()
    admin = sdk.AuthenticatedClient(base_url=stack.base, token=stack.admin_key, raise_on_unexpected_status=True)
    made = _api("admin.create_workspace").sync(
        client=admin, body=models.WorkspaceCreate(name="SDK", owner_email="dev@sdk.test", plan="starter")
    )
    assert isinstance(made, models.WorkspaceCreated) and made.api_key.startswith("sk_")
    client = sdk.AuthenticatedClient(base_url=stack.base, token=made.api_key, raise_on_unexpected_status=True)

    before = _api("account.balance").sync(client=client)
    assert isinstance(before, models.BalanceView) and before.available > 0
    created = _api("jobs.create_job").sync_detailed(
        client=client, body=models.JobCreate(prompt="a lighthouse in fog", n=2), idempotency_key="sdk-job-1"
    )
    assert int(created.status_code) == 202 and isinstance(created.parsed, models.JobEnvelope)
    job_id = created.parsed.job.id

    def finished() -> Any:
        job = _api("jobs.get_job").sync(client=client, job_id=job_id).job
        return job if job.status.value in ("succeeded", "failed") else None

    job = wait_for(finished, timeout=60)
    assert job.status == models.JobViewStatus.SUCCEEDED and len(job.images) == 2
    assert job.usage.credits_charged > 0

    images = _api("library.list_images").sync(client=client, limit=10)
    assert isinstance(images, models.LibraryImagePage)
    assert {image.id for image in images.data} == {image.id for image in job.images}
    after = _api("account.balance").sync(client=client)
    assert before.available - after.available == job.usage.credits_charged and after.held == 0


def test_errors_come_back_as_the_typed_envelope(sdk: ModuleType, stack: Stack) -> None:
    models = _models()
    admin = sdk.AuthenticatedClient(base_url=stack.base, token=stack.admin_key)
    made = _api("admin.create_workspace").sync(
        client=admin, body=models.WorkspaceCreate(name="SDK errors", owner_email="err@sdk.test", plan="starter")
    )
    client = sdk.AuthenticatedClient(base_url=stack.base, token=made.api_key)
    missing = _api("jobs.get_job").sync_detailed(client=client, job_id="job_01J00000000000000000000000")
    assert int(missing.status_code) == 404
    assert isinstance(missing.parsed, models.Error) and missing.parsed.error.code == "not_found"
    refused = _api("jobs.create_job").sync_detailed(client=client, body=models.JobCreate(prompt="x" * 4001))
    assert int(refused.status_code) == 400 and refused.parsed.error.code == "invalid_request"
    stranger = sdk.AuthenticatedClient(base_url=stack.base, token="sk_test_" + "0" * 40)
    assert int(_api("account.balance").sync_detailed(client=stranger).status_code) == 401
