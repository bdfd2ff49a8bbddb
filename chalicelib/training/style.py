"""The local trainer's model: a *style* learnt from images, and how the local provider applies it.

Learning reads every training image (downsampled) and keeps, per RGB channel, the tone curve of
the set (its levels at 17 quantiles: 0, 1/16, ..., 1), the mean colour and a 5-colour palette.
Applying maps each channel of a picture onto those curves (histogram matching through a 256-entry
lookup table), mixed in at `intensity_pct`: the picture keeps its shapes and takes the set's
colours and contrast. Pure Pillow (already a runtime dependency), a few milliseconds an image.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, cast

QUANTILES = 16  # curve points: QUANTILES + 1
SAMPLE_PX = 128  # each training image is read at most this size (the style is about colour, not detail)
STEP_HALF = 250  # steps at which the style is half applied (more steps: closer to the set)
CHANNELS = ("r", "g", "b")


@dataclass(frozen=True)
class Style:
    """A trained style: JSON-ready (integers only), stored on the training's row."""

    mean_rgb: list[int]
    palette: list[list[int]]
    curves: dict[str, list[int]]
    intensity_pct: int
    images: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Style:
        return cls(
            mean_rgb=[int(v) for v in data["mean_rgb"]],
            palette=[[int(v) for v in colour] for colour in data["palette"]],
            curves={c: [int(v) for v in data["curves"][c]] for c in CHANNELS},
            intensity_pct=int(data["intensity_pct"]),
            images=int(data["images"]),
        )


def intensity_for(steps: int) -> int:
    """How strongly the style applies after `steps` (percent, 1-99): 1000 steps give 80%."""
    return max(1, min(99, round(100 * steps / (steps + STEP_HALF))))


def learn_style(images: Iterable[bytes], steps: int) -> Style:
    """Learn the set's tone curves, mean colour and palette; ValueError when an image is unreadable."""
    from PIL import Image

    totals = [0] * 768
    samples = []
    for data in images:
        try:
            with Image.open(io.BytesIO(data)) as opened:
                sample = opened.convert("RGB")
        except (OSError, Image.DecompressionBombError) as error:
            raise ValueError(f"a training image could not be read: {error}") from None
        sample.thumbnail((SAMPLE_PX, SAMPLE_PX))
        samples.append(sample)
        totals = [a + b for a, b in zip(totals, sample.histogram(), strict=True)]
    if not samples:
        raise ValueError("no training images")
    histograms = [totals[i * 256 : (i + 1) * 256] for i in range(3)]
    return Style(
        mean_rgb=[_mean(h) for h in histograms],
        palette=_palette(samples),
        curves={c: _curve(h) for c, h in zip(CHANNELS, histograms, strict=True)},
        intensity_pct=intensity_for(steps),
        images=len(samples),
    )


def apply_style(png: bytes, style: Style) -> bytes:
    """The picture with the style's tone curves mixed in (PNG out)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as opened:
        picture = opened.convert("RGB")
    bands = [
        band.point(_lookup(band.histogram(), style.curves[c], style.intensity_pct))
        for band, c in zip(picture.split(), CHANNELS, strict=True)
    ]
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()


def mean_rgb(png: bytes) -> list[int]:
    """The mean colour of a picture (tests and the README's demo compare them)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as opened:
        histogram = opened.convert("RGB").histogram()
    return [_mean(histogram[i * 256 : (i + 1) * 256]) for i in range(3)]


def _mean(histogram: list[int]) -> int:
    total = sum(histogram)
    return round(sum(level * n for level, n in enumerate(histogram)) / total) if total else 0


def _cdf(histogram: list[int]) -> list[float]:
    total = sum(histogram) or 1
    running, out = 0, []
    for n in histogram:
        running += n
        out.append(running / total)
    return out


def _curve(histogram: list[int]) -> list[int]:
    """The channel's level at each quantile k/QUANTILES (the first level whose CDF reaches it)."""
    cdf = _cdf(histogram)
    points = []
    for k in range(QUANTILES + 1):
        q = max(k / QUANTILES, 1e-9)  # the 0 quantile is the darkest level in use, not level 0
        points.append(next((level for level, c in enumerate(cdf) if c >= q - 1e-12), 255))
    return points


def _level_at(curve: list[int], q: float) -> float:
    """The target level at quantile `q`, linear between the curve's points."""
    x = min(max(q, 0.0), 1.0) * QUANTILES
    low = min(int(x), QUANTILES - 1)
    return curve[low] + (curve[low + 1] - curve[low]) * (x - low)


def _lookup(histogram: list[int], curve: list[int], intensity_pct: int) -> list[int]:
    """Histogram matching: a level at quantile q becomes the set's level at q, mixed in at intensity."""
    cdf = _cdf(histogram)
    mix = intensity_pct / 100
    return [max(0, min(255, round(v + (_level_at(curve, cdf[v]) - v) * mix))) for v in range(256)]


def _palette(samples: list[Any]) -> list[list[int]]:
    """The set's five most used colours (median-cut over a mosaic of the samples)."""
    from PIL import Image

    mosaic = Image.new("RGB", (SAMPLE_PX * len(samples), SAMPLE_PX))
    for n, sample in enumerate(samples):
        mosaic.paste(sample.resize((SAMPLE_PX, SAMPLE_PX)), (n * SAMPLE_PX, 0))
    quantized = mosaic.quantize(colors=5)
    flat = quantized.getpalette() or []
    counts = cast("list[tuple[int, int]]", quantized.getcolors() or [])  # a palette image: (count, palette index)
    used = sorted(counts, reverse=True)
    return [list(flat[index * 3 : index * 3 + 3]) for _, index in used[:5]]
