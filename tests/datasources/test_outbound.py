"""SafeHttpClient: SSRF refusals in every spelling, DNS pinning, limits, and normal use."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import quote

import pytest

from datasources.outbound import (
    OutboundError,
    OutboundPolicy,
    SafeHttpClient,
    forbidden_reason,
)
from tests.datasources.conftest import LocalServer

# -- the SSRF corpus ----------------------------------------------------------------------------

# (URL template, accepted refusal codes). {port} is the trap server's port on 127.0.0.1, so a
# refusal that happened only because nothing listened would show up as a hit on the trap.
SSRF_TARGETS: list[tuple[str, set[str]]] = [
    ("http://127.0.0.1:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://localhost:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://localhost.:{port}/", {"ADDRESS_NOT_ALLOWED", "DNS_FAILED"}),
    ("http://[::1]:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[::ffff:127.0.0.1]:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://169.254.169.254/latest/meta-data/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://2130706433:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://0x7f000001:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://0177.0.0.1:{port}/", {"ADDRESS_NOT_ALLOWED", "INVALID_URL"}),
    ("http://127.1:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://0.0.0.0:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://0:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://10.0.0.1/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://172.16.0.1/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://192.168.1.1/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://100.64.0.1/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[fe80::1]/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[fc00::1]/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[fec0::1]/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://224.0.0.1/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[ff02::1]/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[::]:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[::127.0.0.1]:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://[64:ff9b::a9fe:a9fe]/", {"ADDRESS_NOT_ALLOWED"}),  # NAT64 of 169.254.169.254
    ("http://[2002:7f00:1::]/", {"ADDRESS_NOT_ALLOWED"}),  # 6to4 of 127.0.0.1
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", {"ADDRESS_NOT_ALLOWED"}),  # Teredo
    ("http://example.com@127.0.0.1:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("http://user:secret-pw@127.0.0.1:{port}/", {"ADDRESS_NOT_ALLOWED"}),
    ("file:///etc/passwd", {"SCHEME_NOT_ALLOWED"}),
    ("gopher://127.0.0.1:{port}/_GET", {"SCHEME_NOT_ALLOWED"}),
    ("ftp://127.0.0.1/", {"SCHEME_NOT_ALLOWED"}),
    ("dict://127.0.0.1:11211/stat", {"SCHEME_NOT_ALLOWED"}),
    ("ldap://127.0.0.1/", {"SCHEME_NOT_ALLOWED"}),
]


@pytest.mark.parametrize(("template", "codes"), SSRF_TARGETS, ids=[t for t, _ in SSRF_TARGETS])
def test_ssrf_targets_are_refused(
    client: SafeHttpClient, trap_server: LocalServer, template: str, codes: set[str]
) -> None:
    url = template.format(port=trap_server.port)
    with pytest.raises(OutboundError) as info:
        client.request("GET", url, timeout=2)
    assert info.value.code in codes, info.value
    assert "secret-pw" not in info.value.message
    assert trap_server.requests == []


def test_the_corpus_is_large_enough() -> None:
    assert len(SSRF_TARGETS) >= 15


def test_a_redirect_from_an_allowed_server_to_loopback_is_refused(
    client: SafeHttpClient, local_server: LocalServer, trap_server: LocalServer
) -> None:
    target = trap_server.url("/stolen")
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url(f"/redirect?to={target}"))
    assert info.value.code == "ADDRESS_NOT_ALLOWED"
    assert [r["path"] for r in local_server.requests] == ["/redirect"]
    assert trap_server.requests == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{trap}/",
        "http://2130706433:{trap}/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{trap}/",
    ],
)
def test_every_redirect_hop_is_checked(
    client: SafeHttpClient, local_server: LocalServer, trap_server: LocalServer, location: str
) -> None:
    location = location.format(trap=trap_server.port)
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url(f"/redirect?status=307&to={location}"))
    assert info.value.code in {"ADDRESS_NOT_ALLOWED", "SCHEME_NOT_ALLOWED"}
    assert trap_server.requests == []


def test_a_server_that_is_not_allow_listed_is_refused_even_when_reachable(
    local_server: LocalServer,
) -> None:
    with SafeHttpClient(OutboundPolicy()) as strict, pytest.raises(OutboundError) as info:
        strict.request("GET", local_server.url("/json"))
    assert info.value.code == "ADDRESS_NOT_ALLOWED"
    assert local_server.requests == []


# -- DNS: the address checked is the address connected to ---------------------------------------


class FlippingResolver:
    """An attacker's DNS: a public-looking answer first, then loopback (DNS rebinding)."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port)))]


