"""The Chalice app as CloudFormation: `chalice package` writes the template, we supply the code.

Like `chalice.cdk.Chalice` (whose steps this follows), it runs Chalice's packager on the app and
includes the SAM template it writes (functions, REST API, schedules, permissions) with
`CfnInclude`, keeping the logical ids. Unlike it, the code of every function is the package
built by infra/packaging.py for the runtime of infra/runtime.py, so the template's `Runtime` and
`CodeUri` are set here; Chalice's own zip (built from an empty requirements.txt) is never used.

One more change to Chalice's template: the REST API's integrations name the API handler by its
function name instead of `${APIHandler.Arn}`. The API then no longer depends on the function, so
the function may depend on the API, and `PUBLIC_BASE_URL` can be the API's own invoke URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_cdk import CfnResource, cloudformation_include
from aws_cdk import aws_s3_assets as assets
from constructs import Construct

from infra import packaging, runtime

FUNCTION_TYPE = "AWS::Serverless::Function"
API_HANDLER_ARN = "${APIHandler.Arn}"


class ChaliceApp(Construct):
    """`get_resource(logical_id)` gives the included resources (APIHandler, Worker, RestAPI, ...)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        stage_config: dict[str, Any],
        package: Path,
        api_handler_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        from chalice.api import package_app

        out = packaging.scratch("imagegen-sam-")
        with contextlib.redirect_stdout(sys.stderr), _environment_kept():  # progress lines to stderr
            package_app(
                project_dir=str(packaging.stage_source()), output_dir=str(out / "sam"), stage=stage, chalice_config=stage_config
            )
        template = json.loads((out / "sam" / "sam.json").read_text())
        code = assets.Asset(self, "Code", path=str(package))
        deployable(template, {"Bucket": code.s3_bucket_name, "Key": code.s3_object_key}, api_handler_name)
        (out / "template.json").write_text(json.dumps(template, indent=1))
        self.code = code
        self.sam_template = cloudformation_include.CfnInclude(
            self, "ChaliceApp", template_file=str(out / "template.json"), preserve_logical_ids=True
        )

    def get_resource(self, logical_id: str) -> CfnResource:
        return self.sam_template.get_resource(logical_id)


@contextlib.contextmanager
def _environment_kept() -> Iterator[None]:
    """Chalice loads the app to package it and puts the stage's variables (STAGE=dev, CDK token
    strings as queue names, ...) into os.environ first: undo that, the synthesizing process is not
    the deployed function (a test process would otherwise carry them on)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def deployable(template: dict[str, Any], code_uri: dict[str, Any], api_handler_name: str) -> None:
    """Every function on the declared runtime and architecture with our package; integrations by name."""
    for resource in template["Resources"].values():
        if resource["Type"] == FUNCTION_TYPE:
            resource["Properties"].update(
                {"Runtime": runtime.RUNTIME, "Architectures": [runtime.ARCHITECTURE], "CodeUri": dict(code_uri)}
            )
    function_arn = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{api_handler_name}"
    api = template["Resources"].get("RestAPI")
    if api is not None:
        api["Properties"]["DefinitionBody"] = _replace_in_subs(api["Properties"]["DefinitionBody"], API_HANDLER_ARN, function_arn)


def _replace_in_subs(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return {"Fn::Sub": value["Fn::Sub"].replace(old, new)}
        return {key: _replace_in_subs(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_in_subs(item, old, new) for item in value]
    return value
