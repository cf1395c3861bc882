"""The HTTP side of the webhook notifiers, on httpx: pooled keep-alive connections, checked addresses, and what
an answer or a failure means as a :class:`SendResult`.

Imported only when a webhook notifier is built, so that ``custdata.notify`` stays light without the ``webhooks``
extra. Addresses are checked in the network backend, the one place where httpx connects: every connection, of the
first request and of each redirect alike, goes to an address the :class:`AddressPolicy` has just approved, while the
URL (and so the Host header, the TLS server name and the certificate check) keeps the host name.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio.to_thread
import httpcore
import httpx

from custdata.notify._addresses import AddressPolicy, BlockedAddressError
from custdata.notify.result import SendResult

Now = Callable[[], datetime]
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]

#: Redirects followed at most, when following is allowed at all.
MAX_REDIRECTS = 5
#: Bytes of an answer's body read (and thrown away) before the connection goes back to the pool.
MAX_ANSWER_BYTES = 65536
_TRANSIENT_STATUS = frozenset({408, 425, 429})
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


# -- connecting only to checked addresses ------------------------------------------------------------------


class _CheckedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.addresses(host)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        options = list(socket_options or ())
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # addresses() returns at least one address or raises
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> httpcore.NetworkStream:
        raise BlockedAddressError("a Unix socket is no network address")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncCheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await anyio.to_thread.run_sync(self._policy.addresses, host)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        options = list(socket_options or ())
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("a Unix socket is no network address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def sync_client(
    *, policy: AddressPolicy | None, ssl_context: ssl.SSLContext, trust_env: bool, timeout: float
) -> httpx.Client:
    """A client that keeps connections open; with ``policy`` every connection goes to a checked address (and
    no proxy from the environment is used: a proxy would resolve names where they cannot be checked)."""
    if policy is None:
        return httpx.Client(verify=ssl_context, trust_env=trust_env, timeout=timeout, limits=_LIMITS)
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False, limits=_LIMITS)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=_LIMITS.max_connections,
        max_keepalive_connections=_LIMITS.max_keepalive_connections,
        keepalive_expiry=_LIMITS.keepalive_expiry,
        network_backend=_CheckedBackend(policy),
    )
    return httpx.Client(transport=transport, trust_env=False, timeout=timeout)


def async_client(
    *, policy: AddressPolicy | None, ssl_context: ssl.SSLContext, trust_env: bool, timeout: float
) -> httpx.AsyncClient:
    """The asynchronous twin of :func:`sync_client`."""
    if policy is None:
        return httpx.AsyncClient(verify=ssl_context, trust_env=trust_env, timeout=timeout, limits=_LIMITS)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False, limits=_LIMITS)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=_LIMITS.max_connections,
        max_keepalive_connections=_LIMITS.max_keepalive_connections,
        keepalive_expiry=_LIMITS.keepalive_expiry,
        network_backend=_AsyncCheckedBackend(policy),
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, timeout=timeout)


# -- posting -----------------------------------------------------------------------------------------------


class Post:
    """One signed POST, and the decisions about its answer, shared by the sync and async notifiers.

    ``headers`` go with every hop; ``extra`` (the user's own headers, which may hold credentials) only to the
    origin first asked. ``provider_id`` is what a sent result carries.
    """

    def __init__(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        extra: Mapping[str, str],
        provider_id: str,
        follow_redirects: bool,
        timeout: float,
        now: Now,
    ) -> None:
        self.target = httpx.URL(url)
        self.origin = self.target
        self.body = body
        self._headers = dict(headers)
        self._extra = dict(extra)
        self.provider_id = provider_id
        self.follow_redirects = follow_redirects
        self.timeout = timeout
        self._now = now
        self.hops = 0

    @property
    def where(self) -> str:
        """``host:port`` of the current target, for reasons (never the path: hook paths often hold tokens)."""
        return self.target.netloc.decode("ascii", "replace")

    def headers(self) -> dict[str, str]:
        same_origin = (self.target.scheme, self.target.host, self.target.port) == (
            self.origin.scheme,
            self.origin.host,
            self.origin.port,
        )
        return {**self._extra, **self._headers} if same_origin else dict(self._headers)

    def answered(self, status: int, headers: httpx.Headers) -> SendResult | None:
        """The result of an answer, or None when the POST goes on to :attr:`target` (a redirect followed)."""
        if 200 <= status < 300:
            return SendResult.sent(self.provider_id, code=status)
        where = self.where
        if status >= 500 or status in _TRANSIENT_STATUS:
            retry_after = retry_after_seconds(headers.get("Retry-After"), self._now())
            return SendResult.transient(f"{where} answered HTTP {status}", code=status, retry_after=retry_after)
        if 300 <= status < 400:
            location = headers.get("Location")
            if not self.follow_redirects or not location or status in (300, 304, 305, 306):
                return SendResult.permanent(
                    f"{where} answered with a redirect (HTTP {status}), which is not followed", code=status
                )
            return self._redirect(status, location)
        return SendResult.permanent(f"{where} refused the message with HTTP {status}", code=status)

    def _redirect(self, status: int, location: str) -> SendResult | None:
        where = self.where
        if self.hops >= MAX_REDIRECTS:
            return SendResult.permanent(f"{where} redirected once too often (more than {MAX_REDIRECTS})", code=status)
        try:
            target = self.target.join(location)
        except (httpx.InvalidURL, ValueError):
            return SendResult.permanent(f"{where} redirected to an invalid URL (HTTP {status})", code=status)
        if target.scheme not in ("http", "https") or not target.host:
            return SendResult.permanent(f"{where} redirected to a URL that is not http(s) (HTTP {status})", code=status)
        if self.target.scheme == "https" and target.scheme == "http":
            return SendResult.permanent(f"{where} redirected from https to plain http, which is not followed")
        self.target = target
        self.hops += 1
        return None

    def failed(self, exc: BaseException) -> SendResult:
        """The result of a request that got no answer."""
        where = self.where
        if isinstance(exc, BlockedAddressError):
            return SendResult.permanent(f"not sent to {where}: {exc.reason}")
        if isinstance(exc, httpx.TimeoutException):
            return SendResult.transient(f"timed out after {self.timeout:g}s waiting for {where}")
        root = _root_cause(exc)
        if isinstance(exc, httpx.ConnectError):
            if isinstance(root, ConnectionRefusedError):
                return SendResult.transient(f"connection refused by {where}")
            if isinstance(root, ssl.SSLCertVerificationError):
                return SendResult.transient(f"TLS certificate of {where} not trusted: {root.verify_message}")
            if isinstance(root, ssl.SSLError):
                return SendResult.transient(f"TLS failed with {where}: {root.reason or root}")
            if isinstance(root, OSError) and root.strerror:
                return SendResult.transient(f"could not connect to {where}: {root.strerror}")
            return SendResult.transient(f"could not connect to {where}")
        if isinstance(exc, httpx.ProxyError):
            return SendResult.transient(f"the proxy did not pass the message on to {where}")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return SendResult.transient(f"{where} dropped the connection or sent no valid HTTP response")
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL, ValueError)):
            return SendResult.permanent(f"the request to {where} could not be made ({type(exc).__name__})")
        return SendResult.transient(f"network error with {where}: {type(exc).__name__}")


_NO_ANSWER = (httpx.HTTPError, httpx.InvalidURL, BlockedAddressError, ValueError)


def post(client: httpx.Client, request: Post) -> SendResult:
    """Send ``request`` with ``client``, following redirects as it allows; every outcome as a result."""
    while True:
        try:
            with client.stream(
                "POST", request.target, content=request.body, headers=request.headers(), follow_redirects=False
            ) as response:
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
                status, headers = response.status_code, response.headers
        except _NO_ANSWER as exc:
            return request.failed(exc)
        result = request.answered(status, headers)
        if result is not None:
            return result


async def apost(client: httpx.AsyncClient, request: Post) -> SendResult:
    """The asynchronous twin of :func:`post`."""
    while True:
        try:
            async with client.stream(
                "POST", request.target, content=request.body, headers=request.headers(), follow_redirects=False
            ) as response:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
                status, headers = response.status_code, response.headers
        except _NO_ANSWER as exc:
            return request.failed(exc)
        result = request.answered(status, headers)
        if result is not None:
            return result


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), 86_400.0))


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        assert nxt is not None
        exc = nxt
    return exc
