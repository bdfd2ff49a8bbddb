"""Entry point: `python infra/app.py [-c key=value ...]` (or `cdk synth` via cdk.json) writes cdk.out/.

Context: stage=dev|prod (default: both), package=full|app-only, and the deploy options of
infra/options.py; `key:<stage>=value` sets a key for one stage only. Run by hand, `-c` arguments
are read here; run by the cdk CLI, it passes them itself (CDK_CONTEXT_JSON).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def context_from_argv(argv: list[str]) -> dict[str, Any]:
    """`-c key=value` / `--context key=value` pairs, as the cdk CLI would read them."""
    context: dict[str, Any] = {}
    args = iter(argv)
    for arg in args:
        if arg in ("-c", "--context"):
            key, sep, value = next(args, "").partition("=")
            if not key or not sep:
                raise SystemExit(f"expected {arg} key=value")
            context[key] = value
        else:
            raise SystemExit(f"unexpected argument {arg!r}: use -c key=value")
    return context


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root: infra/ and chalicelib/
    from infra.synth import build_app

    build_app(context_from_argv(sys.argv[1:])).synth()
