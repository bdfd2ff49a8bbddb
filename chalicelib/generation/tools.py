"""Local image tools (Pillow): upscale with a good resampler, and the edit operations
(crop, resize, rotate, format conversion). They run in the worker, without a provider call."""

from __future__ import annotations

import io
from typing import Any

MAX_SIDE = 4096
FORMATS = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}


def _open(data: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _encode(image: Any, fmt: str = "png") -> tuple[bytes, str]:
    pil_format, content_type = FORMATS[fmt]
    out = io.BytesIO()
    if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.save(out, format=pil_format, **({"quality": 92} if pil_format in ("JPEG", "WEBP") else {"compress_level": 3}))
    return out.getvalue(), content_type


def upscaled_size(width: int, height: int, scale: int) -> tuple[int, int]:
    """The output size of an upscale, capped at MAX_SIDE on the longer side (aspect kept)."""
    factor = min(scale, MAX_SIDE / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def upscale(data: bytes, scale: int) -> tuple[bytes, str, int, int]:
    """2x/4x with Lanczos resampling (sharp edges, little ringing), as PNG."""
    from PIL import Image

    with _open(data) as image:
        size = upscaled_size(image.width, image.height, scale)
        result = image.convert("RGBA" if "A" in image.getbands() else "RGB").resize(size, Image.Resampling.LANCZOS)
    encoded, content_type = _encode(result)
    return encoded, content_type, size[0], size[1]


def apply_operations(data: bytes, operations: list[dict[str, Any]]) -> tuple[bytes, str, int, int]:
    """Apply crop / resize / rotate / format in order; the last `format` decides the encoding."""
    from PIL import Image

    fmt = "png"
    image = _open(data)
    for op in operations:
        kind = op["op"]
        if kind == "crop":
            box = (op["left"], op["top"], op["right"], op["bottom"])
            if not (0 <= box[0] < box[2] <= image.width and 0 <= box[1] < box[3] <= image.height):
                raise ValueError(f"crop box {box} is outside the {image.width}x{image.height} image")
            image = image.crop(box)
        elif kind == "resize":
            image = image.resize((op["width"], op["height"]), Image.Resampling.LANCZOS)
        elif kind == "rotate":
            image = image.rotate(-op["degrees"], expand=True, resample=Image.Resampling.BICUBIC)
        elif kind == "format":
            fmt = op["to"]
    encoded, content_type = _encode(image, fmt)
    return encoded, content_type, image.width, image.height


def style_blend(content: bytes, style: bytes, width: int, height: int, strength: float = 0.4) -> bytes:
    """The local provider's style transfer: the style image's colours laid over the content."""
    from PIL import Image, ImageFilter

    with _open(content) as c, _open(style) as s:
        base = c.convert("RGB").resize((width, height))
        texture = s.convert("RGB").resize((width, height)).filter(ImageFilter.GaussianBlur(2))
        mixed = Image.blend(base, texture, strength)
    return _encode(mixed)[0]
