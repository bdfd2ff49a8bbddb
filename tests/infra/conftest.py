"""Synthesize the CDK app once per test process (both stages, offline) and share the templates.

The synth uses `package=app-only` (no wheel downloads; see infra/packaging.py). dev keeps the
defaults; prod sets log shipping, a public URL, a provider, an alarm e-mail and a throttling rate
through stage-scoped context, so one synth covers both.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

LOG_SHIPPING_URL = "https://logs.example.test/v1/ingest"
SYNTH_CONTEXT = {
    "package": "app-only",
    "app_version": "9.9.9",
    "log_shipping:prod": "true",
    "log_shipping_url:prod": LOG_SHIPPING_URL,
    "public_base_url:prod": "https://app.example.test",
    "default_provider:prod": "openai",
    "alarm_email:prod": "ops@example.test",
    "api_rate_limit:prod": "250",
    "mail_from:prod": "noreply@example.test",  # teams: the SES identity and its grant (dev: none, a warning)
    # mobile push (issue 16): SNS platform applications (dev: none, so no SNS grant)
    "push_apns_application_arn:prod": "arn:aws:sns:us-east-1:123456789012:app/APNS/imagegen-ios",
    "push_fcm_application_arn:prod": "arn:aws:sns:us-east-1:123456789012:app/GCM/imagegen-android",
    # custom model training: the hosted trainer in prod (dev keeps the local one)
    "trainer:prod": "replicate",
    "replicate_trainer:prod": "acme/style-trainer/versions/5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
    "replicate_destination:prod": "acme/house-styles",
}


@dataclass
class Synth:
    outdir: Path
    seconds: float
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template_path(self, stage: str) -> Path:
        return self.outdir / f"{stage}.template.json"


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from infra.synth import build_app

    outdir = tmp_path_factory.mktemp("cdk-out")
    started = time.perf_counter()
    build_app(dict(SYNTH_CONTEXT), outdir=str(outdir)).synth()
    result = Synth(outdir, time.perf_counter() - started)
    for stage in ("dev", "prod"):
        result.templates[stage] = json.loads(result.template_path(stage).read_text())
    return result


@pytest.fixture(scope="session")
def dev(synth: Synth) -> dict[str, Any]:
    return synth.templates["dev"]


@pytest.fixture(scope="session")
def prod(synth: Synth) -> dict[str, Any]:
    return synth.templates["prod"]
