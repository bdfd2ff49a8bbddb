"""Google Gemini image models through the official `google-genai` SDK.

Gemini image models (`gemini-2.5-flash-image`) answer `generate_content` with base64
`inlineData` parts and token usage; Imagen models (`imagen-*`) go through `generate_images`,
which this SDK serves in Vertex AI mode (GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION).

"The first Gemini job always fails": the client is built once per container with explicit
timeouts, the first call gets a longer one than later calls (cold connection and model warm-up
on Google's side), and the worker retries retryable errors with jittered backoff.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.generation.providers.base import GeneratedImage, ImageRequest, ProviderError
from chalicelib.generation.providers.common import CallTimeouts, code_for_status, image_size
from chalicelib.secrets import secret

BLOCKED = {"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_PROHIBITED_CONTENT"}
_PROMPTS = {
    "vary": "Make a {strength} variation of this image. {prompt}",
    "edit": "Edit this image: {prompt}",
    "style_transfer": "Repaint the first image in the style of the second image. {prompt}",
}


@dataclass(frozen=True)
class _Answer:
    """An image as a Gemini or Imagen call returned it, with its token usage."""

    data: bytes
    mime: str
    input_tokens: int = 0
    output_tokens: int = 0


class GeminiProvider:
    name = "gemini"

    def __init__(self) -> None:
        self._clients: dict[bool, Any] = {}
        self._lock = threading.Lock()
        self.timeouts = CallTimeouts("gemini")

    def client(self, vertex: bool) -> Any:
        if vertex not in self._clients:
            with self._lock:
                if vertex not in self._clients:
                    self._clients[vertex] = self._build(vertex)
        return self._clients[vertex]

    def _build(self, vertex: bool) -> Any:
        from google import genai
        from google.genai import types

        http = types.HttpOptions(base_url=os.environ.get("GEMINI_BASE_URL") or None, timeout=int(self.timeouts.later_s * 1000))
        if not vertex:
            return genai.Client(api_key=secret("GEMINI_API_KEY"), http_options=http)
        credentials = None
        if os.environ.get("GEMINI_STATIC_TOKEN"):  # the local fake: no Google account involved
            from google.oauth2.credentials import Credentials

            credentials = Credentials(token=os.environ["GEMINI_STATIC_TOKEN"])
        return genai.Client(
            vertexai=True,
            project=os.environ.get("GOOGLE_CLOUD_PROJECT"),
            location=os.environ.get("GOOGLE_CLOUD_LOCATION", "us-central1"),
            credentials=credentials,
            http_options=http,
        )

    def generate(self, request: ImageRequest) -> GeneratedImage:
        from google.genai import errors

        timeout_ms = int(self.timeouts.next() * 1000)
        started = time.perf_counter()
        try:
            answer = (
                self._imagen(request, timeout_ms) if request.model.startswith("imagen") else self._gemini(request, timeout_ms)
            )
        except errors.APIError as exc:
            code, retryable = code_for_status(exc.code)
            raise ProviderError(code, f"gemini: {exc.message or exc.status}", retryable=retryable, status=exc.code) from exc
        except ProviderError:
            raise
        except Exception as exc:  # httpx timeouts and connection errors surface as their own types
            error = _transport_error(exc)
            if error is None:
                raise
            raise error from exc
        self.timeouts.succeeded()
        elapsed = int((time.perf_counter() - started) * 1000)
        width, height = image_size(answer.data, request)
        return GeneratedImage(
            data=answer.data,
            content_type=answer.mime,
            width=width,
            height=height,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            provider_ms=elapsed,
            pixels=width * height,
        )

    def _imagen(self, request: ImageRequest, timeout_ms: int) -> _Answer:
        """Imagen models: `generate_images` (Vertex AI mode); no token usage."""
        from google.genai import types

        response = self.client(True).models.generate_images(
            model=request.model,
            prompt=request.prompt,
            config=types.GenerateImagesConfig(number_of_images=1, http_options=types.HttpOptions(timeout=timeout_ms)),
        )
        images = response.generated_images or []
        if not images or images[0].image is None or not images[0].image.image_bytes:
            reason = getattr(images[0], "rai_filtered_reason", None) if images else None
            raise ProviderError("content_blocked", f"gemini returned no image ({reason or 'filtered'})", retryable=False)
        return _Answer(images[0].image.image_bytes, images[0].image.mime_type or "image/png")

    def _gemini(self, request: ImageRequest, timeout_ms: int) -> _Answer:
        """Gemini image models: `generate_content` with the prompt and the input images."""
        from google.genai import types

        contents: list[Any] = [
            _PROMPTS.get(request.kind, "{prompt}").format(prompt=request.prompt, strength=request.strength or "subtle")
        ]
        for image in (request.source_image, request.style_image, request.mask_image):
            if image is not None:
                contents.append(types.Part.from_bytes(data=image, mime_type="image/png"))
        response = self.client(False).models.generate_content(
            model=request.model,
            contents=contents,
            config=types.GenerateContentConfig(response_modalities=["IMAGE"], http_options=types.HttpOptions(timeout=timeout_ms)),
        )
        data, mime = _image_of(response)
        usage = response.usage_metadata
        return _Answer(
            data, mime, int(getattr(usage, "prompt_token_count", 0) or 0), int(getattr(usage, "candidates_token_count", 0) or 0)
        )


def _transport_error(exc: Exception) -> ProviderError | None:
    """A retryable ProviderError for httpx timeouts and dropped connections (None: not one)."""
    name = type(exc).__name__
    if name in ("ReadTimeout", "ConnectTimeout", "TimeoutException", "WriteTimeout", "PoolTimeout"):
        return ProviderError("provider_timeout", f"gemini timed out: {exc}", retryable=True)
    if name in ("ConnectError", "RemoteProtocolError", "ReadError"):
        return ProviderError("provider_unavailable", f"gemini unreachable: {exc}", retryable=True)
    return None


def _image_of(response: Any) -> tuple[bytes, str]:
    feedback = getattr(response, "prompt_feedback", None)
    if feedback is not None and getattr(feedback, "block_reason", None):
        raise ProviderError("content_blocked", f"gemini blocked the prompt ({feedback.block_reason})", retryable=False)
    for candidate in response.candidates or []:
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.inline_data is not None and part.inline_data.data:
                return part.inline_data.data, part.inline_data.mime_type or "image/png"
        reason = str(getattr(candidate, "finish_reason", "") or "").split(".")[-1]
        if reason in BLOCKED:
            raise ProviderError("content_blocked", f"gemini withheld the image ({reason})", retryable=False)
    raise ProviderError("provider_error", "gemini returned no image", retryable=True)
