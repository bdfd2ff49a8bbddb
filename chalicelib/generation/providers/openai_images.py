"""OpenAI `gpt-image-1` through the official SDK: generations, and edits for vary/edit/style.

Responses carry `b64_json` images and token usage (input/output), which become the ledger's
tokens and, through the price model, `cost_micro_usd`.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from typing import Any

from chalicelib.generation.providers.base import GeneratedImage, ImageRequest, ProviderError
from chalicelib.generation.providers.common import CallTimeouts, code_for_status, image_size, retry_after
from chalicelib.secrets import secret

_PROMPTS = {
    "vary": "Create a {strength} variation of this image. {prompt}",
    "edit": "{prompt}",
    "style_transfer": "Repaint the first image in the style of the second image. {prompt}",
}
OPENAI_SIZES = {"1024x1024", "1024x1536", "1536x1024"}
BLOCKED_CODES = ("moderation_blocked", "content_policy_violation")


class OpenAIProvider:
    name = "openai"

    def __init__(self) -> None:
        self._client: Any = None
        self._lock = threading.Lock()
        self.timeouts = CallTimeouts("openai")

    def client(self) -> Any:
        """One client per container: its connection pool is reused by every job."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import openai

                    self._client = openai.OpenAI(
                        api_key=secret("OPENAI_API_KEY"), base_url=os.environ.get("OPENAI_BASE_URL") or None, max_retries=0
                    )  # the worker retries, with jittered backoff
        return self._client

    def generate(self, request: ImageRequest) -> GeneratedImage:
        import openai

        client = self.client().with_options(timeout=self.timeouts.next())
        started = time.perf_counter()
        try:
            response = _call(client, request)
        except (openai.APITimeoutError, openai.APIConnectionError, openai.APIStatusError) as exc:
            raise _provider_error(exc) from exc
        self.timeouts.succeeded()
        elapsed = int((time.perf_counter() - started) * 1000)
        if not response.data or not response.data[0].b64_json:
            raise ProviderError("provider_error", "openai returned no image", retryable=True)
        data = base64.b64decode(response.data[0].b64_json)
        usage = response.usage
        width, height = image_size(data, request)
        return GeneratedImage(
            data=data,
            content_type="image/png",
            width=width,
            height=height,
            input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
            provider_ms=elapsed,
            pixels=width * height,
        )


def _call(client: Any, request: ImageRequest) -> Any:
    """A generation, or an edit when the job starts from images (vary, edit, style transfer)."""
    size = f"{request.width}x{request.height}"
    size = size if size in OPENAI_SIZES else "auto"
    if request.kind == "generate" or request.source_image is None:
        return client.images.generate(model=request.model, prompt=request.prompt, n=1, size=size)
    images = [("source.png", request.source_image, "image/png")]
    if request.style_image:
        images.append(("style.png", request.style_image, "image/png"))
    prompt = _PROMPTS.get(request.kind, "{prompt}").format(prompt=request.prompt, strength=request.strength or "subtle")
    kwargs: dict[str, Any] = {"model": request.model, "image": images, "prompt": prompt, "n": 1, "size": size}
    if request.mask_image is not None:
        kwargs["mask"] = ("mask.png", request.mask_image, "image/png")
    return client.images.edit(**kwargs)


def _provider_error(exc: Any) -> ProviderError:
    """The SDK's error, classified: timeouts and connection errors retry; statuses by code."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("provider_timeout", f"openai timed out: {exc}", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("provider_unavailable", f"openai unreachable: {exc}", retryable=True)
    code, retryable = code_for_status(exc.status_code)
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    if exc.status_code == 400 and (error or {}).get("code") in BLOCKED_CODES:
        code = "content_blocked"
    return ProviderError(
        code,
        f"openai: {exc.message}",
        retryable=retryable,
        status=exc.status_code,
        retry_after_s=retry_after(exc.response.headers),
    )
