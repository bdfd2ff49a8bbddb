"""The composition root: what every entry point does before its first piece of work, and the one
reset that forgets every per-container cache (tests, the local stack switching endpoints).

Entry points (the API middleware, the workers, the schedules, the CLI) call `ready()`: it binds
the table models to the settings' prefix and endpoint, once per container and cheaply after.
Modules that keep something per container (clients, learned counts, secrets, Powertools
runners) register how to forget it with `@on_reset`; `reset()` runs them all, so a test never
has to know which caches exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.lazy import lazy_module

if TYPE_CHECKING:
    import chalicelib.store as _store
else:
    _store = lazy_module("chalicelib.store")  # pynamodb: only when an entry point gets ready

_resets: list[Callable[[], None]] = []


def on_reset(forget: Callable[[], None]) -> Callable[[], None]:
    """Register a cache's reset (used as a decorator on the module's `reset` function)."""
    if forget not in _resets:
        _resets.append(forget)
    return forget


def ready() -> None:
    """Bind the table models to the current settings (cheap when nothing changed)."""
    _store.bind_models()


def reset() -> None:
    """Forget settings, clients, secrets and every registered per-container cache."""
    for forget in list(_resets):
        forget()
    ready()
