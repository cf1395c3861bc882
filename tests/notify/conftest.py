"""Real servers on 127.0.0.1 for the notifier tests: aiosmtpd SMTP servers, an HTTP endpoint, TLS certs."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import attrs
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from custdata.notify import AsyncWebhookNotifier, Message, SendResult, WebhookNotifier
from custdata.testing.notifier_contract import Delivery

USERNAME, PASSWORD = "shop", "correct horse battery staple"


class PortZeroController(Controller):
    """An aiosmtpd controller that binds a free port chosen by the kernel (no port guessing, no races)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@attrs.define
class Received:
    """One message as the SMTP server stored it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any
    smtputf8: bool


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, scripted to refuse or drop where a test says.

    ``rcpt``: address -> a refusal reply, or None to accept. ``data``: a reply given instead of accepting.
    ``drop``: the command ("MAIL", "RCPT", "DATA") at which the server hangs up without answering.
    ``close_after_data``: hang up right after accepting each message (a server's idle timeout).
    """

    def __init__(
        self,
        *,
        rcpt: Callable[[str], str | None] | None = None,
        data: str | None = None,
        drop: str | None = None,
        close_after_data: bool = False,
    ) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.rcpt, self.data, self.drop, self.close_after_data = rcpt, data, drop, close_after_data

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.drop == "MAIL":
            server.transport.close()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.drop == "RCPT":
            server.transport.close()
        refusal = self.rcpt(address) if self.rcpt else None
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop == "DATA":
            server.transport.close()
            return "250 OK"
        if self.data:
            return self.data
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content or envelope.content,
                    session.peer,
                    envelope.smtp_utf8,
                )
            )
        if self.close_after_data:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 2.0.0 OK: queued"

    def deliveries(self) -> list[Delivery]:
        with self.lock:
            return [Delivery.from_email(m.data, recipient=m.rcpt_tos[0]) for m in self.messages]


@attrs.define
class SMTPServer:
    controller: Controller
    inbox: Inbox

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def deliveries(self) -> list[Delivery]:
        return self.inbox.deliveries()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def start_smtp() -> Iterator[Callable[..., SMTPServer]]:
    """Start aiosmtpd servers on 127.0.0.1 (``auth=True`` requires login); all stop after the test."""
    started: list[Controller] = []

    def start(
        *,
        auth: bool = False,
        rcpt: Callable[[str], str | None] | None = None,
        data: str | None = None,
        drop: str | None = None,
        close_after_data: bool = False,
        **kwargs: Any,
    ) -> SMTPServer:
        inbox = Inbox(rcpt=rcpt, data=data, drop=drop, close_after_data=close_after_data)
        if auth:
            kwargs.update(authenticator=_authenticator, auth_required=True)
        controller = PortZeroController(inbox, hostname="127.0.0.1", port=0, **kwargs)
        controller.start()
        started.append(controller)
        return SMTPServer(controller, inbox)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SMTPServer]:
    """A plain SMTP server that accepts everything, shared by a module's tests."""
    inbox = Inbox()
    controller = PortZeroController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    yield SMTPServer(controller, inbox)
    controller.stop()


@pytest.fixture(scope="session")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(certificate_authority: trustme.CA) -> ssl.SSLContext:
    """A server context with a freshly generated certificate for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_tls(certificate_authority: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test certificate authority (and nothing else)."""
    context = ssl.create_default_context()
    certificate_authority.configure_trust(context)
    return context


@pytest.fixture
def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (into the backlog) but never says a word: sends time out."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


@pytest.fixture
def greeting_server() -> Iterator[Callable[[bytes], int]]:
    """A raw TCP server that answers every connection with one line (an SMTP greeting) and hangs up."""
    sockets: list[socket.socket] = []

    def start(line: bytes) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        sockets.append(listener)

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.sendall(line)

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    for listener in sockets:
        listener.close()


# -- HTTP -------------------------------------------------------------------------------------------


@attrs.define
class Reply:
    """How the HTTP test server answers a request: status, headers, a delay, or a dropped connection."""

    status: int = 200
    headers: dict[str, str] = attrs.Factory(dict)
    delay: float = 0.0
    drop: bool = False


@attrs.define
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) breaks the pipe; the client's side is what is tested."""


