"""Fetching the links of an upload by URL: public addresses only, every hop checked.

A link comes from a model that may have read a hostile page, and the offline backend runs on the
user's own computer, inside their network: fetched blindly, ``http://127.0.0.1:631/`` or
``http://192.168.1.1/`` would read (and store) what only this computer may see. So each hop
(the link, then every redirect) is resolved here, every address of its host is checked, and the
connection goes to the checked address itself (the ``Host`` header and TLS name stay the link's):
a name cannot resolve to a public address for the check and a private one for the connection.
The address that answered is checked once more before a byte of the body is read.

Refused by default: loopback, private, link-local, multicast, unspecified, reserved and other
non-global addresses. :class:`LinkPolicy` ``allow_private`` lifts that (``NEMO_ALLOW_PRIVATE_URLS=1``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
ALLOW_VARIABLE = "NEMO_ALLOW_PRIVATE_URLS"


class LinkRefused(Exception):
    """A link (or one of its redirects) the policy will not fetch; the message says why."""


def non_public(ip: IPAddress) -> str | None:
    """Why an address is not on the public internet, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address (this computer)"
    if ip.is_unspecified:
        return "an unspecified address (this computer)"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private-network address"
    if ip.is_reserved or not ip.is_global:
        return "an address that is not on the public internet"
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address literal resolves to itself)."""
    try:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise LinkRefused(f"the host name {host} could not be resolved ({exc.strerror or exc})") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found))


@dataclass(frozen=True)
class LinkPolicy:
    """Which addresses links may reach, and how long fetching one upload's links may take."""

    allow_private: bool = False
    deadline_seconds: float = 120.0
    refused: Callable[[IPAddress], str | None] = field(default=non_public)
    resolver: Callable[[str, int], Awaitable[list[IPAddress]]] = field(default=resolve)

    def check(self, ip: IPAddress, host: str) -> None:
        if self.allow_private:
            return
        why = self.refused(ip)
        if why is not None:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise LinkRefused(
                f"{shown} is {why}; links are fetched only from the public internet. "
                f"Set {ALLOW_VARIABLE}=1 to allow links on this computer or the local network"
            )


@contextlib.asynccontextmanager
async def open_link(client: httpx.AsyncClient, url: str, policy: LinkPolicy) -> AsyncIterator[httpx.Response]:
    """GET ``url``, following redirects, every hop checked; yields the final answer, body unread."""
    for _ in range(MAX_REDIRECTS + 1):
        link = httpx.URL(url)
        if link.scheme not in ("http", "https") or not link.host:
            raise LinkRefused(f"{url[:200]} is not an http(s) link")
        host = link.raw_host.decode("ascii")
        port = link.port or (443 if link.scheme == "https" else 80)
        addresses = await policy.resolver(host.strip("[]"), port)
        if not addresses:
            raise LinkRefused(f"the host name {host} has no address")
        for ip in addresses:
            policy.check(ip, host)
        request = client.build_request(
            "GET",
            link.copy_with(host=str(addresses[0])),
            headers={"Host": link.netloc.decode("ascii")},
            extensions={"sni_hostname": host},  # TLS still checks the certificate against the link's name
        )
        answer = await client.send(request, stream=True, follow_redirects=False)
        try:
            policy.check(_peer(answer, addresses[0]), host)
            location = answer.headers.get("location")
            if answer.status_code in _REDIRECTS and location:
                url = str(link.join(location))
                continue
            yield answer
            return
        finally:
            await answer.aclose()
    raise LinkRefused(f"{url[:200]} redirected more than {MAX_REDIRECTS} times")


def _peer(answer: httpx.Response, expected: IPAddress) -> IPAddress:
    """The address the answer really came from."""
    stream = answer.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return expected  # a transport without sockets (tests' mock transports): the address dialled
    return ipaddress.ip_address(str(peer[0]).split("%")[0])
