"""Count DynamoDB requests per operation (benchmarks and tests of the request budgets)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from chalicelib.store.models import ALL_MODELS


class RequestCounter:
    """Counts DynamoDB API calls through a botocore `before-send` event hook on every client."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.enabled = True

    def __call__(self, request: Any = None, **kwargs: Any) -> None:
        if not self.enabled:
            return
        target = (request.headers.get("X-Amz-Target") or b"").decode() if request is not None else ""
        with self._lock:
            self.calls[target.split(".")[-1] or "unknown"] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def install(self) -> None:
        for model in ALL_MODELS:
            model._get_connection().connection.client.meta.events.register("before-send.dynamodb.*", self)

    def uninstall(self) -> None:
        for model in ALL_MODELS:
            model._get_connection().connection.client.meta.events.unregister("before-send.dynamodb.*", self)
