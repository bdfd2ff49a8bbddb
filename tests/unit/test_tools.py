"""Local image tools: upscale sizes and quality resampler, operations in order, formats."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.accounting.prices import size_class
from chalicelib.generation import tools


def _png(w: int = 64, h: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def test_upscale_sizes_are_capped_and_keep_aspect() -> None:
    assert tools.upscaled_size(512, 512, 2) == (1024, 1024)
    assert tools.upscaled_size(1024, 1024, 4) == (4096, 4096)
    assert tools.upscaled_size(2048, 1024, 4) == (4096, 2048)
    data, content_type, w, h = tools.upscale(_png(), 4)
    assert (w, h) == (256, 128) and content_type == "image/png"
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (256, 128) and image.getpixel((100, 50))[:3] == (200, 10, 10)


def test_operations_apply_in_order() -> None:
    data, content_type, w, h = tools.apply_operations(
        _png(64, 32),
        [
            {"op": "resize", "width": 100, "height": 50},
            {"op": "crop", "left": 10, "top": 0, "right": 60, "bottom": 40},
            {"op": "rotate", "degrees": 90},
            {"op": "format", "to": "webp"},
        ],
    )
    assert (w, h) == (40, 50) and content_type == "image/webp"
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "WEBP"


def test_crop_outside_the_image_is_refused() -> None:
    with pytest.raises(ValueError):
        tools.apply_operations(_png(), [{"op": "crop", "left": 0, "top": 0, "right": 65, "bottom": 10}])


def test_size_classes_for_prices() -> None:
    assert size_class(512, 512) == "1024x1024"
    assert size_class(1536, 1024) == "1536x1024"
    assert size_class(2048, 2048) == "2048x2048"
    assert size_class(4096, 2048) == "4096x4096"
