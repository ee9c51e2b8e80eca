"""One outbound HTTP client for the http node, REST data sources and agent tools, safe from SSRF.

The address check and the connect are the same step: a custom httpcore network backend resolves
the host, vets every resolved address and connects to a vetted IP while TLS (SNI, certificate)
and the Host header still use the original name, so DNS rebinding between check and connect is
not possible. Redirects are followed by hand and every hop goes through the same backend.

Residual risks (documented, not handled here): `getaddrinfo` has no timeout of its own, so a
slow resolver can hold a thread up to the system resolver's limits; a TCP connection already in
the pool is reused for the same origin without a new lookup (it was vetted when it was opened).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import certifi
import httpcore
import httpx

__all__ = [
    "OutboundError",
    "OutboundPolicy",
    "OutboundResponse",
    "SafeHttpClient",
    "forbidden_reason",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list[tuple[Any, ...]]]

MiB = 1024 * 1024
ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOWED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Only these caller headers survive a redirect to another origin: anything else may carry a
# credential (API keys travel in custom headers as often as in Authorization).
CROSS_ORIGIN_SAFE_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "content-type"}
)

# Networks refused on top of the `ipaddress` flags, which differ between Python patch releases.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible block
        "100::/64",
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/23",  # IETF protocol assignments, includes Teredo 2001::/32
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")


class OutboundError(Exception):
    """An outbound request that was refused or failed; `code` is stable, `message` is safe."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a mapped, 6to4, Teredo or NAT64 IPv6 address leads to, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why `ip` must not be contacted (e.g. "loopback"), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            if reason is not None:
                return f"{reason} (embedded in IPv6)"
            # A mapped address is the IPv4 host itself, nothing more to check.
            if ip.ipv4_mapped is not None:
                return None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("shared address space", ip in ipaddress.IPv4Network("100.64.0.0/10")),
    )
    for reason, hit in checks:
        if hit:
            return reason
    blocked = _BLOCKED_V4 if isinstance(ip, ipaddress.IPv4Address) else _BLOCKED_V6
    if any(ip in net for net in blocked):
        return "special-purpose"
    if not ip.is_global:
        return "not globally routable"
    return None


def _normalize_host(host: str) -> str:
    """Lower-case, without brackets and without the one trailing dot of an absolute name."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


@dataclass(frozen=True)
class OutboundPolicy:
    """Which destinations outbound requests may reach, and the limits they run under."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    max_response_bytes: int = 10 * MiB
    max_redirects: int = 5
    default_timeout_s: float = 30.0
    verify_tls: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "allow_hosts", frozenset(_normalize_host(h) for h in self.allow_hosts)
        )
        object.__setattr__(
            self,
            "allow_networks",
            tuple(ipaddress.ip_network(n, strict=False) for n in self.allow_networks),
        )

    @classmethod
    def from_strings(
        cls, hosts: Iterable[str] = (), networks: Iterable[str] = (), **limits: Any
    ) -> OutboundPolicy:
        """Build a policy from plain strings, as read from settings or the environment."""
        return cls(
            allow_hosts=frozenset(h for h in hosts if h.strip()),
            allow_networks=tuple(
                ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip()
            ),
            **limits,
        )

    def host_allowed(self, host: str) -> bool:
        """True when the host name itself is allow-listed."""
        return _normalize_host(host) in self.allow_hosts

    def address_allowed(self, ip: IPAddress) -> bool:
        """True when `ip` is inside an allow-listed network (a mapped IPv6 counts as its IPv4)."""
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c in net for c in candidates for net in self.allow_networks)

    def refusal(self, host: str, ip: IPAddress) -> str | None:
        """Why connecting to `ip` for `host` is refused, or None when it is permitted."""
        if self.host_allowed(host) or self.address_allowed(ip):
            return None
        return forbidden_reason(ip)


@dataclass(frozen=True)
class OutboundResponse:
    """What came back: status, lower-cased headers, parsed body, timing and the final URL."""

    status_code: int
    headers: dict[str, str]
    body: Any
    elapsed_ms: float
    url: str
    content_type: str = ""
    history: tuple[str, ...] = field(default=())
    is_json: bool = False

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status_code < 300


