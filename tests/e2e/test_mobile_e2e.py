"""A mobile client over real HTTP on the local stack: it registers for pushes (the stack's fake
Expo receives the job's notification), then syncs like WatermelonDB: pulls, goes offline and
edits (renames an image, creates a folder, deletes a tag) while the server changes something
else, pushes (applied), makes a push the server refuses (409, nothing applied), and pulls again
to find its local database equal to the server's library."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from ulid import ULID

from tests.stack import Stack, announced, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
TABLES = ("images", "folders", "tags", "templates")


class Client:
    """The app's local database and WatermelonDB's sync loop, reduced to what the protocol does."""

    def __init__(self, stack: Stack, auth: dict[str, str]) -> None:
        self.stack, self.auth = stack, auth
        self.db: dict[str, dict[str, dict[str, Any]]] = {table: {} for table in TABLES}
        self.last_pulled_at: int | None = None
        self.pending: dict[str, dict[str, list[Any]]] = {}

    def pull(self) -> None:
        while True:
            query = "" if self.last_pulled_at is None else f"?last_pulled_at={self.last_pulled_at}"
            r = requests.get(f"{self.stack.base}/v1/sync{query}", headers=self.auth, timeout=10)
            assert r.status_code == 200, r.text
            body = r.json()
            for table, changes in body["changes"].items():
                for row in changes["created"] + changes["updated"]:
                    self.db[table][row["id"]] = {**row, "_status": "synced"}
                for record_id in changes["deleted"]:
                    self.db[table].pop(record_id, None)
            self.last_pulled_at = body["timestamp"]
            if not body["has_more"]:
                return

    def edit(self, table: str, record_id: str, **columns: Any) -> None:
        row = {**self.db[table][record_id], **columns, "_status": "updated", "_changed": ",".join(columns)}
        self.db[table][record_id] = row
        self._pending(table, "updated").append(row)

    def create(self, table: str, **columns: Any) -> str:
        record_id = f"{ {'folders': 'fld', 'templates': 'tpl'}[table] }_{ULID()}".replace(" ", "")
        row = {"id": record_id, **columns, "_status": "created", "_changed": ""}
        self.db[table][record_id] = row
        self._pending(table, "created").append(row)
        return record_id

    def delete(self, table: str, record_id: str) -> None:
        self.db[table].pop(record_id)
        self._pending(table, "deleted").append(record_id)

    def _pending(self, table: str, kind: str) -> list[Any]:
        return self.pending.setdefault(table, {"created": [], "updated": [], "deleted": []})[kind]

    def push(self) -> requests.Response:
        body = {"changes": self.pending, "last_pulled_at": self.last_pulled_at}
        r = requests.post(f"{self.stack.base}/v1/sync", headers=self.auth, json=body, timeout=30)
        if r.status_code == 200:
            self.pending = {}
        return r


def _owner(stack: Stack) -> dict[str, str]:
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Phone", "owner_email": "owner@phone.test", "plan": "starter"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}


def _call(stack: Stack, auth: dict[str, str], method: str, path: str, body: Any = None, status: int = 200) -> Any:
    r = requests.request(method, f"{stack.base}{path}", headers=auth, json=body, timeout=30)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _job_images(stack: Stack, auth: dict[str, str]) -> tuple[str, list[str]]:
    job = _call(stack, auth, "POST", "/v1/jobs", {"prompt": "a lighthouse in a storm", "n": 2}, status=202)["job"]

    def done() -> Any:
        found = _call(stack, auth, "GET", f"/v1/jobs/{job['id']}")["job"]
        return found if found["status"] in ("succeeded", "failed") else None

    finished = wait_for(done, timeout=60)
    assert finished["status"] == "succeeded", finished
    return job["id"], [image["id"] for image in finished["images"]]


def test_push_on_job_end_then_offline_sync(stack: Stack) -> None:
    auth = _owner(stack)
    expo = announced(stack.lines, "expo")
    token = "ExponentPushToken[e2ephone0001]"
    _call(stack, auth, "POST", "/v1/devices", {"platform": "expo", "token": token}, status=201)
    job_id, (first, second) = _job_images(stack, auth)

    def pushed() -> Any:
        sent = requests.get(f"{expo}/_fake/messages", timeout=5).json()["data"]
        return [m for m in sent if m["to"] == token]

    (notification,) = wait_for(pushed, timeout=30)
    assert notification["data"] == {"type": "job.succeeded", "job_id": job_id}

    _call(stack, auth, "PATCH", f"/v1/images/{first}", {"tags": ["storm", "sea"]})
    _call(stack, auth, "PATCH", f"/v1/images/{second}", {"tags": ["sea"]})
    inbox = _call(stack, auth, "POST", "/v1/folders", {"name": "Inbox"}, status=201)["folder"]["id"]

    phone = Client(stack, auth)
    phone.pull()
    assert set(phone.db["images"]) == {first, second} and set(phone.db["tags"]) == {"storm", "sea"}
    assert set(phone.db["folders"]) == {inbox}

    # offline: rename an image, create a folder, delete a tag; meanwhile the server renames Inbox
    phone.edit("images", first, title="Storm at the lighthouse")
    trips = phone.create("folders", name="Trips", parent_id=None)
    phone.edit("images", second, folder_id=trips)
    phone.delete("tags", "sea")
    _call(stack, auth, "PATCH", f"/v1/folders/{inbox}", {"name": "Inbox (server)"})
    r = phone.push()
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == {"created": 1, "updated": 2, "deleted": 1}

    # a conflicting push: the server renames the image after the client's pull
    phone.pull()
    phone.edit("images", first, title="Phone's title")
    lost = phone.create("folders", name="Never made", parent_id=None)
    _call(stack, auth, "PATCH", f"/v1/images/{first}", {"title": "Server's title"})
    r = phone.push()
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.text
    assert r.json()["error"]["records"] == [f"images:{first}"]
    _call(stack, auth, "GET", f"/v1/folders/{lost}", status=404)  # nothing of it was applied

    # the client drops its refused edits (its conflict resolution: the server wins) and pulls
    phone.pending = {}
    phone.db["folders"].pop(lost)
    phone.pull()
    _assert_same_as_server(stack, auth, phone)
    assert phone.db["images"][first]["title"] == "Server's title"
    assert phone.db["images"][second]["folder_id"] == trips and json.loads(phone.db["images"][second]["tags"]) == []
    assert phone.db["folders"][inbox]["name"] == "Inbox (server)" and phone.db["folders"][trips]["name"] == "Trips"
    assert set(phone.db["tags"]) == {"storm"}


def _assert_same_as_server(stack: Stack, auth: dict[str, str], phone: Client) -> None:
    images = {i["id"]: i for i in _call(stack, auth, "GET", "/v1/images?limit=100")["data"]}
    assert set(phone.db["images"]) == set(images)
    for image_id, image in images.items():
        local = phone.db["images"][image_id]
        shown = (local["title"], json.loads(local["tags"]), local["folder_id"])
        assert shown == (image["title"], image["tags"], image["folder_id"])
    folders = {f["id"]: f["name"] for f in _call(stack, auth, "GET", "/v1/folders?limit=100")["data"]}
    assert {k: v["name"] for k, v in phone.db["folders"].items()} == folders
    tags = {t["name"]: t["count"] for t in _call(stack, auth, "GET", "/v1/tags?limit=100")["data"]}
    assert {k: v["count"] for k, v in phone.db["tags"].items()} == tags
