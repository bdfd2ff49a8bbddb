"""Modules bound when a route module is imported, loaded when a route first uses them.

`import app` must stay a fraction of a bare `import boto3` (DESIGN.md, cold start): the route
table is declared at import, but the services behind the routes load pynamodb (so botocore) and
pydantic, which the first request pays for instead. A route module therefore binds its services,
request schemas and response models with `lazy_module(...)` (under `TYPE_CHECKING` it imports
them for real, so the types are checked as usual) and calls them as `service.create_job(...)`.
Loading goes through `importlib.import_module`, under the import lock: safe from threads.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    """A stand-in that imports the real module at its first attribute access."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_target"] = name

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__dict__["_lazy_target"])
        return getattr(module, attribute)


def lazy_module(name: str) -> Any:
    """`name`, bound now and imported on first use (the real module if it is already loaded)."""
    import sys

    loaded = sys.modules.get(name)
    return loaded if loaded is not None else _LazyModule(name)
