"""Provider registry: adding a provider is one module plus one line here."""

from __future__ import annotations

import importlib
import threading

from chalicelib.bootstrap import on_reset
from chalicelib.generation.providers.base import GeneratedImage, ImageRequest, Provider, ProviderError

# name -> "module:factory"; modules import their SDKs lazily, on first use.
REGISTRY: dict[str, str] = {
    "local": "chalicelib.generation.providers.local:LocalProvider",
    "openai": "chalicelib.generation.providers.openai_images:OpenAIProvider",
    "gemini": "chalicelib.generation.providers.gemini:GeminiProvider",
}

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def get_provider(name: str) -> Provider:
    """The provider called `name`, built once per container (clients reused across jobs)."""
    provider = _instances.get(name)
    if provider is not None:
        return provider
    with _lock:
        if name not in _instances:
            module_name, _, factory = REGISTRY[name].partition(":")
            _instances[name] = getattr(importlib.import_module(module_name), factory)()
        return _instances[name]


@on_reset
def reset_providers() -> None:
    """Forget built providers (tests change settings)."""
    with _lock:
        _instances.clear()


__all__ = ["REGISTRY", "GeneratedImage", "ImageRequest", "Provider", "ProviderError", "get_provider", "reset_providers"]
