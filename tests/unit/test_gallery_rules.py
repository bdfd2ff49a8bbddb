"""The gallery's pure rules: collection edits, covers, orders, facets, ranks, and the merge of
sharded listings (against a brute-force sort, with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.gallery import rules
from chalicelib.gallery.rules import Items, RuleError


def test_adding_is_idempotent_keeps_the_order_and_sets_a_first_cover() -> None:
    items, added = rules.add(Items((), None), ["b", "a", "b"])
    assert items == Items(("b", "a"), "b") and added == ["b", "a"]
    again, added = rules.add(items, ["a", "c"])
    assert again == Items(("b", "a", "c"), "b") and added == ["c"]


def test_a_full_collection_refuses_the_whole_add(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "MAX_ITEMS", 3)
    with pytest.raises(RuleError) as refused:
        rules.add(Items(("a", "b"), "a"), ["c", "d"])
    assert refused.value.kind == "conflict" and "1 more fit" in str(refused.value)
    assert rules.add(Items(("a", "b"), "a"), ["a", "b", "c"])[0].ids == ("a", "b", "c")


def test_removing_the_cover_promotes_the_first_item() -> None:
    assert rules.remove(Items(("a", "b", "c"), "b"), "b") == Items(("a", "c"), "a")
    assert rules.remove(Items(("a", "b"), "b"), "a") == Items(("b",), "b")
    assert rules.remove(Items(("a",), "a"), "a") == Items((), None)
    with pytest.raises(RuleError) as missing:
        rules.remove(Items(("a",), "a"), "z")
    assert missing.value.kind == "not_found"


def test_an_order_is_exactly_the_items_and_purged_ones_may_be_left_out() -> None:
    items = Items(("a", "b", "c"), "c")
    assert rules.reorder(items, ["c", "a", "b"]) == Items(("c", "a", "b"), "c")
    for given_order, kind in ((["a", "b"], "conflict"), (["a", "b", "c", "d"], "conflict"), (["a", "a", "b", "c"], "invalid")):
        with pytest.raises(RuleError) as refused:
            rules.reorder(items, given_order)
        assert refused.value.kind == kind and refused.value.field == "image_ids"
    assert rules.reorder(items, ["b", "a"], gone=["c"]) == Items(("b", "a"), "b")  # the cover was purged


def test_a_cover_must_be_an_item() -> None:
    assert rules.set_cover(Items(("a", "b"), "a"), "b").cover == "b"
    assert rules.set_cover(Items(("a",), "a"), None).cover is None
    with pytest.raises(RuleError):
        rules.set_cover(Items(("a",), "a"), "z")


@pytest.mark.parametrize("raw", ["", "   ", "x" * 101, "tab\x07bell"])
def test_names_are_refused(raw: str) -> None:
    with pytest.raises(RuleError):
        rules.collection_name(raw)


def test_names_and_descriptions_are_tidied() -> None:
    assert rules.collection_name("  Summer \n  trip ") == "Summer trip"
    assert rules.description("  line one\nline two  ") == "line one\nline two"
    assert rules.description("   ") is None
    with pytest.raises(RuleError):
        rules.description("d" * 1001)


def test_only_publishing_visibilities_need_manage() -> None:
    assert [v for v in rules.VISIBILITIES if rules.needs_manage(v)] == ["unlisted", "public"]


def test_the_creator_handle_is_stable_opaque_and_distinct() -> None:
    one, two = rules.creator_handle("ws_A"), rules.creator_handle("ws_B")
    assert one == rules.creator_handle("ws_A") and one != two and "ws_A" not in one and one.startswith("cr_")
    assert rules.client_key("203.0.113.9") != rules.client_key("203.0.113.8") and "203" not in rules.client_key("203.0.113.9")


def test_facets_and_the_most_selective_index() -> None:
    assert rules.facets(["sea"], ["fox", "snow"], "local", "local-v1") == [
        "all", "model:local-v1", "provider:local", "tag:sea", "word:fox", "word:snow",
    ]  # fmt: skip
    assert rules.Query(tag="sea", words=("fox",)).facet() == "tag:sea"
    assert rules.Query(words=("fox", "lighthouse")).facet() == "word:lighthouse"
    assert rules.Query(provider="openai", model="gpt-image-1").facet() == "model:gpt-image-1"
    assert rules.Query().facet() == "all" and not rules.Query().filtered()
    assert not rules.Query(tag="sea").filtered() and rules.Query(tag="sea", provider="local").filtered()
    assert rules.Query(sort="top", tag="sea").filtered()  # "top" reads the likes order: every filter is re-checked


def test_rank_keys_order_by_likes_then_newest() -> None:
    keys = [rules.rank_key(2, "pub_B"), rules.rank_key(10, "pub_A"), rules.rank_key(2, "pub_C"), rules.rank_key(0, "pub_Z")]
    assert sorted(keys, reverse=True) == [keys[1], keys[2], keys[0], keys[3]]


def test_reranks_are_due_at_powers_of_two_only() -> None:
    assert [n for n in range(20) if rules.rerank_due(n)] == [1, 2, 4, 8, 16]


def test_matches_reads_the_row() -> None:
    query = rules.Query(words=("fox",), tag="sea", provider="local")
    assert rules.matches(query, ["sea"], "Red fox", None, "local", "m")
    assert not rules.matches(query, ["sea"], None, "a cat", "local", "m")
    assert not rules.matches(query, [], "fox", None, "local", "m")
    assert not rules.matches(query, ["sea"], "fox", None, "openai", "m")


def _page(shards: list[list[str]], keep: set[str], limit: int, window: int, before: str | None) -> tuple[list[str], str | None]:
    """One page as DynamoGallerySearch.page makes it: each shard's `window` keys below the
    position, merged with `ready`, every merged key checked (`keep`: the re-check on the row)."""
    found: list[str] = []
    for _ in range(3):
        pages = []
        for keys in shards:
            below = sorted((k for k in keys if before is None or k < before), reverse=True)
            pages.append(rules.ShardPage(tuple(below[:window]), len(below) > window))
        merged, edge = rules.ready(pages)
        if not merged:
            return found, None
        for n, key in enumerate(merged):
            if key in keep:
                found.append(key)
            if len(found) == limit:
                return found, key if (n + 1 < len(merged) or edge is not None) else None
        if edge is None:
            return found, None
        before = merged[-1]
    return found, before


def _pages(shards: list[list[str]], keep: set[str], limit: int, window: int) -> list[str]:
    shown: list[str] = []
    before: str | None = None
    for _ in range(10_000):
        page, before = _page(shards, keep, limit, window, before)
        assert len(page) <= limit
        shown += page
        if before is None:
            return shown
    raise AssertionError("did not end")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 10_000), max_size=40), min_size=1, max_size=8),
    st.integers(1, 12),
    st.integers(1, 15),
    st.integers(1, 4),
)
def test_merging_shards_pages_through_everything_once_in_order(raw: list[list[int]], limit: int, window: int, every: int) -> None:
    shards = [sorted({f"{n:05d}#{s}" for n in keys}) for s, keys in enumerate(raw)]
    keep = {k for keys in shards for k in keys if int(k[:5]) % every == 0}
    assert _pages(shards, keep, limit, max(window, limit + 1)) == sorted(keep, reverse=True)
