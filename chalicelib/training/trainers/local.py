"""The local trainer: learns a style (tone curves, mean colour, palette) with Pillow, in the worker."""

from __future__ import annotations

from chalicelib.training.errors import TrainerError
from chalicelib.training.style import learn_style
from chalicelib.training.trainers.base import Progress, TrainingInput


class LocalTrainer:
    name = "local"

    def start(self, job: TrainingInput) -> Progress:
        """Learn at once: a few milliseconds an image, well inside the worker's timeout."""
        try:
            style = learn_style((data for _, data in job.images), job.steps)
        except ValueError as error:
            raise TrainerError("invalid_training_image", str(error), retryable=False) from None
        return Progress("succeeded", parameters={"style": style.as_dict()})

    def poll(self, handle: str) -> Progress:
        raise TrainerError("no_handle", "the local trainer finishes in start()", retryable=False)

    def cancel(self, handle: str) -> None:
        """Nothing runs outside the worker: nothing to stop."""
