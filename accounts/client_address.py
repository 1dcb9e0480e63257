"""The address a request came from, for the lockout and the public pages' rate limits.

Behind WEERBAAR_PROXY_COUNT trusted proxies, each appends the address it received the request from
to X-Forwarded-For, so the client is the entry that many places from the right; what stands
further left was written by the client and proves nothing. Without proxies it is the peer
address. (django-ipware prefers a publicly routable address; a municipality's staff reach the
product from private intranet addresses, which must count apart just the same.)"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_address(request) -> str | None:
    peer = request.META.get("REMOTE_ADDR") or None
    count = settings.WEERBAAR_PROXY_COUNT
    if count <= 0:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < count:  # it did not come through all the proxies: the peer is the client
        return peer
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
