"""Prompt templates: the prebuilt catalogue, custom templates per workspace, typed variables,
rendering without injection, versions that jobs pin, and usage counts.

- `rules`: variable declarations, slots and rendering (pure)
- `search`: the words `?q=` matches (pure)
- `catalogue`: the prebuilt templates (`prebuilt.json`), in memory
- `service`: the use cases; `errors`: what they refuse; `records`: what they hand out
"""

from __future__ import annotations

from chalicelib.templates.errors import InvalidTemplate, InvalidVariables, TemplateChanged, TemplateNotFound, TemplateReadOnly
from chalicelib.templates.records import Caller, Pins, TemplateRecord, TemplateUsage
from chalicelib.templates.rules import Variable, check_template, declare, render, resolve, slots

__all__ = [
    "Caller",
    "InvalidTemplate",
    "InvalidVariables",
    "Pins",
    "TemplateChanged",
    "TemplateNotFound",
    "TemplateReadOnly",
    "TemplateRecord",
    "TemplateUsage",
    "Variable",
    "check_template",
    "declare",
    "render",
    "resolve",
    "slots",
]
