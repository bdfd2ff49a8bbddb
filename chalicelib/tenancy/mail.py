"""The email seam: SES in AWS, the outbox table in the local stages (read at `GET /admin/api/outbox`).

Callers say what to send; which way it goes is decided here once, from the stage.
"""

from __future__ import annotations

from chalicelib import clock
from chalicelib.aws import client
from chalicelib.settings import LOCAL_STAGES, ConfigurationError, get_settings
from chalicelib.store import outbox_mail
from chalicelib.store.models import OutboxMailModel


def send(to: str, subject: str, text: str) -> None:
    """Send a plain-text mail (SES), or keep it in the outbox on this machine."""
    settings = get_settings()
    if settings.stage in LOCAL_STAGES:
        outbox_mail.add(to, subject, text, clock.now())
        return
    if not settings.mail_from:
        raise ConfigurationError("MAIL_FROM is not set: invitation mail cannot be sent")
    client("sesv2").send_email(
        FromEmailAddress=settings.mail_from,
        Destination={"ToAddresses": [to]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}}},
    )


def outbox(to: str) -> list[OutboxMailModel]:
    """The local outbox for `to`, newest first (only the local stages have one)."""
    return list(outbox_mail.latest(to))


def has_outbox() -> bool:
    return get_settings().stage in LOCAL_STAGES
