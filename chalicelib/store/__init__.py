"""Persistence: pynamodb models (one schema per table) and the lazy binding to an endpoint."""

from __future__ import annotations

import threading

from chalicelib.settings import Settings, get_settings
from chalicelib.store.models import ALL_MODELS, BaseModel

_bound_to: tuple[str, str | None, str] | None = None
_lock = threading.Lock()


def bind_models(settings: Settings | None = None) -> None:
    """Point every model at its table and endpoint (moto locally); cheap when unchanged."""
    global _bound_to
    s = settings or get_settings()
    target = (s.table_prefix, s.endpoint_url, s.region)
    if _bound_to == target:
        return
    with _lock:
        if _bound_to == target:
            return
        for model in ALL_MODELS:
            model.Meta.table_name = s.table_name(model.table_suffix)
            model.Meta.host = s.endpoint_url
            model.Meta.region = s.region
            model._connection = None  # rebuilt lazily against the new endpoint
        _bound_to = target


def ensure_tables(settings: Settings | None = None) -> list[str]:
    """Create every table that does not exist yet (local stack and tests); returns created."""
    bind_models(settings)
    created: list[str] = []
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            if model.ttl_attribute:
                model._get_connection().connection.update_time_to_live(model.Meta.table_name, model.ttl_attribute)
            created.append(model.Meta.table_name)
    return created


__all__ = ["ALL_MODELS", "BaseModel", "bind_models", "ensure_tables"]
