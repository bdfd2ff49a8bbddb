"""e2e fixtures: the local stack, started once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, start_stack, stop_stack, wait_for

__all__ = ["Stack", "start_stack", "stop_stack", "wait_for"]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = start_stack()
    yield s
    stop_stack(s)
