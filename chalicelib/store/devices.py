"""Device persistence (DeviceModel): a person's push targets, the token claims, push markers.

A device row lives under its owner ("<workspace_id>#<user_id>"), so a person's devices are one
bounded Query. Each token has one claim row ("token#<hash>") naming the device that holds it:
registering writes the claim and the device in one transaction conditioned on the claim as it
was read, so the same token registered twice (or concurrently) ends as one device, and a token
registered by someone else moves to them (the former owner's device row goes in the same write).
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, PutError
from pynamodb.expressions.condition import Condition

from chalicelib.store.models import DeviceModel
from chalicelib.store.transaction import Transaction

CLAIM_SK = "claim"
PUSH_SK = "sent"


def owner_key(workspace_id: str, user_id: str) -> str:
    return f"{workspace_id}#{user_id}"


def claim_key(token_hash: str) -> str:
    return f"token#{token_hash}"


def new_device(
    workspace_id: str, user_id: str, device_id: str, *, platform: str, token: str, token_hash: str,
    endpoint_arn: str | None, now: datetime,
) -> DeviceModel:  # fmt: skip
    return DeviceModel(
        owner_key(workspace_id, user_id), device_id, workspace_id=workspace_id, user_id=user_id, platform=platform,
        token=token, token_hash=token_hash, endpoint_arn=endpoint_arn, created_at=now,
    )  # fmt: skip


def of_owner(workspace_id: str, user_id: str, after: str | None = None, limit: int | None = None) -> list[DeviceModel]:
    """The person's devices in the workspace, oldest first (by id), read consistently."""
    condition = DeviceModel.device_id > after if after else DeviceModel.device_id.startswith("dev_")
    return list(DeviceModel.query(owner_key(workspace_id, user_id), condition, consistent_read=True, limit=limit))


def get(workspace_id: str, user_id: str, device_id: str) -> DeviceModel | None:
    try:
        return DeviceModel.get(owner_key(workspace_id, user_id), device_id, consistent_read=True)
    except DeviceModel.DoesNotExist:
        return None


def get_claim(token_hash: str) -> DeviceModel | None:
    try:
        return DeviceModel.get(claim_key(token_hash), CLAIM_SK, consistent_read=True)
    except DeviceModel.DoesNotExist:
        return None


def register(device: DeviceModel, seen_claim: DeviceModel | None, evict: DeviceModel | None) -> None:
    """Write the device and its token's claim, if the claim is still as read; drop the device
    that held the token before (another owner's) and `evict` (the owner's oldest, at the cap).
    TransactionCancelled when the claim changed meanwhile."""
    txn = Transaction()
    claim = DeviceModel(claim_key(str(device.token_hash)), CLAIM_SK, claim_owner=device.owner, claim_device=device.device_id)
    unchanged = (
        DeviceModel.owner.does_not_exist() if seen_claim is None else DeviceModel.claim_device == str(seen_claim.claim_device)
    )
    txn.put("claim", claim, unchanged)
    txn.put("device", device, DeviceModel.device_id.does_not_exist())
    if seen_claim is not None:
        txn.delete("previous", DeviceModel(str(seen_claim.claim_owner), str(seen_claim.claim_device)))
    if evict is not None:
        txn.delete("evicted", DeviceModel(evict.owner, evict.device_id))
        txn.delete("evicted_claim", DeviceModel(claim_key(str(evict.token_hash)), CLAIM_SK), _claim_of(evict))
    txn.commit()


def _claim_of(device: DeviceModel) -> Condition:
    return DeviceModel.owner.does_not_exist() | (DeviceModel.claim_device == device.device_id)


def remove(device: DeviceModel) -> bool:
    """Delete the device, then its token's claim if it still names it; False when already gone."""
    try:
        DeviceModel(device.owner, device.device_id).delete(DeviceModel.device_id.exists())
    except DeleteError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    try:
        DeviceModel(claim_key(str(device.token_hash)), CLAIM_SK).delete(_claim_of(device))
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise  # the token moved to another device meanwhile: its claim stays
    return True


def claim_push(event_id: str, expires_at: int) -> bool:
    """Mark the event's push as ours to send; False when another delivery of it sent it."""
    try:
        DeviceModel(f"push#{event_id}", PUSH_SK, expires_at=expires_at).save(DeviceModel.owner.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release_push(event_id: str) -> None:
    """Forget the mark after a failed send, so the message's retry sends it."""
    DeviceModel(f"push#{event_id}", PUSH_SK).delete()
