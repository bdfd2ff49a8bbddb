"""Build the CDK app: one `ImageGenStack` per requested stage."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk

from infra.config import REPO_ROOT, STAGE_CONFIGS, STAGES
from infra.options import DeployOptions
from infra.stack import ImageGenStack


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The app with the stacks of `stage` (context; default all stages). Tests pass context here."""
    # Outside the cdk CLI (which sets CDK_OUTDIR) the assembly goes to the repo's cdk.out/, not a temp dir.
    outdir = outdir or os.environ.get("CDK_OUTDIR") or str(REPO_ROOT / "cdk.out")
    app = cdk.App(context=context or {}, outdir=outdir)
    requested = app.node.try_get_context("stage")
    stages = [requested] if requested else list(STAGES)
    unknown = [s for s in stages if s not in STAGE_CONFIGS]
    if unknown:
        raise ValueError(f"unknown stage {unknown[0]!r}: expected one of {', '.join(STAGES)}")
    env = cdk.Environment(account=app.node.try_get_context("account") or None, region=app.node.try_get_context("region") or None)
    for stage in stages:
        ImageGenStack(app, STAGE_CONFIGS[stage], DeployOptions.from_context(app.node.try_get_context, stage), env=env)
    return app
