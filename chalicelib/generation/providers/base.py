"""The provider interface every adapter (local, gemini, openai, ...) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ImageRequest:
    """One image to make; the worker asks for a job's n images concurrently."""

    prompt: str
    width: int
    height: int
    seed: int
    index: int
    model: str
    kind: str = "generate"
    source_image: bytes | None = None
    mask_image: bytes | None = None
    style_image: bytes | None = None
    strength: str | None = None
    job_id: str = ""
    correlation_id: str | None = None
    timeout_s: float = 60.0
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratedImage:
    """An image as the provider returned it, with the usage it reported."""

    data: bytes
    content_type: str
    width: int
    height: int
    input_tokens: int = 0
    output_tokens: int = 0
    provider_ms: int = 0
    pixels: int = 0


class ProviderError(Exception):
    """A provider failure, already classified: retryable (429/5xx/timeouts) or final."""

    def __init__(
        self, code: str, message: str, *, retryable: bool, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


class Provider(Protocol):
    """Makes one image per call; must be thread-safe (calls run concurrently)."""

    name: str

    def generate(self, request: ImageRequest) -> GeneratedImage: ...
