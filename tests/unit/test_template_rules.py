"""The template rules, pure: declarations, slots, the value matrix and rendering without injection."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.templates import rules, search
from chalicelib.templates.errors import InvalidTemplate, InvalidVariables

VARIABLES = rules.declare(
    {
        "text": {"type": "string", "max_length": 5},
        "choice": {"type": "enum", "enum": ["a", "b"], "default": "a"},
        "count": {"type": "integer", "min": -2, "max": 2},
    }
)


def test_declarations_get_their_defaults():
    assert VARIABLES["text"].as_dict() == {"type": "string", "max_length": 5}
    assert rules.declare_one("x", {"type": "string"}).max_length == rules.DEFAULT_MAX_LENGTH
    assert rules.declare_one("n", {"type": "integer"}).as_dict() == {"type": "integer", "min": -(10**9), "max": 10**9}
    assert VARIABLES["choice"].as_dict() == {"type": "enum", "default": "a", "enum": ["a", "b"]}


@pytest.mark.parametrize(
    ("name", "spec", "field"),
    [
        ("Bad", {"type": "string"}, "variables.Bad"),
        ("9lives", {"type": "string"}, "variables.9lives"),
        ("x" * 41, {"type": "string"}, "variables." + "x" * 41),
        ("ok", {"type": "float"}, "variables.ok.type"),
        ("ok", {}, "variables.ok.type"),
        ("ok", {"type": "string", "max_length": 0}, "variables.ok.max_length"),
        ("ok", {"type": "string", "max_length": True}, "variables.ok.max_length"),
        ("ok", {"type": "string", "min": 1}, "variables.ok.min"),
        ("ok", {"type": "string", "default": ""}, "variables.ok.default"),
        ("ok", {"type": "enum", "enum": ["a", " "]}, "variables.ok.enum"),
        ("ok", {"type": "enum", "enum": "ab"}, "variables.ok.enum"),
        ("ok", {"type": "enum", "enum": ["a"], "max_length": 3}, "variables.ok.max_length"),
        ("ok", {"type": "integer", "min": 2**40}, "variables.ok.min"),
        ("ok", {"type": "integer", "max": 1.5}, "variables.ok.max"),
        ("ok", {"type": "integer", "min": 3, "max": 2}, "variables.ok.min"),
        ("ok", {"type": "integer", "default": "1"}, "variables.ok.default"),
        ("ok", {"type": "integer", "enum": ["1"]}, "variables.ok.enum"),
    ],
)
def test_bad_declarations_name_their_attribute(name: str, spec: dict[str, Any], field: str):
    with pytest.raises(InvalidTemplate) as caught:
        rules.declare_one(name, spec)
    assert caught.value.details["field"] == field


def test_too_many_variables():
    with pytest.raises(InvalidTemplate):
        rules.declare({f"v{i}": {"type": "string"} for i in range(rules.MAX_VARIABLES + 1)})


@pytest.mark.parametrize(
    ("prompt", "slots"),
    [("a {x} b {y} {x}", ["x", "y"]), ("{{x}} {y}", ["y"]), ("no slots", []), ("{{{x}}}", ["x"]), ("}}{{", [])],
)
def test_slots(prompt: str, slots: list[str]):
    assert rules.slots(prompt) == slots


@pytest.mark.parametrize("prompt", ["{", "}", "a {x", "x}", "{ x }", "{X}", "{x.y}", "{x[0]}", "{x!r}", "{x:>3}", "{}", "{0}"])
def test_a_brace_that_is_not_a_slot_is_refused(prompt: str):
    with pytest.raises(InvalidTemplate) as caught:
        rules.slots(prompt)
    assert caught.value.details["field"] == "prompt"


def test_slots_and_declarations_must_agree_and_fit():
    rules.check_template("{text} {choice} {count}", VARIABLES)
    with pytest.raises(InvalidTemplate, match="not a declared variable"):
        rules.check_template("{text} {choice} {count} {other}", VARIABLES)
    with pytest.raises(InvalidTemplate) as caught:
        rules.check_template("{text} {choice}", VARIABLES)
    assert caught.value.details["field"] == "variables.count"
    long = rules.declare({"t": {"type": "string", "max_length": 1000}})
    rules.check_template("{t}" * 4, long)
    with pytest.raises(InvalidTemplate, match="4001"):
        rules.check_template("{t}" * 4 + "x", long)


MATRIX: list[tuple[dict[str, Any], str]] = [
    ({"choice": "a", "count": 1}, "variables.text"),  # missing, no default
    ({"text": 1, "count": 1}, "variables.text"),  # wrong type
    ({"text": "toolong", "count": 1}, "variables.text"),  # too long
    ({"text": " ", "count": 1}, "variables.text"),  # blank
    ({"text": None, "count": 1}, "variables.text"),
    ({"text": "x", "choice": "c", "count": 1}, "variables.choice"),  # unknown enum value
    ({"text": "x", "choice": 1, "count": 1}, "variables.choice"),
    ({"text": "x"}, "variables.count"),  # missing
    ({"text": "x", "count": "1"}, "variables.count"),  # a numeric string is not an integer
    ({"text": "x", "count": True}, "variables.count"),  # nor is a boolean
    ({"text": "x", "count": 1.0}, "variables.count"),
    ({"text": "x", "count": 3}, "variables.count"),  # above max
    ({"text": "x", "count": -3}, "variables.count"),  # below min
    ({"text": "x", "count": 1, "more": "y"}, "variables.more"),  # not a variable
]


@pytest.mark.parametrize(("given", "field"), MATRIX)
def test_the_value_matrix(given: dict[str, Any], field: str):
    with pytest.raises(InvalidVariables) as caught:
        rules.resolve(VARIABLES, given)
    assert caught.value.details["field"] == field


def test_defaults_fill_what_is_not_given():
    assert rules.resolve(VARIABLES, {"text": "x", "count": -2}) == {"text": "x", "choice": "a", "count": -2}


def test_an_unknown_name_is_reported_before_a_missing_one():
    with pytest.raises(InvalidVariables) as caught:
        rules.resolve(VARIABLES, {"zzz": 1})
    assert caught.value.details["field"] == "variables.zzz"


_TEXT = st.text(st.sampled_from("{}ab $%()_x!:.[]0"), min_size=1, max_size=20).filter(lambda s: s.strip())


@given(first=_TEXT, second=_TEXT)
def test_values_are_substituted_once_and_never_parsed(first: str, second: str):
    variables = rules.declare({"a": {"type": "string", "max_length": 20}, "b": {"type": "string", "max_length": 20}})
    prompt = "<{a}|{{b}}|{b}>"
    rules.check_template(prompt, variables)
    assert rules.render(prompt, rules.resolve(variables, {"a": first, "b": second})) == f"<{first}|{{b}}|{second}>"


def test_search_words_leave_slot_names_out():
    assert search.template_words("Fox Den", "A {animal} in the SNOW, 4k") == ["fox", "den", "a", "in", "the", "snow", "4k"]
    assert search.matches(["snow", "fox"], None, ["fox", "snow"], ())
    assert not search.matches(["animal"], None, search.template_words("x", "{animal}"), ())
    assert not search.matches([], "pet", ["a"], ("cat",))
