"""`python -m chalicelib.ops backfill-teams`: bring workspaces made before teams up to date.

Teams added two kinds of rows (store/memberships.py): a membership per person and workspace,
and one `#owners` row per workspace counting its owners, which guards "the last owner can never
be demoted or removed". A workspace made before teams has neither: its people's home memberships
are written lazily (`ensure_home`) when they are first listed, but nothing writes its `#owners`
row, so its first ownership change would be refused (a decrease conditions on a row that is not
there) or miscount (an increase creates the row at 1 while an owner already exists).

This one-off walks every workspace (a Scan: an operator command, never a request path), writes
each current home member's membership and the `#owners` row counted from the people it finds.
It is safe to run twice and while the API serves: every write is conditioned on the row not
existing, so a row written meanwhile by the API is kept. The one race left errs on the safe
side: an owner promoted in a pre-teams workspace during the run creates the row at 1, our
count then loses to it, and the workspace under-counts its owners, which can only refuse a
demotion that would have been allowed; running the command again does not lower it, and an
operator can check `#owners` against the members list (`GET /v1/members`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import PutError

from chalicelib import clock
from chalicelib.store import memberships, users
from chalicelib.store.models import MembershipModel, WorkspaceModel


@dataclass
class TeamsBackfill:
    """What one run wrote (zeros on a second run)."""

    workspaces: int = 0
    memberships: int = 0
    owner_rows: int = 0


def run() -> TeamsBackfill:
    """Every workspace: its home members' memberships, then its `#owners` row when missing."""
    report = TeamsBackfill()
    for ws in WorkspaceModel.scan(attributes_to_get=["workspace_id"]):
        report.workspaces += 1
        report.memberships += _home_memberships(str(ws.workspace_id))
        report.owner_rows += _owners_row(str(ws.workspace_id))
    return report


def _home_memberships(workspace_id: str) -> int:
    """Write the missing home memberships of the workspace's people; returns how many."""
    written = 0
    for user in users.of_workspace(workspace_id):
        try:
            memberships.new_row(workspace_id, user, str(user.role), clock.now()).save(MembershipModel.user_id.does_not_exist())
        except PutError:
            continue  # there already (current or removed: a removal is kept, never undone)
        written += 1
    return written


def _owners_row(workspace_id: str) -> int:
    """Count the current owners (home role on the user row, else the membership's) and write the
    `#owners` row if there is none; 1 when written."""
    if memberships.get(workspace_id, memberships.OWNERS, consistent=True) is not None:
        return 0
    people = {u.user_id: u for u in users.of_workspace(workspace_id)}
    rows = memberships.of_workspace(workspace_id)
    home = users.get_many([r.person or r.user_id for r in rows if r.user_id not in people])
    people.update({u.user_id: u for u in home})
    owners = sum(1 for row in rows if row.user_id in people and memberships.role_of(row, people[row.user_id]) == "owner")
    try:
        MembershipModel(workspace_id, memberships.OWNERS, owners=owners).save(MembershipModel.user_id.does_not_exist())
    except PutError:
        return 0  # written meanwhile by an ownership change: kept
    return 1
