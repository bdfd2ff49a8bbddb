"""Custom model training's deployed settings (issue 16): the hosted trainer is chosen by CDK
context (`trainer`, `replicate_trainer`, `replicate_destination`) and reaches every function as
TRAINER / REPLICATE_*; its token is never in the template, only the SSM parameter's name, which
only the trainings worker's role may read."""

from __future__ import annotations

from typing import Any

import pytest

from infra import config
from infra.options import DeployOptions
from tests.infra.cfn import function_ids, props
from tests.infra.conftest import SYNTH_CONTEXT
from tests.infra.test_access import _role_grants

pytestmark = pytest.mark.xdist_group("infra")

VERSION = "acme/style-trainer/versions/5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


def _env(template: dict[str, Any], function: str) -> dict[str, Any]:
    return dict(props(template, function_ids(template)[function])["Environment"]["Variables"])


def test_the_hosted_trainer_reaches_every_function_from_the_context(synth: Any) -> None:
    prod, dev = synth.templates["prod"], synth.templates["dev"]
    for function in config.FUNCTIONS:
        env = _env(prod, function)
        assert env["TRAINER"] == "replicate", function
        assert env["REPLICATE_TRAINER"] == SYNTH_CONTEXT["replicate_trainer:prod"]
        assert env["REPLICATE_DESTINATION"] == SYNTH_CONTEXT["replicate_destination:prod"]
        assert env["REPLICATE_API_TOKEN_PARAM"] == "/imagegen/prod/replicate-api-token"
        assert "REPLICATE_API_TOKEN" not in env, "secret values never go in the template"
        local = _env(dev, function)
        assert local["TRAINER"] == "local" and "REPLICATE_TRAINER" not in local and "REPLICATE_DESTINATION" not in local


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_trainings_worker_reads_the_trainer_token(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    parameter = f"parameter{config.secret_parameter_name(stage, 'REPLICATE_API_TOKEN')}"
    readers = {
        function
        for function in config.FUNCTIONS
        if any(p.endswith(parameter) for p in _role_grants(template, function).get("ssm:GetParameter", set()))
    }
    assert readers == {config.TRAININGS_WORKER}


def test_trainer_options_are_validated() -> None:
    def options(**context: str) -> DeployOptions:
        return DeployOptions.from_context(context.get, "prod")

    assert options().trainer == "local" and options().replicate_trainer is None
    hosted = options(trainer="replicate", replicate_trainer=VERSION, replicate_destination="acme/house-styles")
    assert (hosted.trainer, hosted.replicate_trainer, hosted.replicate_destination) == (
        "replicate",
        VERSION,
        "acme/house-styles",
    )
    staged = options(
        **{"trainer:prod": "replicate", "trainer": "local", "replicate_trainer": VERSION, "replicate_destination": "a/b"}
    )
    assert staged.trainer == "replicate"
    bad = [
        ({"trainer": "dreambooth"}, "trainer="),
        ({"trainer": "replicate"}, "replicate_trainer"),
        (
            {"trainer": "replicate", "replicate_trainer": "acme/style-trainer", "replicate_destination": "a/b"},
            "replicate_trainer",
        ),
        ({"trainer": "replicate", "replicate_trainer": VERSION}, "replicate_destination"),
        ({"trainer": "replicate", "replicate_trainer": VERSION, "replicate_destination": "a b/c"}, "replicate_destination"),
        ({"replicate_trainer": VERSION}, "only with trainer=replicate"),
    ]
    for context, message in bad:
        with pytest.raises(ValueError, match=message):
            options(**context)
