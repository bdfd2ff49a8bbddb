"""The rules of offline sync, without a database: created / updated / deleted, page cuts on
whole milliseconds, the next timestamp, and when a pushed record conflicts."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.mobile import sync_rules as rules


@dataclass
class Row:
    record_key: str
    changed_ms: int
    created_ms: int | None = None
    gone: bool | None = None


def test_a_first_pull_creates_everything_visible() -> None:
    seen = rules.seen_until(None, 5)
    assert rules.kind_of(Row("images:a", 10, 10), seen, visible=True) == rules.CREATED
    assert rules.kind_of(Row("images:a", 10, 10), seen, visible=False) == rules.DELETED


def test_what_a_timestamp_says_the_client_has_seen() -> None:
    assert rules.seen_until(None, 100) == -1
    assert rules.seen_until(1000, 100) == 1100  # even: a whole pull, answered `now - overlap`
    assert rules.seen_until(1001, 100) == 1001  # odd: a page, seen exactly that far


def test_created_after_what_the_client_saw_is_created_before_it_updated() -> None:
    assert rules.kind_of(Row("folders:f", 20, 15), 10, visible=True) == rules.CREATED
    assert rules.kind_of(Row("folders:f", 20, 5), 10, visible=True) == rules.UPDATED
    assert rules.kind_of(Row("tags:t", 20, None), 10, visible=True) == rules.UPDATED  # no creation time known
    assert rules.kind_of(Row("tags:t", 20, None), -1, visible=True) == rules.CREATED  # a first pull


def test_within_the_overlap_a_new_record_counts_as_updated() -> None:
    """The previous pull (answered last_pulled_at = its time - overlap) sent it already."""
    seen = rules.seen_until(10, 6)
    assert rules.kind_of(Row("folders:f", 20, 15), seen, visible=True) == rules.UPDATED
    assert rules.kind_of(Row("folders:f", 20, 17), seen, visible=True) == rules.CREATED


def test_tombstones_and_hidden_records_are_deleted() -> None:
    assert rules.kind_of(Row("tags:t", 20, 5, gone=True), 10, visible=False) == rules.DELETED
    assert rules.kind_of(Row("templates:t", 20, 5), 10, visible=False) == rules.DELETED


def test_a_short_read_is_not_cut() -> None:
    rows = [Row("a:1", 1), Row("a:2", 2)]
    assert rules.cut(rows, 2) == (rows, None, None)


def test_a_cut_never_splits_a_two_millisecond_slot() -> None:
    rows = [Row("a:1", 1), Row("a:2", 4), Row("a:3", 5), Row("a:4", 5)]
    kept, through, whole = rules.cut(rows, 3)
    assert [r.record_key for r in kept] == ["a:1"] and through == 3 and whole is None


def test_a_page_of_one_slot_is_read_whole() -> None:
    rows = [Row("a:1", 6), Row("a:2", 7), Row("a:3", 7)]
    assert rules.cut(rows, 2) == ([], 7, 6)


def test_the_next_timestamp_is_odd_for_a_page_and_even_for_a_whole_pull() -> None:
    page = rules.Page([Row("a:1", 5), Row("a:2", 8)], has_more=True, through=9)
    assert rules.timestamp_of(page, now_ms=100, overlap_ms=10) == 9
    assert rules.timestamp_of(rules.Page([Row("a:1", 5)], has_more=False), now_ms=101, overlap_ms=10) == 90
    assert rules.timestamp_of(rules.Page([], has_more=False), now_ms=5, overlap_ms=10) == 0


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=30), st.integers(min_value=1, max_value=10))
def test_pages_in_sequence_send_every_row_once(stamps: list[int], limit: int) -> None:
    """Paging with the rules' cut and timestamp reaches every change, whatever the crowding, and
    each page's timestamp says exactly what was seen."""
    rows = sorted((Row(f"a:{n}", ms) for n, ms in enumerate(stamps)), key=lambda r: r.changed_ms)
    since, seen = -1, []
    for _ in range(len(rows) + 2):
        newer = [r for r in rows if r.changed_ms > since]
        kept, through, whole = rules.cut(newer[: limit + 1], limit)
        if whole is not None:
            kept = [r for r in rows if whole <= r.changed_ms <= whole + 1]
        page = rules.Page(list(kept), len(newer) > limit, through)
        seen += [r.record_key for r in page.rows]
        if not page.has_more:
            break
        since = rules.timestamp_of(page, now_ms=10_000, overlap_ms=0)
        assert since % 2 == 1 and {r.record_key for r in rows if r.changed_ms <= since} <= set(seen)
    assert sorted(seen) == sorted(r.record_key for r in rows) and len(seen) == len(set(seen))


def test_a_record_changed_after_the_pull_conflicts() -> None:
    log = {"images:a": Row("images:a", 50), "images:b": Row("images:b", 5)}
    assert rules.conflicts([("images:a", None), ("images:b", None), ("folders:new", None)], log, 10) == ["images:a"]


def test_a_change_within_the_overlap_of_a_whole_pull_was_seen() -> None:
    log = {"tags:sea": Row("tags:sea", 1095)}
    assert rules.conflicts([("tags:sea", None)], log, rules.seen_until(1000, 100)) == []
    assert rules.conflicts([("tags:sea", None)], log, rules.seen_until(1001, 100)) == ["tags:sea"]


def test_what_the_client_holds_moves_the_baseline() -> None:
    log = {"images:a": Row("images:a", 50)}
    assert rules.conflicts([("images:a", 50)], log, 10) == []
    assert rules.conflicts([("images:a", 49)], log, 10) == ["images:a"]
    assert rules.conflicts([("images:a", 3)], log, 10) == ["images:a"]  # older than the pull: the pull decides


def test_a_client_that_never_pulled_conflicts_with_every_logged_record() -> None:
    assert rules.conflicts([("tags:x", None)], {"tags:x": Row("tags:x", 0)}, rules.seen_until(None, 0)) == ["tags:x"]


def test_folders_delete_children_first_and_create_parents_first() -> None:
    parents = {"a": None, "b": "a", "c": "b"}
    assert rules.deepest_first(["a", "c", "b"], parents) == ["c", "b", "a"]
    made = rules.parents_first([{"id": "c", "parent_id": "b"}, {"id": "b", "parent_id": "a"}, {"id": "a"}])
    assert [r["id"] for r in made] == ["a", "b", "c"]


def test_a_cycle_in_pushed_folders_does_not_loop() -> None:
    made = rules.parents_first([{"id": "x", "parent_id": "y"}, {"id": "y", "parent_id": "x"}])
    assert sorted(r["id"] for r in made) == ["x", "y"]
