"""Trainer registry: adding a trainer is one module plus one line here (like generation providers)."""

from __future__ import annotations

import importlib
import threading

from chalicelib.bootstrap import on_reset
from chalicelib.training.trainers.base import Progress, Trainer, TrainingInput

REGISTRY: dict[str, str] = {
    "local": "chalicelib.training.trainers.local:LocalTrainer",
    "replicate": "chalicelib.training.trainers.replicate:ReplicateTrainer",
}
BASE_MODELS: dict[str, str] = {"local": "local-v1", "replicate": "replicate"}  # what each trainer's models extend

_instances: dict[str, Trainer] = {}
_lock = threading.Lock()


def get_trainer(name: str) -> Trainer:
    """The trainer called `name`, built once per container."""
    with _lock:
        if name not in _instances:
            module_name, _, factory = REGISTRY[name].partition(":")
            _instances[name] = getattr(importlib.import_module(module_name), factory)()
        return _instances[name]


@on_reset
def reset_trainers() -> None:
    """Forget built trainers (tests change settings)."""
    with _lock:
        _instances.clear()


__all__ = ["BASE_MODELS", "REGISTRY", "Progress", "Trainer", "TrainingInput", "get_trainer"]
