"""The permission matrix as data: DESIGN.md's rows, scoped keys narrowing and never widening."""

from __future__ import annotations

import pytest

from chalicelib.tenancy import permissions as p

# DESIGN.md "Teams: the permission matrix", one permission per capability row it names.
DESIGN_ROWS = {
    p.JOBS_READ: {"owner", "admin", "member", "viewer"},
    p.LIBRARY_READ: {"owner", "admin", "member", "viewer"},
    p.JOBS_WRITE: {"owner", "admin", "member"},
    p.LIBRARY_WRITE: {"owner", "admin", "member"},
    p.KEYS_OWN: {"owner", "admin", "member"},
    p.LIBRARY_MANAGE: {"owner", "admin"},
    p.MEMBERS_WRITE: {"owner", "admin"},
    p.WEBHOOKS_WRITE: {"owner", "admin"},
    p.BILLING_READ: {"owner", "admin"},
    p.BILLING_WRITE: {"owner", "admin"},
    p.WORKSPACE_OWN: {"owner"},
    p.SELF: {"owner", "admin", "member", "viewer"},
    p.ANALYTICS_READ: {"owner", "admin", "member", "viewer"},  # "read ... usage, analytics"
}


def test_every_permission_has_a_row_and_the_matrix_matches_it() -> None:
    every = set(p.SCOPES) | set(p.SCOPE_FOR) | {p.SELF}
    assert set(DESIGN_ROWS) == every
    for permission, roles in DESIGN_ROWS.items():
        assert {role for role in p.ROLES if p.role_allows(role, permission)} == roles, permission


@pytest.mark.parametrize("role", p.ROLES)
def test_an_unscoped_key_does_what_its_role_does_and_a_scoped_one_no_more(role: str) -> None:
    for permission in DESIGN_ROWS:
        assert p.allows(role, None, permission) == p.role_allows(role, permission)
        for scopes in ([], [p.JOBS_READ], list(p.SCOPES)):
            if p.allows(role, scopes, permission):
                assert p.role_allows(role, permission), "a scope never widens a role"


def test_scopes_narrow() -> None:
    assert p.allows("owner", [p.JOBS_READ], p.JOBS_READ)
    assert not p.allows("owner", [p.JOBS_READ], p.JOBS_WRITE)
    assert not p.allows("owner", [], p.BILLING_READ)
    assert p.allows("owner", [], p.SELF)  # every key may read its own profile
    assert p.allows("owner", [p.LIBRARY_WRITE], p.LIBRARY_MANAGE)  # through the scope it maps to
    assert not p.allows("owner", [p.LIBRARY_READ], p.LIBRARY_MANAGE)
    assert not p.allows("owner", [p.JOBS_WRITE], p.WORKSPACE_OWN)
    assert not p.allows("viewer", list(p.SCOPES), p.JOBS_WRITE)  # the role still decides


def test_an_unknown_role_may_only_see_itself() -> None:
    assert [perm for perm in DESIGN_ROWS if p.role_allows("intern", perm)] == [p.SELF]


def test_grantable_scopes_are_the_roles_scopes_only() -> None:
    assert p.grantable("viewer") == {p.JOBS_READ, p.LIBRARY_READ}
    assert p.grantable("owner") == set(p.SCOPES)
    assert p.LIBRARY_MANAGE not in p.grantable("admin")
