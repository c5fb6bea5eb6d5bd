"""Optional single sign-on through a reverse proxy's authenticated-user header (off by default).

Set `sso_header` (e.g. X-Remote-User) and `sso_trusted_proxies` (the proxies' addresses). The
header is honoured only on requests whose direct peer is one of those proxies, and only for an
existing, enabled account: the proxy authenticates, this app still authorises by the account's
role. Do not put a middleware that rewrites REMOTE_ADDR from X-Forwarded-For (werkzeug ProxyFix)
in front of the app while SSO is on: the peer address is what makes the header trustworthy, and
the proxy must strip the header from what clients send.
"""
from __future__ import annotations

import ipaddress
from typing import Mapping


def trusted_username(settings, remote_addr: str | None, headers: Mapping[str, str]) -> str | None:
    """The user name the proxy vouches for, or None (SSO off, untrusted peer, or no header)."""
    if not settings.sso_header or not settings.sso_trusted_proxies or not remote_addr:
        return None
    value = (headers.get(settings.sso_header) or "").strip()
    if not value or not _is_trusted(remote_addr, settings.sso_trusted_proxies):
        return None
    return value


def _is_trusted(remote_addr: str, proxies) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)
