"""What the remote adapters share: timeouts that allow a slow first call, and error mapping."""

from __future__ import annotations

import io
import os
import threading

from chalicelib.generation.providers.base import ImageRequest


class CallTimeouts:
    """The first call of a container may be slow (cold connections, model loading on the
    provider's side): it gets a longer timeout than the calls after it."""

    def __init__(self, name: str) -> None:
        prefix = name.upper()
        first_default = os.environ.get("PROVIDER_FIRST_CALL_TIMEOUT_S", "120")
        self.first_s = float(os.environ.get(f"{prefix}_FIRST_CALL_TIMEOUT_S", first_default))
        self.later_s = float(os.environ.get(f"{prefix}_TIMEOUT_S", os.environ.get("PROVIDER_TIMEOUT_S", "60")))
        self._warm = False
        self._lock = threading.Lock()

    def next(self) -> float:
        with self._lock:
            return self.later_s if self._warm else self.first_s

    def succeeded(self) -> None:
        with self._lock:
            self._warm = True


RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def code_for_status(status: int | None) -> tuple[str, bool]:
    """Our error code and whether it is worth retrying, for a provider HTTP status."""
    if status == 429:
        return "provider_rate_limited", True
    if status in RETRYABLE_STATUS:
        return "provider_unavailable", True
    if status in (401, 403):
        return "provider_auth_failed", False
    return "invalid_provider_request", False


def retry_after(headers: object) -> float | None:
    try:
        value = headers.get("retry-after")  # type: ignore[attr-defined]
    except AttributeError:
        return None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def image_size(data: bytes, request: ImageRequest) -> tuple[int, int]:
    """The real size of what came back (a provider may not honour the requested size)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # not decodable: report what was asked; storage keeps the bytes as they are
        return request.width, request.height
