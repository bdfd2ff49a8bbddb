"""Deploy-time options, read from CDK context (`-c key=value` or cdk.json), validated once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra import packaging

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


@dataclass(frozen=True)
class DeployOptions:
    """Everything about a deployment that is not the same for every account.

    None of these are secrets: secrets live in SSM SecureString parameters (docs/infra.md).
    """

    package: str = packaging.FULL
    app_version: str = "0.1.0"
    public_base_url: str | None = None  # where checkout redirects land (a custom domain in prod)
    sentry_dsn: str | None = None
    billing_hook_url: str | None = None
    google_cloud_project: str | None = None
    google_cloud_location: str | None = None
    alarm_email: str | None = None
    log_shipping: bool = False
    log_shipping_url: str | None = None  # Firehose HTTP endpoint (Datadog / Loki / Elastic gateway)
    log_shipping_name: str = "logs"

    @classmethod
    def from_context(cls, get: Any, stage: str) -> DeployOptions:
        """`get(key)` is `node.try_get_context`; a `key:<stage>` value wins over a plain `key`."""

        def value(key: str) -> Any:
            staged = get(f"{key}:{stage}")
            return staged if staged is not None else get(key)

        def text(key: str) -> str | None:
            v = value(key)
            return str(v) if v not in (None, "") else None

        options = cls(
            package=text("package") or packaging.FULL,
            app_version=text("app_version") or "0.1.0",
            public_base_url=text("public_base_url"),
            sentry_dsn=text("sentry_dsn"),
            billing_hook_url=text("billing_hook_url"),
            google_cloud_project=text("google_cloud_project"),
            google_cloud_location=text("google_cloud_location"),
            alarm_email=text("alarm_email"),
            log_shipping=_flag(value("log_shipping")),
            log_shipping_url=text("log_shipping_url"),
            log_shipping_name=text("log_shipping_name") or "logs",
        )
        if options.package not in packaging.MODES:
            raise ValueError(f"context package={options.package!r}: expected one of {', '.join(packaging.MODES)}")
        if options.log_shipping and not (options.log_shipping_url or "").startswith("https://"):
            raise ValueError("log_shipping=true needs log_shipping_url=https://... (Firehose only posts over HTTPS)")
        return options
