"""The limits of a training, in one place."""

from __future__ import annotations

from typing import Final

MIN_IMAGES: Final = 5
MAX_IMAGES: Final = 50
MIN_STEPS: Final = 100
MAX_STEPS: Final = 4000
DEFAULT_STEPS: Final = 1000
MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024  # a training image is read whole by the worker
MAX_RECEIVES: Final = 3  # infra/config.py TRAININGS_MAX_RECEIVE_COUNT: the last receive fails the training
# The providers a job naming a trained model may run on: `local` applies the style while drawing,
# the hosted ones have it applied to the pictures they return (chalicelib/training/styled.py).
STYLE_PROVIDERS: Final = ("local", "gemini", "openai")