class _RedactUrlFilter(logging.Filter):
    """httpx logs every request's full URL at INFO: a query string can carry an API key."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                _redacted_url(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _redacted_url(url: httpx.URL) -> str:
    """The URL without userinfo, query string or fragment (a marker shows a query was there)."""
    bare = url.copy_with(userinfo=b"", query=None, fragment=None)
    return f"{bare}?[redacted]" if url.query else str(bare)


def _install_log_redaction() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactUrlFilter) for f in logger.filters):
        logger.addFilter(_RedactUrlFilter())


_install_log_redaction()


class _VettingBackend(httpcore.SyncBackend):
    """Resolves, vets and connects in one step so the checked address is the one used."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver

    def vetted_addresses(self, host: str, port: int) -> list[tuple[int, str]]:
        """(family, ip) pairs for host, after checking every resolved address."""
        name = _normalize_host(host)
        try:
            infos = self._resolver(name, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundError(f"Could not resolve host {name!r}.", "DNS_FAILED") from exc
        addresses: list[tuple[int, str]] = []
        for family, _type, _proto, _canon, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            text = str(sockaddr[0])
            try:
                ip = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError as exc:
                raise OutboundError(
                    f"Host {name!r} resolved to an unusable address.", "ADDRESS_NOT_ALLOWED"
                ) from exc
            reason = self._policy.refusal(name, ip)
            if reason is not None:
                # Name the address only when the caller wrote it: a resolved internal IP is
                # information about the private network.
                if _is_ip_literal(name):
                    message = f"Refusing to connect to {name}: {reason} addresses are not allowed."
                else:
                    message = (
                        f"Refusing to connect to {name!r}: it resolves to a {reason} address,"
                        " which is not allowed."
                    )
                raise OutboundError(message, "ADDRESS_NOT_ALLOWED")
            if (family, text) not in addresses:
                addresses.append((family, text))
        if not addresses:
            raise OutboundError(f"Could not resolve host {name!r}.", "DNS_FAILED")
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first reachable vetted address of host, never to a fresh lookup."""
        last_error: httpcore.ConnectError | None = None
        for _family, ip in self.vetted_addresses(host, port):
            try:
                # An IP literal: create_connection does no DNS lookup for it.
                return super().connect_tcp(ip, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError("no address")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        """Unix sockets are local by definition and never allowed."""
        raise OutboundError("Unix sockets are not allowed.", "ADDRESS_NOT_ALLOWED")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _map_transport_error(exc: Exception, host: str) -> OutboundError:
    """Translate an httpcore error into an OutboundError that names only the host."""
    if isinstance(exc, httpcore.TimeoutException):
        return OutboundError(f"Request to {host!r} timed out.", "TIMEOUT")
    if isinstance(exc, httpcore.ConnectError):
        return OutboundError(f"Could not connect to {host!r}.", "CONNECTION_FAILED")
    if isinstance(exc, httpcore.LocalProtocolError):
        return OutboundError(
            "The request is not valid HTTP (check header names and values).", "INVALID_REQUEST"
        )
    if isinstance(exc, httpcore.ProtocolError):
        return OutboundError(f"{host!r} answered with invalid HTTP.", "INVALID_RESPONSE")
    return OutboundError(f"Request to {host!r} failed.", "CONNECTION_FAILED")


class _ResponseStream(httpx.SyncByteStream):
    """Wraps the httpcore body so read errors surface as OutboundError."""

    def __init__(self, stream: Iterable[bytes], host: str) -> None:
        self._stream = stream
        self._host = host

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise _map_transport_error(exc, self._host) from exc

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _PinnedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose network backend vets every connect."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver) -> None:
        if policy.verify_tls:
            ssl_context = ssl.create_default_context(cafile=certifi.where())
        else:
            ssl_context = ssl.create_default_context()
            ssl_context.check_hostname = False
            ssl_context.verify_mode = ssl.CERT_NONE
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_VettingBackend(policy, resolver),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core_request)
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise _map_transport_error(exc, host) from exc
        except httpcore.UnsupportedProtocol as exc:
            raise OutboundError("Only http and https are allowed.", "SCHEME_NOT_ALLOWED") from exc
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, host),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def _refuse_all_cookies() -> CookieJar:
    """A jar that stores nothing: a shared client must not carry one caller's cookies to another."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _check_url(url: httpx.URL) -> None:
    if url.scheme not in ALLOWED_SCHEMES:
        scheme = url.scheme or "(none)"
        raise OutboundError(
            f"URL scheme {scheme!r} is not allowed; use http or https.", "SCHEME_NOT_ALLOWED"
        )
    if not url.host:
        raise OutboundError("The URL has no host.", "INVALID_URL")


def _parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        # The exception text can contain the URL (and its userinfo): not even chained.
        raise OutboundError("The URL is not valid.", "INVALID_URL") from None
    _check_url(parsed)
    return parsed


def _public_url(url: httpx.URL) -> str:
    """The URL without userinfo, safe to return and log."""
    return str(url.copy_with(userinfo=b"")) if url.userinfo else str(url)


def _decode_body(content: bytes, content_type: str, charset: str | None) -> tuple[Any, bool]:
    """(body, parsed_as_json): JSON for a JSON content type, text otherwise."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return (json.loads(content) if content.strip() else None), True
        except (ValueError, UnicodeDecodeError):
            pass  # a server that lies about JSON still gets its text returned
    try:
        return content.decode(charset or "utf-8", errors="replace"), False
    except LookupError:
        return content.decode("utf-8", errors="replace"), False


class SafeHttpClient:
    """Sends requests under an OutboundPolicy; thread-safe, reuse one per process."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        resolver: Resolver = socket.getaddrinfo,
        user_agent: str = "Conflux/1.0",
    ) -> None:
        self.policy = policy or OutboundPolicy()
        self._client = httpx.Client(
            transport=_PinnedTransport(self.policy, resolver),
            follow_redirects=False,
            trust_env=False,  # environment proxies would connect somewhere we never vetted
            cookies=_refuse_all_cookies(),
            headers={"User-Agent": user_agent},
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def __enter__(self) -> SafeHttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
    ) -> OutboundResponse:
        """Send one request, following allowed redirects, and return the decoded response."""
        method = method.upper()
        if method not in ALLOWED_METHODS:
            raise OutboundError(f"HTTP method {method!r} is not allowed.", "INVALID_REQUEST")
        if json is not None and content is not None:
            raise OutboundError("Give either json or content, not both.", "INVALID_REQUEST")
        budget = self.policy.default_timeout_s if timeout is None else float(timeout)
        if budget <= 0:
            raise OutboundError("The timeout must be positive.", "INVALID_REQUEST")
        started = time.monotonic()
        deadline = started + budget

        current = _parse_url(url)
        if params:
            # Merge into the URL's own query string (httpx would replace it).
            current = current.copy_merge_params(dict(params))
        caller_headers = dict(headers or {})
        body_kwargs: dict[str, Any] = {"json": json} if json is not None else {}
        if content is not None:
            body_kwargs = {"content": content}
        history: list[str] = []

        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OutboundError(f"Request to {current.host!r} timed out.", "TIMEOUT")
            try:
                request = self._client.build_request(
                    method,
                    current,
                    headers=caller_headers,
                    timeout=httpx.Timeout(remaining),
                    **body_kwargs,
                )
            except (TypeError, ValueError):
                # Header values can be credentials; the original error would quote them.
                raise OutboundError(
                    "The request could not be encoded.", "INVALID_REQUEST"
                ) from None
            try:
                response = self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                # Our transport maps network errors itself; this is what httpx raises on its own
                # (e.g. an invalid header value), reported without the request's details.
                raise OutboundError(
                    f"The request to {current.host!r} could not be sent.", "INVALID_REQUEST"
                ) from exc
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    if len(history) >= self.policy.max_redirects:
                        raise OutboundError(
                            f"More than {self.policy.max_redirects} redirects.",
                            "TOO_MANY_REDIRECTS",
                        )
                    try:
                        target = request.url.join(location)
                    except (httpx.InvalidURL, ValueError) as exc:
                        raise OutboundError(
                            "A redirect pointed to an invalid URL.", "INVALID_URL"
                        ) from exc
                    _check_url(target)
                    history.append(_public_url(request.url))
                    if not _same_origin(request.url, target):
                        caller_headers = {
                            k: v
                            for k, v in caller_headers.items()
                            if k.lower() in CROSS_ORIGIN_SAFE_HEADERS
                        }
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method = "GET" if method != "HEAD" else method
                        body_kwargs = {}
                        caller_headers = {
                            k: v for k, v in caller_headers.items() if k.lower() != "content-type"
                        }
                    current = target
                    continue
                content_bytes = self._read_capped(response, deadline)
            finally:
                response.close()

            content_type = response.headers.get("content-type", "")
            body, is_json = _decode_body(content_bytes, content_type, response.charset_encoding)
            return OutboundResponse(
                status_code=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=body,
                is_json=is_json,
                elapsed_ms=round((time.monotonic() - started) * 1000, 3),
                url=_public_url(request.url),
                content_type=content_type,
                history=tuple(history),
            )

    def _read_capped(self, response: httpx.Response, deadline: float) -> bytes:
        """Read the (decoded) body, refusing more than the policy's byte cap or time budget."""
        cap = self.policy.max_response_bytes
        host = response.request.url.host
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise OutboundError(
                f"The response is larger than the {cap} byte limit.", "RESPONSE_TOO_LARGE"
            )
        chunks: list[bytes] = []
        total = 0
        try:
            # iter_bytes decompresses, so the cap also stops compression bombs.
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > cap:
                    raise OutboundError(
                        f"The response is larger than the {cap} byte limit.",
                        "RESPONSE_TOO_LARGE",
                    )
                # A server that trickles bytes never trips the per-read timeout.
                if time.monotonic() > deadline:
                    raise OutboundError(f"Request to {host!r} timed out.", "TIMEOUT")
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise OutboundError(
                f"{host!r} sent a body that could not be decoded.", "INVALID_RESPONSE"
            ) from exc
        return b"".join(chunks)


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)
