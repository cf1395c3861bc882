"""Hook URLs from customers never reach the shop's own network: the address check, after name resolution.

A test server listens on 127.0.0.1 in each test, so a check that let a loopback address through would deliver to
it: "nothing arrived" is what a working check looks like, not what a dead address looks like. The resolver is
injected (host name -> addresses), which is how both the refused and the allowed paths run without DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata.notify import Message, Outcome
from custdata.notify._addresses import AddressPolicy, BlockedAddressError, literal_address, why_not_public

HOOK_HOST = "hooks.shop.test"
SECRET = "a-long-shared-secret"


def hook(url: str, key: str = "cus_1:order_shipped:webhook") -> Message:
    return Message(idempotency_key=key, channel="webhook", topic="order_shipped", recipient=url, text="Shipped.")


def resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> Callable[[str], list[str]]:
    def resolve(host: str) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",  # cloud metadata services
    "100.64.0.7",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.251",
    "240.0.0.1",
    "255.255.255.255",
    "fc00::5",
    "fe80::1",
    "ff02::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize("address", REFUSED)
def test_names_resolving_to_internal_addresses_are_refused(
    make_webhook: Callable[..., Any], http_server: Any, address: str
) -> None:
    notifier = make_webhook(SECRET, resolver=resolver({HOOK_HOST: [address]}), timeout=2, trust_env=False)
    result = notifier.send(hook(http_server.url_at(HOOK_HOST)))
    assert result.outcome == Outcome.PERMANENT_FAILURE, result
    assert "does not connect to" in (result.reason or "")
    assert http_server.requests == [] and http_server.connections == 0


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0x7f.1", "0x7f000001", "017700000001", "127.1", "[::ffff:127.0.0.1]", "[::1]"]
)
def test_addresses_written_as_numbers_are_refused_without_asking_the_resolver(
    make_webhook: Callable[..., Any], http_server: Any, host: str
) -> None:
    calls: list[str] = []
    notifier = make_webhook(SECRET, resolver=resolver({}, calls), trust_env=False)
    result = notifier.send(hook(f"http://{host}:{http_server.port}/hooks/custdata"))
    assert result.outcome == Outcome.PERMANENT_FAILURE, result
    assert http_server.requests == [] and calls == []


def test_the_system_resolver_is_checked_too(make_webhook: Callable[..., Any], http_server: Any) -> None:
    notifier = make_webhook(SECRET, trust_env=False)
    assert notifier.send(hook(http_server.url_at("localhost"))).outcome == Outcome.PERMANENT_FAILURE
    assert http_server.requests == []


def test_a_name_with_one_internal_address_among_public_ones_is_refused_whole(
    make_webhook: Callable[..., Any], http_server: Any
) -> None:
    table = {HOOK_HOST: ["127.0.0.1", "10.0.0.1"]}
    notifier = make_webhook(SECRET, resolver=resolver(table), allowed_networks=["127.0.0.1/32"], trust_env=False)
    result = notifier.send(hook(http_server.url_at(HOOK_HOST)))
    assert result.outcome == Outcome.PERMANENT_FAILURE and "private address" in (result.reason or "")
    assert http_server.requests == []


def test_allowed_networks_pass_and_the_connection_goes_to_the_checked_address(
    make_webhook: Callable[..., Any], http_server: Any
) -> None:
    calls: list[str] = []
    table = {HOOK_HOST: ["127.0.0.1"], "metadata.test": ["169.254.169.254"], "intranet.test": ["10.0.0.8"]}
    notifier = make_webhook(
        SECRET, resolver=resolver(table, calls), allowed_networks=["127.0.0.1/32"], trust_env=False, timeout=2
    )
    # The name exists only in the injected table: a delivery proves the connection went to the address it gave.
    assert notifier.send(hook(http_server.url_at(HOOK_HOST))).ok
    [request] = http_server.requests
    assert request.headers["Host"] == f"{HOOK_HOST}:{http_server.port}", "the URL keeps the name"
    assert calls == [HOOK_HOST]
    for host in ("metadata.test", "intranet.test"):
        assert notifier.send(hook(http_server.url_at(host))).outcome == Outcome.PERMANENT_FAILURE
    assert len(http_server.requests) == 1


def test_a_name_that_does_not_resolve_is_transient(make_webhook: Callable[..., Any], http_server: Any) -> None:
    notifier = make_webhook(SECRET, resolver=resolver({}), trust_env=False)
    result = notifier.send(hook(http_server.url_at("gone.test")))
    assert result.outcome == Outcome.TRANSIENT_FAILURE and "gone.test:" in (result.reason or "")


def test_a_fixed_endpoint_is_trusted_unless_told_otherwise(make_webhook: Callable[..., Any], http_server: Any) -> None:
    sms = Message(idempotency_key="k", channel="sms", topic="support", recipient="+4915112345678", text="Hi")
    assert make_webhook(SECRET, endpoint=http_server.url, trust_env=False).send(sms).ok
    guarded = make_webhook(SECRET, endpoint=http_server.url, block_private_addresses=True, trust_env=False)
    assert guarded.send(sms).outcome == Outcome.PERMANENT_FAILURE
    assert len(http_server.requests) == 1
    open_hooks = make_webhook(SECRET, block_private_addresses=False, trust_env=False)
    assert open_hooks.send(hook(http_server.url)).ok
    assert len(http_server.requests) == 2


# -- redirects: every hop is checked -------------------------------------------------------------------------


def test_a_redirect_to_an_internal_address_is_refused(
    make_webhook: Callable[..., Any], http_server: Any, second_loopback_server: Any
) -> None:
    table = {HOOK_HOST: ["127.0.0.1"], "internal.test": ["127.0.0.2"]}
    http_server.answer(307, headers={"Location": second_loopback_server.url_at("internal.test")})
    notifier = make_webhook(
        SECRET, resolver=resolver(table), allowed_networks=["127.0.0.1/32"], follow_redirects=True, trust_env=False
    )
    result = notifier.send(hook(http_server.url_at(HOOK_HOST)))
    assert result.outcome == Outcome.PERMANENT_FAILURE and "loopback" in (result.reason or "")
    assert len(http_server.requests) == 1
    assert second_loopback_server.requests == [] and second_loopback_server.connections == 0


def test_an_allowed_redirect_is_followed_with_the_same_signed_post(
    make_webhook: Callable[..., Any], http_server: Any, second_loopback_server: Any
) -> None:
    table = {HOOK_HOST: ["127.0.0.1"], "moved.test": ["127.0.0.2"]}
    http_server.answer(308, headers={"Location": second_loopback_server.url_at("moved.test")})
    notifier = make_webhook(
        SECRET,
        resolver=resolver(table),
        allowed_networks=["127.0.0.0/30"],
        follow_redirects=True,
        headers={"Authorization": "Bearer for-the-first-host-only"},
        trust_env=False,
    )
    assert notifier.send(hook(http_server.url_at(HOOK_HOST))).ok
    [first], [moved] = http_server.requests, second_loopback_server.requests
    assert moved.body == first.body
    assert moved.headers["webhook-signature"] == first.headers["webhook-signature"]
    assert first.headers["Authorization"] == "Bearer for-the-first-host-only"
    assert "Authorization" not in moved.headers, "credentials stay with the origin they were given for"


def test_redirect_loops_end(make_webhook: Callable[..., Any], http_server: Any) -> None:
    http_server.answer(302, headers={"Location": "/hooks/custdata"})
    notifier = make_webhook(
        SECRET, resolver=resolver({HOOK_HOST: ["127.0.0.1"]}), allowed_networks=["127.0.0.1/32"], follow_redirects=True
    )
    result = notifier.send(hook(http_server.url_at(HOOK_HOST)))
    assert result.outcome == Outcome.PERMANENT_FAILURE and "too often" in (result.reason or "")
    assert len(http_server.requests) == 6


# -- the rule itself -----------------------------------------------------------------------------------------


@given(st.ip_addresses())
def test_an_address_passes_exactly_when_it_and_what_it_carries_are_global(address: Any) -> None:
    policy = AddressPolicy.build(block=True, resolver=lambda host: [str(address)])
    inner: Any = None
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    plain = inner or address
    public = plain.is_global and not plain.is_multicast and not plain.is_reserved
    assert (why_not_public(address) is None) is public
    if public:
        assert policy.addresses("hooks.shop.test") == [str(address)]
    else:
        with pytest.raises(BlockedAddressError):
            policy.addresses("hooks.shop.test")


@given(st.ip_addresses(v=4))
def test_every_way_of_writing_an_ipv4_address_is_that_address(address: ipaddress.IPv4Address) -> None:
    n = int(address)
    forms = [str(address), str(n), hex(n), oct(n).replace("0o", "0"), f"[::ffff:{address}]"]
    forms.append(".".join(hex(int(part)) for part in str(address).split(".")))
    for form in forms:
        found = literal_address(form)
        assert found is not None, form
        assert ipaddress.ip_address(found).version == 4 or found.ipv4_mapped == address  # type: ignore[union-attr]
        assert int(found) & 0xFFFFFFFF == n, form


def test_junk_from_a_resolver_is_a_resolution_failure() -> None:
    policy = AddressPolicy.build(block=True, resolver=lambda host: ["not-an-address"])
    with pytest.raises(OSError):
        policy.addresses("hooks.shop.test")
    with pytest.raises(OSError):
        AddressPolicy.build(block=True, resolver=lambda host: []).addresses("hooks.shop.test")
