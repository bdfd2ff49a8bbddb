"""The `local` provider: real, prompt-dependent PNGs made with Pillow, no network.

Deterministic for a given (prompt, seed, index). A configurable latency stands in for a
remote model; failure injection (only when settings.fault_injection is on) lets tests make
calls fail: put `[fail:transient]` (first attempt of each image fails, retryable),
`[fail:always]` (final provider error), `[fail:safety]` (a safety block) or
`[slow:<ms>]` in the prompt.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import threading
import time

from chalicelib.accounting.prices import TRAINED_PREFIX
from chalicelib.generation.providers.base import GeneratedImage, ImageRequest, ProviderError
from chalicelib.generation.tools import style_blend
from chalicelib.settings import get_settings

_DIRECTIVE = re.compile(r"\[(fail|slow):([a-z0-9_]+)\]")


class LocalProvider:
    name = "local"

    def __init__(self) -> None:
        self._failed_once: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def _inject(self, request: ImageRequest) -> None:
        if not get_settings().fault_injection:
            return
        for kind, arg in _DIRECTIVE.findall(request.prompt):
            if kind == "slow":
                time.sleep(int(arg) / 1000)
            elif arg == "always":
                raise ProviderError("provider_error", "injected provider failure", retryable=False, status=500)
            elif arg == "safety":
                raise ProviderError("content_blocked", "the prompt was blocked by the safety filter", retryable=False, status=400)
            elif arg == "transient":
                key = (request.job_id, request.index)
                with self._lock:
                    first = key not in self._failed_once
                    self._failed_once.add(key)
                if first:
                    raise ProviderError("provider_unavailable", "injected transient failure", retryable=True, status=503)

    def generate(self, request: ImageRequest) -> GeneratedImage:
        started = time.perf_counter()
        latency = get_settings().local_provider_latency_ms
        if latency:
            time.sleep(latency / 1000)
        self._inject(request)
        if request.kind == "style_transfer" and request.source_image and request.style_image:
            data = style_blend(
                request.source_image,
                request.style_image,
                request.width,
                request.height,
                0.25 if request.strength == "subtle" else 0.45,
            )
        else:
            data = render(request)
        if request.model.startswith(TRAINED_PREFIX):
            data = _with_trained_style(data, request)
        elapsed = int((time.perf_counter() - started) * 1000)
        return GeneratedImage(
            data=data,
            content_type="image/png",
            width=request.width,
            height=request.height,
            provider_ms=elapsed,
            pixels=request.width * request.height,
        )


def render(request: ImageRequest) -> bytes:
    """Draw a deterministic picture of the prompt (gradient, shapes, caption) as PNG."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(f"{request.prompt}|{request.seed}|{request.index}|{request.kind}".encode()).digest()
    rng = random.Random(digest)
    w, h = request.width, request.height
    top = tuple(digest[0:3])
    bottom = tuple(digest[3:6])
    gradient = Image.linear_gradient("L").resize((w, h))
    image = Image.composite(Image.new("RGB", (w, h), bottom), Image.new("RGB", (w, h), top), gradient)
    if request.source_image:
        with Image.open(io.BytesIO(request.source_image)) as source:
            base = source.convert("RGB").resize((w, h))
        blend = 0.15 if request.strength == "subtle" else 0.5
        image = Image.blend(base, image, blend)
    draw = ImageDraw.Draw(image)
    for _ in range(6 + digest[6] % 10):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        size = rng.randrange(max(2, min(w, h) // 12), max(3, min(w, h) // 3))
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + size, y0 + size), fill=color)
        else:
            draw.rectangle((x0, y0, x0 + size, y0 + size // 2), fill=color)
    draw.text((8, 8), _DIRECTIVE.sub("", request.prompt)[:60], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()


def _with_trained_style(data: bytes, request: ImageRequest) -> bytes:
    """A job naming a trained model (`trn_…`): the picture takes the style the workspace's own
    succeeded training learnt (chalicelib/training/style.py). Another workspace's model, or one
    that is not (or no longer) succeeded, is never applied: the job fails with `invalid_provider_request`."""
    from chalicelib.training.service import trained_style
    from chalicelib.training.style import apply_style

    style = trained_style(request.options.get("workspace_id", ""), request.model)
    if style is None:
        raise ProviderError(
            "invalid_provider_request", f"model {request.model} is not a trained model of this workspace", retryable=False
        )
    return apply_style(data, style)
