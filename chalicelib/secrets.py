"""Secrets: from the environment locally, from SSM Parameter Store / Secrets Manager in AWS.

`NAME` is used directly when set; otherwise `NAME_PARAM` names an SSM parameter (SecureString)
read once per container. Nothing secret is ever in the repository.
"""

from __future__ import annotations

import os
from functools import cache

from chalicelib.aws import client
from chalicelib.bootstrap import on_reset
from chalicelib.domain import Misconfigured


@cache
def secret(name: str, *, required: bool = True) -> str:
    value = os.environ.get(name)
    if value:
        return value
    parameter = os.environ.get(f"{name}_PARAM")
    if parameter:
        from botocore.exceptions import ClientError

        try:
            return str(client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"])
        except ClientError as exc:  # missing parameter or no access: a 503 that names it, not a 500
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise Misconfigured(f"not configured: SSM parameter {parameter} for {name} ({code})") from None
    if required:
        raise Misconfigured(f"not configured: {name} (or {name}_PARAM) is not set")
    return ""


@on_reset
def reset() -> None:
    secret.cache_clear()
