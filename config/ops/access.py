"""Who may read /metrics: an address in ``METRICS_ALLOWED_IPS`` (addresses or networks) or a caller sending
``Authorization: Bearer <METRICS_TOKEN>``. Neither configured: nobody (the embedded default opens loopback)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.METRICS_ALLOWED_IPS]


def metrics_allowed(client_ip: str | None, authorization: str | None) -> bool:
    token = settings.METRICS_TOKEN
    if token and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return True
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in allowed_networks())
