"""The SSRF guard: which URLs an endpoint may have, and which addresses we will connect to.

Outside the local stages (STAGE local/test): https only, no credentials in the URL, and every
address the host resolves to must be public (not private, loopback, link-local, multicast,
reserved, unspecified or shared). It is checked when the endpoint is saved and again at every
delivery, and the delivery connects to the address that was checked (no second DNS lookup a
rebinding attacker could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.settings import LOCAL_STAGES, get_settings
from chalicelib.webhooks.errors import UnsafeUrl

MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, at least "/"
    address: str | None  # None: not resolved (a local stage, at save time)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def local_stage() -> bool:
    return get_settings().stage in LOCAL_STAGES


def parse(url: str, *, local: bool) -> Target:
    """The URL's parts, refused when it is not one we would ever call."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"url must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("url is not a valid URL") from None
    allowed = ("https", "http") if local else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise UnsafeUrl("url must be an https:// URL with a host" if not local else "url must be an http(s):// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("url must not carry credentials")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeUrl("url must not contain whitespace or control characters")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path, None)


def is_public(address: str) -> bool:
    """True for an address on the public internet only."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    blocked = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    return ip.is_global and not blocked


def resolve(target: Target, *, local: bool) -> Target:
    """`target` with the address to connect to; every address of the host must be public."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeUrl(f"the host {target.host!r} does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeUrl(f"the host {target.host!r} does not resolve")
    if not local and not all(is_public(a) for a in addresses):
        raise UnsafeUrl("url resolves to a private, loopback, link-local or reserved address")
    return Target(target.scheme, target.host, target.port, target.path, addresses[0])


def check_on_save(url: str) -> Target:
    """The check when an endpoint is created or changed (local stages skip the DNS lookup)."""
    local = local_stage()
    target = parse(url, local=local)
    return target if local else resolve(target, local=False)


def check_on_delivery(url: str) -> Target:
    """The check before every attempt: parsed and resolved again, the address pinned."""
    local = local_stage()
    return resolve(parse(url, local=local), local=local)
