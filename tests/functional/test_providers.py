"""Gemini and OpenAI adapters against local provider_fakes of their real wire formats: usage mapping,
error classification, safety blocks, and "the first Gemini job always fails" reproduced."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.generation.providers import get_provider, reset_providers
from chalicelib.generation.providers.base import ImageRequest, ProviderError


def req(prompt: str = "a red fox", model: str = "gpt-image-1", **kw) -> ImageRequest:
    return ImageRequest(prompt=prompt, width=1024, height=1024, seed=1, index=0, model=model, job_id="job_x", **kw)


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_openai_generation_maps_usage(provider_fakes):
    image = get_provider("openai").generate(req())
    assert _png_size(image.data) == (1024, 1024)
    assert image.input_tokens == 3 and image.output_tokens == 4160 and image.provider_ms >= 0
    assert provider_fakes.requests[-1]["headers"]["Authorization"] == "Bearer sk-test-fake"


def test_openai_edit_sends_source_and_mask(provider_fakes):
    source = get_provider("openai").generate(req()).data
    image = get_provider("openai").generate(
        req("make it snow", kind="vary", source_image=source, strength="strong", mask_image=source)
    )
    assert provider_fakes.requests[-1]["path"].endswith("/images/edits")
    assert image.input_tokens > 300  # the image inputs are counted


@pytest.mark.parametrize(
    ("marker", "code", "retryable"),
    [
        ("[fake:429_once]", "provider_rate_limited", True),
        ("[fake:503_once]", "provider_unavailable", True),
        ("[fake:safety]", "content_blocked", False),
        ("[fake:400]", "invalid_provider_request", False),
    ],
)
def test_openai_errors_are_classified(provider_fakes, marker, code, retryable):
    with pytest.raises(ProviderError) as error:
        get_provider("openai").generate(req(f"fox {marker}"))
    assert error.value.code == code and error.value.retryable is retryable
    if marker == "[fake:429_once]":
        assert error.value.retry_after_s == 1.0


def test_gemini_generation_maps_usage(provider_fakes):
    image = get_provider("gemini").generate(req(model="gemini-2.5-flash-image"))
    assert _png_size(image.data) == (1024, 1024)
    assert image.output_tokens == 1290 and image.input_tokens >= 1
    assert provider_fakes.requests[-1]["headers"]["X-Goog-Api-Key"] == "gemini-test-fake"


def test_gemini_edit_sends_the_source_image(provider_fakes):
    source = get_provider("gemini").generate(req(model="gemini-2.5-flash-image")).data
    image = get_provider("gemini").generate(req("add snow", model="gemini-2.5-flash-image", kind="edit", source_image=source))
    assert image.input_tokens > 258


def test_imagen_through_generate_images(provider_fakes):
    image = get_provider("gemini").generate(req(model="imagen-4.0-generate-001"))
    assert _png_size(image.data) == (1024, 1024)
    assert ":predict" in provider_fakes.requests[-1]["path"]


@pytest.mark.parametrize(
    ("marker", "code", "retryable"),
    [
        ("[fake:429_once]", "provider_rate_limited", True),
        ("[fake:503_once]", "provider_unavailable", True),
        ("[fake:safety]", "content_blocked", False),
        ("[fake:400]", "invalid_provider_request", False),
    ],
)
@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "imagen-4.0-generate-001"])
def test_gemini_errors_are_classified(provider_fakes, marker, code, retryable, model):
    with pytest.raises(ProviderError) as error:
        get_provider("gemini").generate(req(f"fox {marker}", model=model))
    assert error.value.code == code and error.value.retryable is retryable


def test_slow_first_gemini_call_succeeds_thanks_to_the_first_call_timeout(provider_fakes, monkeypatch):
    """The roadmap's "first Gemini job always fails": a cold first call slower than a normal
    timeout. With one timeout for every call it fails; with a longer first-call budget it works."""
    monkeypatch.setenv("GEMINI_TIMEOUT_S", "1")
    monkeypatch.setenv("GEMINI_FIRST_CALL_TIMEOUT_S", "1")
    reset_providers()
    with pytest.raises(ProviderError) as error:
        get_provider("gemini").generate(req("cold [fake:slow_first:1500]", model="gemini-2.5-flash-image"))
    assert error.value.code == "provider_timeout" and error.value.retryable
    provider_fakes.first_done = False
    monkeypatch.setenv("GEMINI_FIRST_CALL_TIMEOUT_S", "5")
    reset_providers()
    provider = get_provider("gemini")
    image = provider.generate(req("cold [fake:slow_first:1500]", model="gemini-2.5-flash-image"))
    assert image.data and provider.timeouts.next() == 1.0  # warm now: later calls use the normal timeout
