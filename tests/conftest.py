"""Shared fixtures: one serialized moto server per test process, factories for tenants.

Tests never touch the network beyond 127.0.0.1, and never need an AWS account.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from types import SimpleNamespace
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ImageGenTest",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "STAGE": "test",
        "FAULT_INJECTION": "true",
    }
)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

_prefixes = itertools.count()


@dataclass
class MotoEnv:
    port: int
    prefix: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


_module_used_moto: list[bool] = [False]


@pytest.fixture(autouse=True)
def _environment_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test leaves in os.environ (a synthesized stage's STAGE=dev, a provider key) is
    undone, and the settings and clients built from it are forgotten: no test sees another's."""
    if "moto_server" in request.fixturenames:
        _module_used_moto[0] = True
    before = dict(os.environ)
    yield
    if dict(os.environ) != before:
        os.environ.clear()
        os.environ.update(before)
        from chalicelib import bootstrap

        bootstrap.reset()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[int]:
    """moto on loopback with one lock around each request (atomic like DynamoDB)."""
    from chalicelib.local.moto_server import SerializedMotoServer

    server = SerializedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # binds a free port itself
    server.start()
    yield server.port
    server.stop()
    # This process may run another pytest session (mutmut runs its clean tests, then each mutant
    # in a fork of that process): nothing may point at this stopped server then.
    _shared.clear()
    _module_used_moto[0] = False


def use_tables(port: int, prefix: str) -> MotoEnv:
    """Point the app at moto with a table prefix and create everything under it."""
    from chalicelib import bootstrap
    from chalicelib.local.stack import configure_environment, create_resources

    configure_environment(port, prefix, STAGE="test", FAULT_INJECTION="true", POWERTOOLS_METRICS_NAMESPACE="ImageGenTest")
    create_resources(visibility_timeout_s=1)
    bootstrap.reset()  # every per-container cache, whoever keeps one
    return MotoEnv(port, prefix)


_shared: list[MotoEnv] = []  # the process's shared tables, once a test asked for them


@pytest.fixture(scope="session")
def aws(moto_server: int) -> MotoEnv:
    """Tables, queues and bucket shared by the tests of this process."""
    env = use_tables(moto_server, f"t{os.getpid()}-shared")
    _shared[:] = [env]  # only this session's server (see moto_server)
    return env


@pytest.fixture(scope="module", autouse=True)
def _moto_emptied_after_each_module() -> Iterator[None]:
    """After each test module, moto starts again empty with the shared resources re-created.

    moto keeps every item, object and message of the session in this process's memory, and its
    TransactWriteItems deep-copied each table it touched (ours now copies only the items it
    names: local/moto_server.py): over a whole run one worker grew to 11 GB and was killed (OOM).
    No fixture outlives its module except the empty resources, so emptying between modules
    changes no test's world and bounds memory by the largest module."""
    yield
    if not _shared or not _module_used_moto[0]:
        return
    _module_used_moto[0] = False
    import urllib.request

    env = _shared[0]
    urllib.request.urlopen(urllib.request.Request(f"{env.endpoint}/moto-api/reset", method="POST"), timeout=30).read()
    for name in ("PUSH_APNS_APPLICATION_ARN", "PUSH_FCM_APPLICATION_ARN"):  # made on moto: made again
        os.environ.pop(name, None)
    use_tables(env.port, env.prefix)


@pytest.fixture()
def fresh_aws(moto_server: int) -> Iterator[MotoEnv]:
    """Brand-new tables for a test that counts platform-wide things (resets, reconcile)."""
    env = use_tables(moto_server, f"t{os.getpid()}-{next(_prefixes)}")
    yield env
    use_tables(moto_server, f"t{os.getpid()}-shared")


@pytest.fixture()
def frozen_clock() -> Iterator[Any]:
    """An injectable clock at a fixed moment (move it with .advance / .set)."""
    from datetime import datetime

    from chalicelib import clock

    fc = clock.FrozenClock(datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC))
    clock.set_clock(fc)
    yield fc
    clock.reset_clock()


@dataclass
class Tenant:
    workspace_id: str
    user_id: str
    key_id: str
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"}


@pytest.fixture()
def make_tenant(aws: MotoEnv) -> Any:
    """Factory: a new workspace (+ owner + key + wallet) on a plan, with optional limit overrides."""
    from chalicelib.store.models import WorkspaceModel
    from chalicelib.tenancy import create_workspace

    def make(plan: str = "starter", limits: dict[str, Any] | None = None, is_admin: bool = False) -> Tenant:
        made = create_workspace("Test workspace", f"owner{next(_prefixes)}@example.test", plan, is_admin=is_admin)
        if limits:
            WorkspaceModel(made.workspace.workspace_id).update(actions=[WorkspaceModel.limits.set(limits)])
        return Tenant(made.workspace.workspace_id, made.owner.user_id, made.key.key_id, made.secret)

    return make


@pytest.fixture()
def admin(make_tenant: Any) -> Tenant:
    return make_tenant(plan="enterprise", is_admin=True)


@pytest.fixture()
def api(aws: MotoEnv) -> Iterator[Any]:
    """Chalice's in-process test client over the real app (moto behind it)."""
    from tests.functional.helpers import app_client

    with app_client() as client:
        yield client


@pytest.fixture()
def deterministic(frozen_clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The frozen clock, and every id and secret made from it in order (a counter instead of
    randomness): the same scenario stores the same rows on every run, for golden records."""
    import secrets as std_secrets

    from ulid import ULID

    from chalicelib.local import fake_stripe

    counter = itertools.count(1)

    def from_timestamp(cls: type[ULID], value: float) -> ULID:
        millis = int(value * 1000) if isinstance(value, float) else int(value)
        return cls.from_bytes(millis.to_bytes(6, "big") + next(counter).to_bytes(10, "big"))

    monkeypatch.setattr(ULID, "from_timestamp", classmethod(from_timestamp))
    monkeypatch.setattr(std_secrets, "token_urlsafe", lambda n=32: f"secret{next(counter):0{n}d}")
    monkeypatch.setattr(std_secrets, "token_hex", lambda n=32: f"{next(counter):0{2 * n}x}")
    # The fake Stripe stamps its objects with the wall clock: give it the frozen one.
    monkeypatch.setattr(fake_stripe, "time", SimpleNamespace(time=lambda: frozen_clock.now().timestamp()))
    return frozen_clock


@pytest.fixture()
def golden(request: pytest.FixtureRequest) -> Any:
    """Compare what a test observed with its reviewed record (tests/golden.py)."""
    from pathlib import Path

    from tests.golden import Golden

    return Golden(Path(str(request.node.path)).stem, request.node.name, keep_times="deterministic" in request.fixturenames)
