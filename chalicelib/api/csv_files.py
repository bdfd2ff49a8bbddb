"""CSV answers (the admin reports): RFC 4180, UTF-8, downloaded as an attachment, and no cell a
spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from chalice.app import Response

_FORMULA_STARTS = ("=", "+", "-", "@")


def defused(value: Any) -> Any:
    """Spreadsheets run text cells as formulas when their first non-blank character is = + - @
    (leading spaces and line breaks are skipped), and tab/CR/LF at the start can smuggle one:
    such cells get a leading apostrophe, as OWASP advises (numbers stay numbers)."""
    if not isinstance(value, str):
        return value
    if value[:1] in ("\t", "\r", "\n") or value.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line endings
    writer.writerow(header)
    for row in rows:
        writer.writerow([defused(v) for v in row])
    return Response(
        body=out.getvalue(),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
