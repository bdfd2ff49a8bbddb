"""Browser fixtures: the seeded local stack and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (installed by
scripts/ensure-chromium.sh from `make test`) with the flags a closed network needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.stack import ROOT, Stack, start_stack, stop_stack

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Seeded:
    stack: Stack
    workspaces: list[dict[str, str]]

    def by_name(self, name: str) -> dict[str, str]:
        return next(w for w in self.workspaces if w["name"] == name)


@pytest.fixture(scope="session")
def seeded_stack() -> Iterator[Seeded]:
    """The whole local stack started seeded (SEED_DEMO=1): two workspaces, two weeks of jobs."""
    stack = start_stack({"SEED_DEMO": "1", "SEED_DAYS": "14"})
    pattern = re.compile(r"^\[seed\] (?P<name>.+) \((?P<plan>\w+)\): (?P<id>ws_\w+) api key (?P<key>\S+)$")
    workspaces = []
    for line in stack.lines:
        match = pattern.match(line.strip())
        if match:
            workspaces.append(
                {"name": match["name"], "plan": match["plan"], "workspace_id": match["id"], "api_key": match["key"]}
            )
    assert len(workspaces) == 2, "".join(stack.lines)
    yield Seeded(stack, workspaces)
    stop_stack(stack)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, seeded_stack: Seeded) -> Iterator[Any]:
    context = browser.new_context(
        base_url=seeded_stack.stack.base, accept_downloads=True, viewport={"width": 1400, "height": 1000}, timezone_id="UTC"
    )
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    # Expected 4xx answers log a console error ("Failed to load resource"); scripts must not throw.
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
