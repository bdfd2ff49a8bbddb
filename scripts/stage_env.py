"""Print the deployed stage's settings as shell exports, to run the operator tools against it.

    eval "$(.venv/bin/python scripts/stage_env.py --stage dev)"
    .venv/bin/python -m chalicelib.ops create-admin --email ops@example.com

The settings are the API handler's environment as deployed (table prefix, queue and bucket names,
DEFAULT_PROVIDER, the `<SECRET>_PARAM` names, ...): no secret is in it, only the names of the
SSM parameters holding them, which the tools then read with your credentials. Also sets
`AWS_REGION` to the stage's region.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.config import API_HANDLER, STAGE_CONFIGS, STAGES

# Lambda's own variables and the runtime's logging knobs are not settings of the tools.
SKIPPED = ("AWS_", "_", "LAMBDA_", "POWERTOOLS_TRACE")


def deployed_environment(stage: str, lambda_client: Any = None) -> dict[str, str]:
    import boto3

    client = lambda_client or boto3.client("lambda")
    configuration = client.get_function_configuration(FunctionName=STAGE_CONFIGS[stage].function_name(API_HANDLER))
    variables = dict(configuration.get("Environment", {}).get("Variables", {}))
    region = configuration["FunctionArn"].split(":")[3]
    return {
        **{k: v for k, v in variables.items() if not k.startswith(SKIPPED)},
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def exports(variables: dict[str, str]) -> str:
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in sorted(variables.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stage_env.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, choices=STAGES)
    print(exports(deployed_environment(parser.parse_args(argv).stage)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
