"""The SSRF guard and the signatures, without AWS."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from chalicelib.webhooks import signing, ssrf
from chalicelib.webhooks.errors import UnsafeUrl


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "ff02::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not ssrf.is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert ssrf.is_public(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "ftp://example.com/x",
        "https://user:pw@example.com/",
        "https:///nohost",
        "https://exa mple.com/",
    ],
)
def test_outside_local_stages_only_clean_https_urls_parse(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        ssrf.parse(url, local=False)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_host_resolving_to_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.216.34", "10.0.0.5")  # one bad answer is enough (rebinding)
    target = ssrf.parse("https://hooks.example.com/in?x=1", local=False)
    with pytest.raises(UnsafeUrl):
        ssrf.resolve(target, local=False)


def test_a_public_host_is_pinned_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving_to(monkeypatch, "93.184.216.34")
    target = ssrf.resolve(ssrf.parse("https://hooks.example.com:8443/in?x=1", local=False), local=False)
    assert (target.address, target.host, target.port, target.path) == ("93.184.216.34", "hooks.example.com", 8443, "/in?x=1")
    assert target.host_header == "hooks.example.com:8443"


def test_deployed_stages_check_at_delivery_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("DEFAULT_PROVIDER", "openai")
    from chalicelib.settings import reset_settings

    reset_settings()
    _resolving_to(monkeypatch, "169.254.169.254")
    with pytest.raises(UnsafeUrl):
        ssrf.check_on_delivery("https://metadata.example.com/")
    with pytest.raises(UnsafeUrl):
        ssrf.check_on_save("http://127.0.0.1:8000/")
    reset_settings()


def test_both_secrets_sign_during_a_rotation_and_the_reference_library_verifies_each() -> None:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    old, new = signing.new_secret(), signing.new_secret()
    body = '{"data":{},"timestamp":"2026-11-24T12:00:00Z","type":"job.succeeded"}'
    headers = signing.headers("evt_1", body, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "job.succeeded"
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("succeeded", "failed"), headers)
