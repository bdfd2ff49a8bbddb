"""The prebuilt catalogue: enough good prompts, each valid by the same rules as a custom one."""

from __future__ import annotations

import json
from collections import Counter

from chalicelib import ids
from chalicelib.accounting.prices import MODELS
from chalicelib.api.schemas import Size
from chalicelib.templates import catalogue, rules, search


def test_at_least_thirty_valid_templates_with_unique_ids():
    templates = catalogue.prebuilt()
    assert len(templates) >= 30
    assert len({t.template_id for t in templates}) == len(templates)
    assert len({t.name for t in templates}) == len(templates)
    for t in templates:
        assert ids.is_id(t.template_id, "tpl"), t.template_id
        assert t.variables and rules.slots(t.prompt) == list(t.variables), t.name
        assert 2 <= len(t.tags) <= 10 and all(search.TAG.fullmatch(tag) for tag in t.tags), t.name
        assert t.pins.size is None or t.pins.size in Size.__args__  # type: ignore[attr-defined]
        assert t.pins.model is None or (t.pins.provider, t.pins.model) in MODELS


def test_every_template_renders_with_its_defaults_and_simple_values():
    for t in catalogue.prebuilt():
        given = {
            name: ("a fox" if v.type == "string" else v.enum[0] if v.type == "enum" else v.minimum)
            for name, v in t.variables.items()
        }
        prompt = rules.render(t.prompt, rules.resolve(t.variables, given))
        assert "{" not in prompt and len(prompt) <= rules.MAX_PROMPT_CHARS, t.name


def test_the_catalogue_spans_styles_and_variable_types():
    templates = catalogue.prebuilt()
    tags = Counter(tag for t in templates for tag in t.tags)
    assert len(tags) >= 40 and tags["photo"] >= 5
    types = Counter(v.type for t in templates for v in t.variables.values())
    assert min(types["string"], types["enum"], types["integer"]) >= 5


def test_the_file_is_the_source_newest_first():
    raw = json.loads(catalogue.SOURCE.read_text(encoding="utf-8"))["templates"]
    assert [t.template_id for t in catalogue.prebuilt()] == sorted((e["id"] for e in raw), reverse=True)
    assert catalogue.find(raw[0]["id"]) is not None and catalogue.find("tpl_nope") is None
