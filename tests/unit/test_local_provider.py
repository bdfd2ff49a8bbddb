"""The local provider: real, deterministic, prompt-dependent PNGs; fault injection on demand."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.generation.providers.base import ImageRequest, ProviderError
from chalicelib.generation.providers.local import LocalProvider, render
from chalicelib.settings import reset_settings


def _req(prompt: str = "a red fox", seed: int = 7, index: int = 0, **kw) -> ImageRequest:
    return ImageRequest(prompt=prompt, width=256, height=128, seed=seed, index=index, model="local-v1", **kw)


def test_same_prompt_and_seed_give_the_same_png() -> None:
    assert render(_req()) == render(_req())


def test_prompt_seed_and_index_change_the_picture() -> None:
    base = render(_req())
    assert render(_req(prompt="a blue fox")) != base
    assert render(_req(seed=8)) != base
    assert render(_req(index=1)) != base


def test_png_has_the_requested_size() -> None:
    with Image.open(io.BytesIO(render(_req()))) as image:
        assert image.format == "PNG" and image.size == (256, 128)


def test_usage_is_reported(monkeypatch) -> None:
    monkeypatch.setenv("FAULT_INJECTION", "false")
    reset_settings()
    image = LocalProvider().generate(_req())
    assert image.pixels == 256 * 128 and image.provider_ms >= 0 and image.content_type == "image/png"
    reset_settings()


def test_fault_injection(monkeypatch) -> None:
    monkeypatch.setenv("FAULT_INJECTION", "true")
    reset_settings()
    provider = LocalProvider()
    with pytest.raises(ProviderError) as final:
        provider.generate(_req(prompt="[fail:always] x"))
    assert not final.value.retryable
    with pytest.raises(ProviderError) as blocked:
        provider.generate(_req(prompt="[fail:safety] x"))
    assert blocked.value.code == "content_blocked"
    with pytest.raises(ProviderError) as transient:
        provider.generate(_req(prompt="[fail:transient] x", job_id="job_1"))
    assert transient.value.retryable
    assert provider.generate(_req(prompt="[fail:transient] x", job_id="job_1")).data  # second attempt works
    monkeypatch.setenv("FAULT_INJECTION", "false")
    reset_settings()
    assert provider.generate(_req(prompt="[fail:always] x")).data  # off in production stages
    reset_settings()
