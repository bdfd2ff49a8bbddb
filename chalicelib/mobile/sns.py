"""APNs and FCM through SNS mobile push: one platform endpoint per device token, on the platform
application named by the settings (PUSH_APNS_APPLICATION_ARN / PUSH_FCM_APPLICATION_ARN, the
stack's `push_apns_application_arn` / `push_fcm_application_arn` context).

`publish` sends with `MessageStructure="json"`, one payload per transport (APNS, APNS_SANDBOX,
GCM, default); an endpoint SNS disabled (the token died at Apple or Google) answers
`EndpointDisabled`, which `publish` reports as False so the caller prunes the device.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.aws import client
from chalicelib.mobile.errors import PlatformNotConfigured
from chalicelib.settings import get_settings

_EXISTING_ARN = re.compile(r"(arn:aws[a-z-]*:sns:\S+:endpoint/\S+?)\s")


def application_arn(platform: str) -> str:
    s = get_settings()
    arn = s.push_apns_application_arn if platform == "ios" else s.push_fcm_application_arn
    if not arn:
        raise PlatformNotConfigured(platform)
    return arn


def create_endpoint(platform: str, token: str) -> str:
    """The endpoint ARN for this token (SNS answers the existing one for the same token; one it
    holds with other attributes, e.g. disabled, is re-enabled, as AWS documents)."""
    from botocore.exceptions import ClientError

    sns = client("sns")
    try:
        return str(sns.create_platform_endpoint(PlatformApplicationArn=application_arn(platform), Token=token)["EndpointArn"])
    except ClientError as error:
        found = _EXISTING_ARN.search(str(error.response.get("Error", {}).get("Message", "")) + " ")
        if error.response.get("Error", {}).get("Code") != "InvalidParameter" or found is None:
            raise
        arn = found.group(1)
        sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Token": token, "Enabled": "true"})
        return arn


def delete_endpoint(endpoint_arn: str) -> None:
    """Best effort: a device leaving must not fail because SNS did (the endpoint is harmless)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client("sns").delete_endpoint(EndpointArn=endpoint_arn)
    except (BotoCoreError, ClientError):
        pass


def payload(title: str, body: str, data: dict[str, Any]) -> str:
    """The JSON message structure: Apple's `aps` and FCM's `notification` + `data`."""
    apns = json.dumps({"aps": {"alert": {"title": title, "body": body}, "sound": "default"}, **data})
    gcm = json.dumps({"notification": {"title": title, "body": body}, "data": {k: str(v) for k, v in data.items()}})
    return json.dumps({"default": body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": gcm})


def publish(endpoint_arn: str, title: str, body: str, data: dict[str, Any]) -> bool:
    """Send one notification; False when SNS says the endpoint is disabled or gone."""
    from botocore.exceptions import ClientError

    try:
        client("sns").publish(TargetArn=endpoint_arn, MessageStructure="json", Message=payload(title, body, data))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("EndpointDisabled", "NotFound"):
            return False
        raise
    return True
