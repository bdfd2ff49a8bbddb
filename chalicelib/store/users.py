"""Users: people acting inside one workspace (a role there, perhaps platform admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.store.models import UserModel
from chalicelib.store.transaction import Transaction


def new_user(user_id: str, workspace_id: str, email: str, *, role: str, is_admin: bool, now: datetime) -> UserModel:
    """An active user with default settings; emails are kept lower-case."""
    return UserModel(
        user_id,
        workspace_id=workspace_id,
        email=email.lower(),
        role=role,
        is_admin=is_admin,
        status="active",
        settings={},
        created_at=now,
    )


def add_new(txn: Transaction, user: UserModel) -> None:
    txn.put("user", user, UserModel.user_id.does_not_exist())


def get(user_id: str, *, consistent: bool = True) -> UserModel | None:
    try:
        return UserModel.get(user_id, consistent_read=consistent)
    except UserModel.DoesNotExist:
        return None


def of_workspace(workspace_id: str) -> list[UserModel]:
    """The workspace's people, oldest first (by id)."""
    return list(UserModel.by_workspace.query(workspace_id))


def update_profile(user: UserModel, *, display_name: str | None = None, settings: dict[str, Any] | None = None) -> None:
    """Set what is given (the instance is refreshed with what was stored)."""
    actions: list[Any] = []
    if display_name is not None:
        actions.append(UserModel.display_name.set(display_name))
    if settings is not None:
        actions.append(UserModel.settings.set(settings))
    if actions:
        user.update(actions=actions)


def set_banned_in(txn: Transaction, user: UserModel, banned: bool) -> None:
    txn.update("target", user, [UserModel.status.set("banned" if banned else "active")])


def get_many(user_ids: list[str]) -> list[UserModel]:
    """Several users at once (a workspace's members), in no particular order."""
    return list(UserModel.batch_get(user_ids)) if user_ids else []


def by_email(email: str) -> UserModel | None:
    """The person with this email (the first created, when several rows share it)."""
    found = next(iter(UserModel.by_email.query(email.lower(), limit=1)), None)
    return get(found.user_id) if found is not None else None