class HTTPServer:
    """A real HTTP/1.1 server in a thread on ``host`` (127.0.0.1) that records requests and answers as ``reply``
    says, keeping connections open between requests; ``connections`` counts the connections it accepted."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Request] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.reply: Callable[[Request], Reply] = lambda request: Reply()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with outer.lock:
                    outer.connections += 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Request(self.path, dict(self.headers.items()), self.rfile.read(length))
                with outer.lock:
                    outer.requests.append(request)
                reply = outer.reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, status: int = 200, **kwargs: Any) -> None:
        """Answer every following request the same way (see :class:`Reply`)."""
        fixed = Reply(status=status, **kwargs)
        self.reply = lambda request: fixed

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return self.url_at(str(self.server.server_address[0]))

    def url_at(self, host: str) -> str:
        """The hook's URL with ``host`` (a name that a test's resolver maps to this server) in it."""
        return f"http://{host}:{self.port}/hooks/custdata"

    def deliveries(self) -> list[Delivery]:
        with self.lock:
            return [Delivery.from_webhook(r.body) for r in self.requests]

    def json(self, index: int = -1) -> Any:
        with self.lock:
            return json.loads(self.requests[index].body)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer()
    yield server
    server.stop()


@pytest.fixture
def second_loopback_server() -> Iterator[HTTPServer]:
    """An HTTP server on 127.0.0.2: this machine too, but outside ``127.0.0.1/32``."""
    try:
        server = HTTPServer("127.0.0.2")
    except OSError as exc:  # only Linux routes all of 127.0.0.0/8 to the loopback interface by default
        pytest.skip(f"cannot listen on 127.0.0.2 here: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_http_server() -> Iterator[HTTPServer]:
    server = HTTPServer()
    yield server
    server.stop()


# -- webhook notifiers, sync and async ------------------------------------------------------------------------


class AsyncInThread:
    """An :class:`~custdata.notify.AsyncWebhookNotifier` driven from synchronous code: its own event loop runs in
    a thread, and ``send`` (callable from any thread) waits for the coroutine there. Sends from several threads
    run concurrently on that one loop and client."""

    def __init__(self, notifier: AsyncWebhookNotifier) -> None:
        self.notifier = notifier
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def send(self, message: Message, /) -> SendResult:
        return asyncio.run_coroutine_threadsafe(self.notifier.send(message), self.loop).result(timeout=60)

    def close(self) -> None:
        """The notifier's ``aclose()``, awaited on its loop (which keeps running for further sends)."""
        asyncio.run_coroutine_threadsafe(self.notifier.aclose(), self.loop).result(timeout=60)

    def shutdown(self) -> None:
        """Close the notifier and stop its loop."""
        if not self.loop.is_running():
            return
        self.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def __repr__(self) -> str:
        return repr(self.notifier)


MakeWebhook = Callable[..., "WebhookNotifier | AsyncInThread"]


@pytest.fixture
def async_in_thread() -> Iterator[Callable[[AsyncWebhookNotifier], AsyncInThread]]:
    """Wrap async notifiers in :class:`AsyncInThread`; their loops stop after the test."""
    made: list[AsyncInThread] = []

    def wrap(notifier: AsyncWebhookNotifier) -> AsyncInThread:
        made.append(AsyncInThread(notifier))
        return made[-1]

    yield wrap
    for runner in made:
        runner.shutdown()


@pytest.fixture(params=["sync", "async"])
def make_webhook(request: pytest.FixtureRequest) -> Iterator[MakeWebhook]:
    """Build a :class:`WebhookNotifier`, or an :class:`AsyncWebhookNotifier` behind :class:`AsyncInThread`
    (the test runs once with each), with the given secret and options; all are closed after the test."""
    made: list[WebhookNotifier | AsyncInThread] = []

    def make(secret: Any, **options: Any) -> WebhookNotifier | AsyncInThread:
        notifier: WebhookNotifier | AsyncInThread
        if request.param == "sync":
            notifier = WebhookNotifier(secret, **options)
        else:
            notifier = AsyncInThread(AsyncWebhookNotifier(secret, **options))
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        if isinstance(notifier, AsyncInThread):
            notifier.shutdown()
        else:
            notifier.close()
