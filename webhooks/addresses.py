"""Where a webhook may go: the SSRF guard.

A URL registered by Ops is fetched by the server, from inside the network: without a guard it
could reach the cloud's metadata service (169.254.169.254), a database on localhost, or any
private host. So only http and https are accepted, and the host is resolved and every address
it resolves to must be public: no loopback, private, link-local, reserved, multicast or
unspecified address. The check runs when an endpoint is registered and again at every delivery,
and the delivery connects to the address that was checked (a name that resolves to a public
address at registration and to 127.0.0.1 later — DNS rebinding — is refused then, and cannot
switch between the check and the connection). `WEBHOOK_ALLOW_PRIVATE_HOSTS` turns the address
check off (the tests' receiver listens on 127.0.0.1); the scheme check always holds.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from core.exceptions import ValidationFailed

SCHEMES = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts, and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="url")


def split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; refuse anything else."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise _refuse(_("This is not a valid URL."), "invalid_url") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _refuse(_("Only http and https URLs can receive webhooks."), "url_scheme")
    if not parts.hostname:
        raise _refuse(_("This is not a valid URL."), "invalid_url")
    if parts.username or parts.password:
        raise _refuse(_("Put no user name or password in the URL."), "invalid_url")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname, port or SCHEMES[scheme], path


def is_public(address: str) -> bool:
    """Tell whether an IP address is one a webhook may reach (a global unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(url: str) -> Target:
    """Check a webhook URL and choose the address to connect to; raise ValidationFailed.

    Every address the host resolves to must be public (one private address among public ones
    is refused too: which one a client picks is not ours to decide).
    """
    scheme, host, port, path = split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _refuse(
            _("The host %(host)s cannot be resolved.") % {"host": host}, "unresolvable_host"
        ) from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise _refuse(
            _("The host %(host)s cannot be resolved.") % {"host": host}, "unresolvable_host"
        )
    if not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        for address in addresses:
            if not is_public(address):
                raise _refuse(
                    _(
                        "%(host)s is a loopback, private, link-local or reserved address: "
                        "webhooks only go to public hosts."
                    )
                    % {"host": host},
                    "private_address",
                )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
