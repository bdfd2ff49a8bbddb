"""The admin workspace list reads a sharded index, never the whole table: a page costs a bounded
number of queries at 10 or 1,000 workspaces, is newest first, and filters still find everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.functional.helpers import call

START = datetime(2026, 1, 1, tzinfo=UTC)
PLANS = ("free", "starter", "pro", "enterprise")


def _bulk(n: int) -> list[str]:
    """`n` workspaces written straight to the table (as creation writes them), one second apart."""
    from chalicelib import ids
    from chalicelib.store import workspaces
    from chalicelib.store.models import WorkspaceModel

    made = []
    with WorkspaceModel.batch_write() as batch:
        for i in range(n):
            at = START + timedelta(seconds=i)
            ws = workspaces.new_workspace(ids.new_id("ws", at), f"Bulk Studio {i:04d}", PLANS[i % 4], "usr_x", at)
            if i % 250 == 7:
                ws.status = "banned"
            batch.save(ws)
            made.append(ws.workspace_id)
    return made


def _counted(api: Any, path: str, caller: Any) -> tuple[dict[str, Any], dict[str, int]]:
    from chalicelib.store.request_counter import RequestCounter

    counter = RequestCounter()
    counter.install()
    try:
        counter.reset()
        status, body, _ = call(api, "GET", path, caller)
    finally:
        counter.uninstall()
    assert status == 200, body
    return body, dict(counter.calls)


def _all_pages(api: Any, path: str, caller: Any) -> tuple[list[str], list[dict[str, int]]]:
    """Every id the listing shows, following next_cursor, and each page's request counts."""
    seen: list[str] = []
    costs: list[dict[str, int]] = []
    cursor = None
    for _ in range(100):
        page, calls = _counted(api, path + (f"&cursor={cursor}" if cursor else ""), caller)
        seen += [w["id"] for w in page["data"]]
        costs.append(calls)
        cursor = page["next_cursor"]
        if not cursor:
            return seen, costs
    raise AssertionError("the listing never ended")


@pytest.fixture()
def platform(fresh_aws, api, make_tenant):
    """Fresh tables with ten workspaces made through the API's own path, one of them an admin."""
    admin = make_tenant(plan="enterprise", is_admin=True)
    tenants = [make_tenant(plan=PLANS[i % 4]) for i in range(9)]
    return admin, tenants


def test_a_page_is_one_query_per_shard_at_10_and_at_1000_workspaces(api, platform):
    from chalicelib.store.workspaces import LISTING_SHARDS

    admin, tenants = platform
    page, small = _counted(api, "/admin/api/workspaces?limit=5", admin)
    newest = sorted([admin.workspace_id, *(t.workspace_id for t in tenants)], reverse=True)
    assert [w["id"] for w in page["data"]] == newest[:5] and page["next_cursor"]
    assert small.get("Query") == LISTING_SHARDS and "Scan" not in small, small

    bulk = _bulk(1000)
    page, large = _counted(api, "/admin/api/workspaces?limit=20", admin)
    assert large.get("Query") == LISTING_SHARDS and "Scan" not in large, large
    everything = sorted([*newest, *bulk], reverse=True)
    assert [w["id"] for w in page["data"]] == everything[:20] and everything[:10] == newest  # the API's are newest
    print(f"\nrequests per page: 10 workspaces {small}, 1,010 workspaces {large}")

    seen, costs = _all_pages(api, "/admin/api/workspaces?limit=100", admin)
    assert seen == everything  # each once, newest first
    assert all(c.get("Query") == LISTING_SHARDS and "Scan" not in c for c in costs), costs


def test_filters_find_every_match_in_a_bounded_number_of_queries(api, platform):
    from chalicelib.store.sharded_listing import MAX_ROUNDS
    from chalicelib.store.workspaces import LISTING_SHARDS

    admin, tenants = platform
    bulk = _bulk(1000)
    target = tenants[3]
    assert call(api, "POST", f"/admin/api/workspaces/{target.workspace_id}/ban", admin, {"reason": "fraud"})[0] == 200
    banned, costs = _all_pages(api, "/admin/api/workspaces?status=banned&limit=20", admin)
    assert set(banned) == {target.workspace_id, *(bulk[i] for i in range(1000) if i % 250 == 7)}
    assert all(c.get("Query", 0) <= LISTING_SHARDS * MAX_ROUNDS and "Scan" not in c for c in costs), costs
    print(f"\nrequests per page of a rare filter over 1,010 workspaces: {costs}")

    named, _ = _all_pages(api, "/admin/api/workspaces?query=studio%200042&limit=20", admin)
    assert named == [bulk[42]]
    by_id, _ = _all_pages(api, f"/admin/api/workspaces?query={bulk[500][-10:].lower()}&limit=20", admin)
    assert by_id == [bulk[500]]
    pro, _ = _all_pages(api, "/admin/api/workspaces?plan=pro&query=bulk&limit=100", admin)
    assert pro == sorted((bulk[i] for i in range(1000) if PLANS[i % 4] == "pro"), reverse=True)
    status, err, _ = call(api, "GET", "/admin/api/workspaces?status=deleted", admin)
    assert status == 400 and err["error"]["field"] == "status"


def test_workspaces_from_before_the_index_are_listed_after_the_backfill(api, platform):
    from chalicelib import clock, ids
    from chalicelib.store import workspaces
    from chalicelib.store.models import WorkspaceModel

    admin, _ = platform
    old_id = ids.new_id("ws", clock.now())
    WorkspaceModel(old_id, name="From before", plan="pro", status="active", limits={}, billing={}, created_at=clock.now()).save()
    listed, _ = _all_pages(api, "/admin/api/workspaces?limit=100", admin)
    assert old_id not in listed
    assert workspaces.backfill_listing() == 1 and workspaces.backfill_listing() == 0
    listed, _ = _all_pages(api, "/admin/api/workspaces?query=from%20BEFORE&limit=100", admin)
    assert listed == [old_id]
