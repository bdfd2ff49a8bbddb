"""What each kind of job needs and where it runs: the rules the API and the worker share.

`generate` makes images from a prompt; `vary`, `edit` and `style_transfer` start from an image
the workspace owns; `upscale`, and `edit` with `operations`, run on our own tools (Pillow) in the
worker rather than at a provider: one output image, priced by its size.
"""

from __future__ import annotations

from typing import Any

from chalicelib.accounting.prices import SIZES

NEEDS_SOURCE = frozenset({"vary", "upscale", "edit", "style_transfer"})
IMAGE_INPUTS = ("source_image_id", "mask_image_id", "style_image_id")  # the params naming input images


def runs_on_tools(kind: str, operations: list[Any] | None) -> bool:
    """True when the job runs with our image tools, not a provider."""
    return kind == "upscale" or bool(operations)


def output_size(size: str, params: dict[str, Any] | None) -> tuple[int, int]:
    """The pixels of each output image: the tools' computed size, else the size class's."""
    params = params or {}
    if params.get("width") and params.get("height"):
        return int(params["width"]), int(params["height"])
    return SIZES[size]