def test_dns_rebinding_cannot_swap_the_address_after_the_check(
    allow_local: OutboundPolicy, local_server: LocalServer, trap_server: LocalServer
) -> None:
    resolver = FlippingResolver(["127.0.0.2", "127.0.0.1"])
    with SafeHttpClient(allow_local, resolver=resolver) as pinned:
        response = pinned.request("GET", f"http://rebind.test:{local_server.port}/json")
        # One lookup per connection: the vetted answer is the one used for the connect.
        assert resolver.calls == 1
        assert response.status_code == 200
        # The original name still goes out as the Host header.
        assert local_server.requests[0]["headers"]["host"] == f"rebind.test:{local_server.port}"
        # A new connection resolves again, gets the rebound loopback answer and is refused.
        with pytest.raises(OutboundError) as info:
            pinned.request(
                "GET", f"http://other.rebind.test:{trap_server.port}/", headers={"X-Try": "2"}
            )
    assert info.value.code == "ADDRESS_NOT_ALLOWED"
    assert "127.0.0.1" not in info.value.message  # resolved internal IPs are not disclosed
    assert trap_server.requests == []


def test_one_bad_address_among_several_refuses_the_host(allow_local: OutboundPolicy) -> None:
    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    with SafeHttpClient(allow_local, resolver=resolver) as c, pytest.raises(OutboundError) as info:
        c.request("GET", "http://mixed.test/")
    assert info.value.code == "ADDRESS_NOT_ALLOWED"


def test_an_unresolvable_host_is_dns_failed(client: SafeHttpClient) -> None:
    with pytest.raises(OutboundError) as info:
        client.request("GET", "http://does-not-exist.invalid/")
    assert info.value.code == "DNS_FAILED"


def test_an_allow_listed_host_name_may_resolve_to_a_private_address(
    local_server: LocalServer,
) -> None:
    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]

    policy = OutboundPolicy(allow_hosts=frozenset({"Internal.Example."}))
    with SafeHttpClient(policy, resolver=resolver) as c:
        response = c.request("GET", f"http://internal.example:{local_server.port}/json")
        assert response.status_code == 200
        with pytest.raises(OutboundError):
            c.request("GET", f"http://other.example:{local_server.port}/json")


# -- normal use against the allow-listed local server ------------------------------------------


def test_get_json(client: SafeHttpClient, local_server: LocalServer) -> None:
    response = client.request(
        "GET", local_server.url("/json?a=1"), params={"b": "2"}, headers={"X-Test": "yes"}
    )
    assert response.status_code == 200 and response.ok
    assert response.is_json
    assert response.body["ok"] is True
    assert response.body["echo"]["query"] == {"a": "1", "b": "2"}
    assert response.headers["content-type"] == "application/json"
    assert response.elapsed_ms > 0
    assert response.url == local_server.url("/json?a=1&b=2")
    assert local_server.requests[0]["headers"]["x-test"] == "yes"


def test_post_json(client: SafeHttpClient, local_server: LocalServer) -> None:
    response = client.request("POST", local_server.url("/json"), json={"name": "ä", "n": [1, 2]})
    echo = response.body["echo"]
    assert echo["method"] == "POST"
    assert echo["headers"]["content-type"] == "application/json"
    assert json.loads(echo["body"]) == {"name": "ä", "n": [1, 2]}


def test_text_bodies_are_returned_as_text(
    client: SafeHttpClient, local_server: LocalServer
) -> None:
    response = client.request("GET", local_server.url("/text"))
    assert response.body == "plain text"
    assert not response.is_json


def test_error_statuses_are_returned_not_raised(
    client: SafeHttpClient, local_server: LocalServer
) -> None:
    response = client.request("GET", local_server.url("/status?code=503"))
    assert response.status_code == 503 and not response.ok
    assert response.body == {"error": "as requested"}


def test_response_size_cap_by_content_length(
    client: SafeHttpClient, local_server: LocalServer
) -> None:
    ok = client.request("GET", local_server.url("/big?size=1000"))
    assert len(ok.body) == 1000
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url(f"/big?size={64 * 1024 + 1}"))
    assert info.value.code == "RESPONSE_TOO_LARGE"


def test_response_size_cap_while_streaming(
    client: SafeHttpClient, local_server: LocalServer
) -> None:
    # Chunked: no Content-Length to check up front, the cap trips while reading.
    small = client.request("GET", local_server.url("/chunked-big?chunks=8"))
    assert len(small.body) == 8 * 1024
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url("/chunked-big?chunks=200"))
    assert info.value.code == "RESPONSE_TOO_LARGE"


def test_timeout_on_a_hanging_handler(client: SafeHttpClient, local_server: LocalServer) -> None:
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url("/hang?s=3"), timeout=0.5)
    assert info.value.code == "TIMEOUT"


def test_connection_refused_is_connection_failed(allow_local: OutboundPolicy) -> None:
    from tests.datasources.conftest import free_port

    port = free_port()
    policy = OutboundPolicy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    with SafeHttpClient(policy) as c, pytest.raises(OutboundError) as info:
        c.request("GET", f"http://127.0.0.1:{port}/")
    assert info.value.code == "CONNECTION_FAILED"


