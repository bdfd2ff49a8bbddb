"""The prebuilt catalogue: prompts shipped with the code (`prebuilt.json`), read once per
container and kept in memory, so listing and searching it costs no database request.

Each entry is checked by the same rules as a custom template when it is loaded (a unit test
loads them all), so a bad entry fails the tests, never a request.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib import clock
from chalicelib.templates import rules
from chalicelib.templates.records import Pins, TemplateRecord

SOURCE = Path(__file__).with_name("prebuilt.json")


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, TemplateRecord]:
    data = json.loads(SOURCE.read_text(encoding="utf-8"))
    created = clock.parse_iso(data["created_at"])
    records = [_record(entry, created) for entry in data["templates"]]
    return {record.template_id: record for record in sorted(records, key=lambda r: r.template_id, reverse=True)}


def _record(entry: dict[str, Any], created: Any) -> TemplateRecord:
    variables = rules.declare(entry["variables"])
    rules.check_template(entry["prompt"], variables)
    return TemplateRecord(
        template_id=entry["id"],
        version=1,
        latest_version=1,
        name=entry["name"],
        prompt=entry["prompt"],
        variables=variables,
        tags=tuple(entry.get("tags", ())),
        visibility="public",
        pins=Pins(entry.get("provider"), entry.get("model"), entry.get("size"), entry.get("n")),
        workspace_id=None,
        created_by=None,
        created_at=created,
        updated_at=created,
    )


def prebuilt() -> list[TemplateRecord]:
    """Every prebuilt template, newest first (by id)."""
    return list(_catalogue().values())


def find(template_id: str) -> TemplateRecord | None:
    """A prebuilt template by id, or None."""
    return _catalogue().get(template_id)
