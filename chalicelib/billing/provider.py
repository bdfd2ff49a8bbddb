"""Moved: the billing seam is `billing.backends`, the statements `billing.statements`.

Kept only so `chalicelib/tasks.py` (another area) keeps importing `write_statements` from here
until it switches to `chalicelib.billing.statements`; then this module is deleted.
"""

from __future__ import annotations

from chalicelib.billing.statements import write_statements

__all__ = ["write_statements"]