def test_redirect_within_the_allowed_server(
    client: SafeHttpClient, local_server: LocalServer
) -> None:
    response = client.request("GET", local_server.url("/redirect?to=/json%3Fhop%3D1"))
    assert response.status_code == 200
    assert response.body["echo"]["query"] == {"hop": "1"}
    assert response.history == (local_server.url("/redirect?to=/json%3Fhop%3D1"),)


def test_303_turns_a_post_into_a_get(client: SafeHttpClient, local_server: LocalServer) -> None:
    response = client.request(
        "POST", local_server.url("/redirect?status=303&to=/json"), json={"x": 1}
    )
    assert response.body["echo"]["method"] == "GET"
    assert response.body["echo"]["body"] == ""


def test_307_keeps_method_and_body(client: SafeHttpClient, local_server: LocalServer) -> None:
    response = client.request(
        "POST", local_server.url("/redirect?status=307&to=/json"), json={"x": 1}
    )
    assert response.body["echo"]["method"] == "POST"
    assert response.body["echo"]["body"] == '{"x":1}'


def _redirect_chain(hops: int) -> str:
    path = "/json"
    for _ in range(hops):
        path = "/redirect?to=" + quote(path, safe="")
    return path


def test_redirect_limit(client: SafeHttpClient, local_server: LocalServer) -> None:
    # The fixture's policy allows three redirects.
    assert client.request("GET", local_server.url(_redirect_chain(3))).status_code == 200
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url(_redirect_chain(4)))
    assert info.value.code == "TOO_MANY_REDIRECTS"


def test_credentials_are_dropped_on_a_cross_origin_redirect(
    allow_local: OutboundPolicy, local_server: LocalServer
) -> None:
    # Same server reached under two names = two origins.
    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]

    other = f"http://second.test:{local_server.port}/json"
    with SafeHttpClient(allow_local, resolver=resolver) as c:
        response = c.request(
            "GET",
            f"http://first.test:{local_server.port}/redirect?to={other}",
            headers={"Authorization": "Bearer tok-123", "X-Api-Key": "key-456", "Accept": "*/*"},
        )
    first, second = local_server.requests
    assert first["headers"]["authorization"] == "Bearer tok-123"
    assert "authorization" not in second["headers"]
    assert "x-api-key" not in second["headers"]
    assert second["headers"]["accept"] == "*/*"
    assert response.status_code == 200


def test_cookies_are_not_kept_between_requests(
    client: SafeHttpClient, local_server: LocalServer
) -> None:
    client.request("GET", local_server.url("/json"))
    assert len(client._client.cookies.jar) == 0


def test_bad_input_is_refused_cleanly(client: SafeHttpClient, local_server: LocalServer) -> None:
    cases = [
        ("TRACE", local_server.url("/json"), {}),
        ("GET", "http://", {}),
        ("GET", "not a url at all", {}),
        ("POST", local_server.url("/json"), {"json": {"a": 1}, "content": b"x"}),
        ("GET", local_server.url("/json"), {"timeout": 0}),
    ]
    for method, url, kwargs in cases:
        with pytest.raises(OutboundError) as info:
            client.request(method, url, **kwargs)
        assert info.value.code in {
            "INVALID_REQUEST",
            "INVALID_URL",
            "SCHEME_NOT_ALLOWED",
        }, (method, url)


@pytest.mark.parametrize(
    "headers", [{"X-A": "a\r\nInjected: 1"}, {"Bad Name": "x"}, {"X-A": "\u00e9"}]
)
def test_header_injection_is_refused(
    client: SafeHttpClient, local_server: LocalServer, headers: dict[str, str]
) -> None:
    with pytest.raises(OutboundError) as info:
        client.request("GET", local_server.url("/json"), headers=headers)
    assert info.value.code == "INVALID_REQUEST"
    assert all("injected" not in r["headers"] for r in local_server.requests)


def test_userinfo_is_never_echoed(client: SafeHttpClient, local_server: LocalServer) -> None:
    url = f"http://user:pa55word@127.0.0.2:{local_server.port}/json"
    response = client.request("GET", url)
    assert "pa55word" not in response.url
    with pytest.raises(OutboundError) as info:
        client.request("GET", "http://user:pa55word@10.0.0.1/")
    assert "pa55word" not in str(info.value)


# -- the address classifier ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "192.0.0.1",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:10.0.0.1",
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::1",
        "2002:a00:1::",
        "fd12::1",
        "2001:db8::1",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"],
)
def test_public_addresses(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_policy_from_strings() -> None:
    policy = OutboundPolicy.from_strings(["API.internal.", " "], ["10.0.0.0/8", "fd00::/8"])
    assert policy.allow_hosts == frozenset({"api.internal"})
    assert policy.address_allowed(ipaddress.ip_address("10.2.3.4"))
    assert policy.address_allowed(ipaddress.ip_address("::ffff:10.2.3.4"))
    assert policy.refusal("x", ipaddress.ip_address("10.2.3.4")) is None
    assert policy.refusal("x", ipaddress.ip_address("192.168.0.1")) == "private"
