"""Where the Chalice construct packages the app from.

`chalice package` (run by `chalice.cdk.Chalice` during synth) builds the Lambda zip: the app code
plus manylinux wheels of everything in requirements.txt, which it downloads from PyPI the first
time (about 70 s and 42 MB here) and then caches in `.chalice/deployments/` by the requirements'
hash. That is what a deploy needs (`package=full`, the default).

Checks that only need the template (tests, CI, `make synth PACKAGE=app-only`) use `app-only`: the
same app code and config staged in a temporary directory with an empty requirements.txt, so synth
runs offline in a second. Such a zip lacks the dependencies and must never be deployed; the stack
tags itself with the mode so a mistake is visible.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from infra.config import REPO_ROOT

FULL = "full"
APP_ONLY = "app-only"
MODES = (FULL, APP_ONLY)


def source_dir(mode: str) -> Path:
    """The directory to hand to `chalice.cdk.Chalice(source_dir=...)` for this packaging mode."""
    if mode == FULL:
        return REPO_ROOT
    if mode != APP_ONLY:
        raise ValueError(f"package mode must be one of {', '.join(MODES)}, not {mode!r}")
    staged = Path(tempfile.mkdtemp(prefix="imagegen-chalice-"))
    atexit.register(shutil.rmtree, staged, True)
    shutil.copy2(REPO_ROOT / "app.py", staged / "app.py")
    shutil.copytree(REPO_ROOT / "chalicelib", staged / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (staged / ".chalice").mkdir()
    shutil.copy2(REPO_ROOT / ".chalice" / "config.json", staged / ".chalice" / "config.json")
    (staged / "requirements.txt").write_text("")
    return staged


def chalice_out_dir() -> Path:
    """A scratch directory for the construct's `chalice.out/` (it writes under the working directory)."""
    scratch = Path(tempfile.mkdtemp(prefix="imagegen-chalice-out-"))
    atexit.register(shutil.rmtree, scratch, True)
    return scratch
