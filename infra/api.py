"""The REST API's stage: throttling as a backstop, JSON access logs, and API Gateway's own answers
(gateway responses) in the app's error envelope.

API Gateway answers some requests without calling the app: an unknown route or method
(`MISSING_AUTHENTICATION_TOKEN`, a 403 by default whose message repeats the request's
Authorization header, API key included), throttling, a body over 10 MB, an integration failure
or timeout. Each gets `{"error": {"code", "message", "request_id"}}` with a fixed message (never
`$context.error.message`, which can quote the request) and `X-Request-Id: $context.requestId`.
They are set on the SAM API itself (`GatewayResponses`), so a change redeploys the stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from constructs import Construct

REQUEST_ID = "$context.requestId"


@dataclass(frozen=True)
class GatewayAnswer:
    status: int | None  # None keeps the status API Gateway chose (the DEFAULT_* catch-alls)
    code: str
    message: str
    retry_after: int | None = None


# Response types API Gateway can produce for this API (no authorizers, API keys or WAF: those fall
# to the DEFAULT_4XX/5XX catch-alls). Codes are the app's (chalicelib/api/errors.py, API.md).
GATEWAY_ANSWERS: dict[str, GatewayAnswer] = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayAnswer(404, "not_found", "no such route"),
    "RESOURCE_NOT_FOUND": GatewayAnswer(404, "not_found", "no such route"),
    "UNSUPPORTED_MEDIA_TYPE": GatewayAnswer(415, "invalid_request", "unsupported content type"),
    "REQUEST_TOO_LARGE": GatewayAnswer(413, "payload_too_large", "the request is too large"),
    "BAD_REQUEST_BODY": GatewayAnswer(400, "invalid_request", "the request body is malformed"),
    "BAD_REQUEST_PARAMETERS": GatewayAnswer(400, "invalid_request", "the request parameters are malformed"),
    "THROTTLED": GatewayAnswer(429, "rate_limited", "too many requests to the API; retry shortly", retry_after=1),
    "QUOTA_EXCEEDED": GatewayAnswer(429, "rate_limited", "too many requests to the API; retry later", retry_after=60),
    "INTEGRATION_FAILURE": GatewayAnswer(502, "internal_error", "internal error"),
    "INTEGRATION_TIMEOUT": GatewayAnswer(504, "service_unavailable", "the request timed out; retry it"),
    "DEFAULT_4XX": GatewayAnswer(None, "invalid_request", "the request was refused"),
    "DEFAULT_5XX": GatewayAnswer(None, "internal_error", "internal error"),
}


def envelope(answer: GatewayAnswer) -> str:
    """The response template: our envelope with API Gateway's request id (the template is not VTL)."""
    error: dict[str, object] = {"code": answer.code, "message": answer.message, "request_id": REQUEST_ID}
    if answer.code == "rate_limited":
        error.update({"scope": "api", "retry_after": answer.retry_after})
    return json.dumps({"error": error}, separators=(",", ":"))


def gateway_responses() -> dict[str, dict[str, object]]:
    """SAM `GatewayResponses` for every type above."""
    out: dict[str, dict[str, object]] = {}
    for response_type, answer in GATEWAY_ANSWERS.items():
        headers = {"X-Request-Id": "context.requestId", "Cache-Control": "'no-store'"}
        if answer.retry_after is not None:
            headers["Retry-After"] = f"'{answer.retry_after}'"
        response: dict[str, object] = {
            "ResponseParameters": {"Headers": headers},
            "ResponseTemplates": {"application/json": envelope(answer)},
        }
        if answer.status is not None:
            response["StatusCode"] = str(answer.status)
        out[response_type] = response
    return out


# One JSON line per request. Numbers unquoted only where API Gateway always has a value.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "responseBytes": "$context.responseLength",
    "errorType": "$context.error.responseType",
    "time": "$context.requestTimeEpoch",
}
UNQUOTED = {"status", "latencyMs", "time"}


def access_log_format() -> str:
    parts = [f'"{key}":{value}' if key in UNQUOTED else f'"{key}":"{value}"' for key, value in ACCESS_LOG_FIELDS.items()]
    return "{" + ",".join(parts) + "}"


def account_logs_role(scope: Construct) -> apigateway.CfnAccount:
    """API Gateway's account-wide CloudWatch role, which access logging needs (one per account and
    region; kept when the stack goes, since other APIs of the account may rely on it)."""
    role = iam.Role(
        scope,
        "ApiGatewayLogsRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        description="API Gateway (account setting): write REST API access and execution logs",
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ApiGatewayLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ],
            resources=[
                Stack.of(scope).format_arn(
                    service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                )
            ],
        )
    )
    role.apply_removal_policy(RemovalPolicy.RETAIN)  # the account setting may outlive this stack (another stage's)
    account = apigateway.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    return account
