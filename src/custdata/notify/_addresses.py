"""Which network addresses a webhook may connect to, decided on the address itself, after name resolution.

A hook URL that comes from a customer must not reach the shop's own network: loopback, private ranges, link-local
(cloud metadata services live there), multicast, reserved and unspecified addresses, and the IPv6 forms that carry
such an IPv4 address inside (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 and Teredo). The check
runs on every address a name resolves to, at the moment of connecting, and the connection then goes to exactly the
address that was checked: a name cannot be checked as one address and reached as another (DNS rebinding).

Hosts written as numbers are read the way the C library reads them (``2130706433``, ``0x7f.1``, ``017700000001``
are all 127.0.0.1) and checked as those addresses, without asking a resolver.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence

import attrs

from custdata._errors import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Resolves a host name to the IP addresses (as text) it may be reached at.
Resolver = Callable[[str], Iterable[str]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMERIC_HOST = frozenset("0123456789abcdefABCDEFxX.")
_MAX_ADDRESSES = 64


class BlockedAddressError(Exception):
    """A connection was refused before it was made: the host is, or resolves to, a non-public address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def system_resolver(host: str) -> list[str]:
    """The addresses the operating system's resolver gives for ``host`` (TCP), in its order of preference."""
    found: list[str] = []
    try:
        answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except UnicodeError:  # a label the IDNA codec refuses (empty, longer than 63 characters)
        raise OSError("the host name is not valid") from None
    for _family, _type, _proto, _name, sockaddr in answers:
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names when it is written as one (any form the C library accepts), else None."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and set(text) <= _NUMERIC_HOST and any(c.isdigit() for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and leads to (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def why_not_public(address: IPAddress) -> str | None:
    """Why ``address`` is no public unicast address (loopback, private...), or None when it is one."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = why_not_public(inner)
        return f"{reason} (inside an IPv6 address)" if reason else None
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


def _networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    if isinstance(values, (str, bytes)):
        raise ValidationError.single("allowed_networks", "must be a list of networks, not one string")
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except (TypeError, ValueError):
            raise ValidationError.single("allowed_networks", f"{value!r} is not an IP network") from None
    return tuple(networks)


@attrs.frozen
class AddressPolicy:
    """Where connections may go. ``block`` refuses every non-public address except those in ``allowed``;
    ``resolver`` turns host names into addresses (the system's by default)."""

    block: bool
    allowed: tuple[IPNetwork, ...] = ()
    resolver: Resolver = system_resolver

    @classmethod
    def build(
        cls, *, block: bool, allowed_networks: Iterable[str] = (), resolver: Resolver | None = None
    ) -> AddressPolicy:
        if resolver is not None and not callable(resolver):
            raise ValidationError.single("resolver", "must be a function from a host name to addresses")
        return cls(block=block, allowed=_networks(allowed_networks), resolver=resolver or system_resolver)

    def refusal(self, address: IPAddress) -> str | None:
        """Why a connection to ``address`` is refused, or None when it may go ahead."""
        if not self.block:
            return None
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        for network in self.allowed:
            if any(c.version == network.version and c in network for c in candidates):
                return None
        return why_not_public(address)

    def addresses(self, host: str) -> Sequence[str]:
        """The checked addresses to connect to for ``host``, in order.

        Raises :class:`BlockedAddressError` when any address ``host`` stands for is refused (a name that
        resolves to a public and a private address is refused whole), and OSError when it cannot be resolved.
        """
        literal = literal_address(host)
        if literal is not None:
            found: list[IPAddress] = [literal]
        else:
            found = []
            for text in list(self.resolver(host))[:_MAX_ADDRESSES]:
                try:
                    found.append(ipaddress.ip_address(text))
                except (TypeError, ValueError):
                    raise OSError(f"the resolver gave {text!r} for a host, which is no IP address") from None
            if not found:
                raise OSError("the host name resolves to no address")
        for address in found:
            reason = self.refusal(address)
            if reason is not None:
                shown = "the host" if literal is not None else "the host name"
                raise BlockedAddressError(f"{shown} leads to {reason}, which this notifier does not connect to")
        return [str(address) for address in found]
