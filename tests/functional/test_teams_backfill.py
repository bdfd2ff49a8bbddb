"""`ops backfill-teams`: a workspace made before teams (no memberships, no `#owners` row) gets
them counted from its people, so the last-owner rule holds there too; a second run writes nothing."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import clock, ops
from chalicelib.store import memberships, users
from chalicelib.store.models import MembershipModel
from tests.functional.helpers import call


def _report(capsys: Any) -> dict[str, int]:
    """The command's JSON line (the last one: metrics lines of earlier API calls come before it)."""
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _as_before_teams(workspace_id: str) -> None:
    """Delete what teams writes at creation: every membership row and the `#owners` row."""
    for row in MembershipModel.query(workspace_id):
        row.delete()


def _home_person(workspace_id: str, role: str) -> str:
    """A second person created in the workspace as the pre-teams code did (user row only)."""
    from chalicelib import ids

    person = users.new_user(
        ids.new_id("usr"), workspace_id, f"{role}-{ids.new_id('x')}@example.test", role=role, is_admin=False, now=clock.now()
    )
    person.save()
    return person.user_id


def test_a_pre_teams_workspace_gets_its_memberships_and_owner_count(
    api: Any, fresh_aws: Any, make_tenant: Any, capsys: Any
) -> None:
    old = make_tenant()
    co_owner = _home_person(old.workspace_id, "owner")
    _home_person(old.workspace_id, "viewer")
    _as_before_teams(old.workspace_id)
    current = make_tenant()  # made with teams: nothing to write
    assert memberships.get(old.workspace_id, memberships.OWNERS) is None

    assert ops.main(["backfill-teams"]) == 0
    report = _report(capsys)
    assert report == {"workspaces": 2, "memberships": 3, "owner_rows": 1}
    owners = MembershipModel.get(old.workspace_id, memberships.OWNERS, consistent_read=True)
    assert owners.owners == 2
    assert memberships.get(current.workspace_id, memberships.OWNERS).owners == 1
    roles = sorted(m["role"] for m in call(api, "GET", "/v1/members", old)[1]["data"])
    assert roles == ["owner", "owner", "viewer"]

    # The last-owner rule now holds: one owner may step down, the other (now the last) may not.
    assert call(api, "PATCH", f"/v1/members/{co_owner}", old, {"role": "admin"})[0] == 200
    status, err, _ = call(api, "PATCH", f"/v1/members/{old.user_id}", old, {"role": "admin"})
    assert status == 409 and err["error"]["code"] == "conflict", err

    assert ops.main(["backfill-teams"]) == 0  # again: nothing to write, and the live count is kept
    assert _report(capsys) == {"workspaces": 2, "memberships": 0, "owner_rows": 0}
    assert MembershipModel.get(old.workspace_id, memberships.OWNERS, consistent_read=True).owners == 1


def test_a_removed_member_stays_removed_and_is_not_counted(api: Any, fresh_aws: Any, make_tenant: Any, capsys: Any) -> None:
    old = make_tenant()
    gone = _home_person(old.workspace_id, "owner")
    _as_before_teams(old.workspace_id)
    removed = memberships.new_row(old.workspace_id, users.get(gone), "owner", clock.now())
    removed.removed_at, removed.person = clock.now(), None
    removed.save()

    assert ops.main(["backfill-teams"]) == 0
    assert _report(capsys) == {"workspaces": 1, "memberships": 1, "owner_rows": 1}
    assert memberships.get(old.workspace_id, gone) is None
    assert MembershipModel.get(old.workspace_id, memberships.OWNERS, consistent_read=True).owners == 1
    assert [m["user_id"] for m in call(api, "GET", "/v1/members", old)[1]["data"]] == [old.user_id]
