"""Sending email over SMTP with the standard library: plain, STARTTLS or implicit TLS, with optional AUTH.

Every outcome comes back as a :class:`SendResult`. A 4xx reply, a refused, dropped or timed-out
connection, a TLS or login problem are transient (the message may go through later, or once the
configuration is fixed); a 5xx refusal of the recipient or of the message itself is permanent.

One connection is kept open between sends (``reuse_connection``) and recycled after
``max_messages_per_connection``. If a kept connection turns out to be closed before the message was
handed over, the notifier reconnects once; a message is never resent after the server saw its data.
"""

from __future__ import annotations

import contextlib
import email.errors
import logging
import smtplib
import ssl
import threading
from email.message import Message as RawEmail
from enum import StrEnum
from types import TracebackType

from custdata._clock import Clock
from custdata._clock import utc_now as _utc_now
from custdata._errors import ValidationError
from custdata._telemetry import log_event
from custdata.domain.checks import Checker
from custdata.domain.contact import EmailAddress
from custdata.domain.enums import Channel
from custdata.notify import mime
from custdata.notify.message import LINE_BREAK, Message, ensure_message
from custdata.notify.result import SendResult, scrub

_log = logging.getLogger("custdata.notify.smtp")


class SMTPSecurity(StrEnum):
    """How the connection is protected: not at all, upgraded with STARTTLS, or TLS from the start."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


_DEFAULT_PORTS = {SMTPSecurity.NONE: 25, SMTPSecurity.STARTTLS: 587, SMTPSecurity.SSL: 465}


class _Failed(Exception):
    """Internal: carries a failure result out of the SMTP conversation."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.reason)
        self.result = result


class SMTPNotifier:
    """Delivers email-channel messages through an SMTP server; other channels come back skipped.

    ``sender`` is the From address (``sender_name`` its display name); ``return_path`` the envelope sender
    that receives bounces (default: ``sender``). ``security`` is ``"starttls"`` (default, port 587),
    ``"ssl"`` (port 465) or ``"none"`` (port 25, for a local relay); credentials need TLS.
    ``ssl_context`` defaults to the system's trusted certificates. Thread-safe: sends on one notifier
    share its connection one at a time, so give each worker thread its own notifier for parallel sending.

    >>> notifier = SMTPNotifier("mail.example.com", sender="shop@example.com", sender_name="Example Shop")
    >>> notifier
    SMTPNotifier(host='mail.example.com', port=587, security='starttls')
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        *,
        sender: str | EmailAddress,
        sender_name: str | None = None,
        return_path: str | EmailAddress | None = None,
        security: SMTPSecurity | str = SMTPSecurity.STARTTLS,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        message_id_domain: str | None = None,
        reuse_connection: bool = True,
        max_messages_per_connection: int = 100,
        clock: Clock | None = None,
    ) -> None:
        check = Checker()
        check.text("host", host, max_length=255)
        try:
            self.security = SMTPSecurity(security)
        except ValueError:
            check.add("security", "must be one of none, starttls, ssl")
            self.security = SMTPSecurity.NONE
        if port is None:
            port = _DEFAULT_PORTS[self.security]
        elif check.integer("port", port, minimum=1) and port > 65535:
            check.add("port", "must be at most 65535")
        self.sender = self._address(check, "sender", sender)
        self.return_path = self.sender if return_path is None else self._address(check, "return_path", return_path)
        name_ok = check.text("sender_name", sender_name, optional=True, max_length=256)
        if name_ok and sender_name and LINE_BREAK.search(sender_name):
            check.add("sender_name", "must be one line (no line breaks)")
        if (username is None) != (password is None):
            check.add("password" if password is None else "username", "username and password go together")
        elif username is not None:
            check.text("username", username, max_length=512)
            check.instance("password", password, str)
            if self.security == SMTPSecurity.NONE:
                check.add("security", "must be starttls or ssl when credentials are given (they would travel in clear)")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 3600:
            check.add("timeout", "must be a number of seconds between 0 and 3600")
        check.text("local_hostname", local_hostname, optional=True, max_length=255)
        check.text("message_id_domain", message_id_domain, optional=True, max_length=255)
        check.boolean("reuse_connection", reuse_connection)
        check.integer("max_messages_per_connection", max_messages_per_connection, minimum=1)
        check.done()
        self.host = host
        self.port = port
        self.sender_name = sender_name
        self.message_id_domain = message_id_domain or self.sender.rpartition("@")[2]
        self.reuse_connection = reuse_connection
        self.max_messages_per_connection = max_messages_per_connection
        self.timeout = float(timeout)
        self._username = username
        self._password = password
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._clock: Clock = clock or _utc_now
        self._lock = threading.Lock()
        self._connection: smtplib.SMTP | None = None
        self._sent_on_connection = 0

    @staticmethod
    def _address(check: Checker, path: str, value: str | EmailAddress) -> str:
        try:
            parsed = value if isinstance(value, EmailAddress) else EmailAddress.parse(value)
            return mime.ascii_address(parsed.value) or parsed.value
        except ValidationError as exc:
            check.nested(path, exc)
            return ""

    # -- public --------------------------------------------------------------------------------------

    def send(self, message: Message, /) -> SendResult:
        """Deliver ``message`` by email; the result's ``provider_id`` is its Message-ID."""
        ensure_message(message)
        if message.channel != Channel.EMAIL:
            return SendResult.skipped(f"SMTPNotifier delivers email only, not {message.channel.value}")
        try:
            env = mime.envelope(
                message,
                sender=self.sender,
                sender_name=self.sender_name,
                return_path=self.return_path,
                message_id_domain=self.message_id_domain,
                now=self._clock(),
            )
        except (ValidationError, ValueError, LookupError, email.errors.MessageError) as exc:
            # a message that no email can carry (a checked Message cannot get here; one loaded unchecked can)
            reason = f"the message cannot be written as an email ({type(exc).__name__})"
            log_event(
                _log, "notify.smtp.not_sent", key=message.idempotency_key, outcome="permanent_failure", reason=reason
            )
            return SendResult.permanent(reason)
        with self._lock:
            try:
                result = self._deliver(env)
            except _Failed as failed:
                result = failed.result
        if not result.ok:
            reason = scrub(result.reason or "", message.recipient, message.recipient.rpartition("@")[0], env.rcpt_to)
            result = SendResult(outcome=result.outcome, reason=reason, code=result.code)
            # the provider's reply (scrubbed, but it may still say something of the person) goes to the result only
            log_event(
                _log,
                "notify.smtp.not_sent",
                key=message.idempotency_key,
                outcome=result.outcome.value,
                code=result.code,
            )
        return result

    def build_email(self, message: Message) -> RawEmail:
        """The email that :meth:`send` would deliver for ``message``, to inspect or preview."""
        ensure_message(message)
        return mime.build_email(
            message,
            sender=self.sender,
            sender_name=self.sender_name,
            message_id_domain=self.message_id_domain,
            now=self._clock(),
        )

    def message_id(self, message: Message) -> str:
        """The Message-ID that every send of ``message`` (and of any message with its key) carries."""
        return mime.message_id(message, self.message_id_domain)

    def close(self) -> None:
        """Close the kept connection politely (QUIT); the next send opens a new one."""
        with self._lock:
            self._drop(polite=True)

    def __enter__(self) -> SMTPNotifier:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SMTPNotifier(host={self.host!r}, port={self.port}, security={self.security.value!r})"

    # -- the conversation ----------------------------------------------------------------------------

    def _deliver(self, env: mime.Envelope) -> SendResult:
        for attempt in (1, 2):
            reused = self._connection is not None
            conn = self._connect()
            try:
                code, reply = conn.mail(env.mail_from, ["SMTPUTF8", "BODY=8BITMIME"] if env.smtputf8 else [])
            except smtplib.SMTPNotSupportedError:
                self._reset(conn)
                return SendResult.permanent("the address needs SMTPUTF8, which the server does not offer")
            except (OSError, smtplib.SMTPServerDisconnected) as exc:
                self._drop(polite=False)
                if reused and attempt == 1:
                    continue  # the kept connection had gone stale; nothing of this message was sent
                raise _Failed(self._network_failure(exc, "MAIL FROM")) from None
            if code == 421 and reused and attempt == 1:
                self._drop(polite=False)
                continue
            if code != 250:
                # the sender was refused: a configuration matter, not this message's fault
                raise self._refused(conn, code, reply, "sender refused", always_transient=True)
            return self._recipient_and_data(conn, env)
        raise AssertionError("unreachable: the second attempt always returns or raises")

    def _recipient_and_data(self, conn: smtplib.SMTP, env: mime.Envelope) -> SendResult:
        try:
            code, reply = conn.rcpt(env.rcpt_to)
            if code not in (250, 251):
                raise self._refused(conn, code, reply, "recipient refused")
            try:
                code, reply = conn.data(env.data)
            except smtplib.SMTPDataError as exc:
                raise self._refused(conn, exc.smtp_code, exc.smtp_error, "message refused") from None
            if code != 250:
                raise self._refused(conn, code, reply, "message refused")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop(polite=False)
            raise _Failed(self._network_failure(exc, "the SMTP transaction")) from None
        self._sent_on_connection += 1
        if not self.reuse_connection or self._sent_on_connection >= self.max_messages_per_connection:
            self._drop(polite=True)
        return SendResult.sent(env.message_id, code=code)

    def _refused(
        self, conn: smtplib.SMTP, code: int, reply: bytes | str, what: str, *, always_transient: bool = False
    ) -> _Failed:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        reason = f"{what}: {code} {text}"
        if code == 421:
            self._drop(polite=False)
        else:
            self._reset(conn)
        if 500 <= code < 600 and not always_transient:
            return _Failed(SendResult.permanent(reason, code=code))
        return _Failed(SendResult.transient(reason, code=code))

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            code, _ = conn.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self._drop(polite=False)

    # -- connections ---------------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        conn: smtplib.SMTP | None = None
        try:
            if self.security == SMTPSecurity.SSL:
                conn = smtplib.SMTP_SSL(
                    self.host, self.port, self._local_hostname, timeout=self.timeout, context=self._tls()
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, self._local_hostname, timeout=self.timeout)
            conn.ehlo_or_helo_if_needed()
            if self.security == SMTPSecurity.STARTTLS:
                if not conn.has_extn("starttls"):
                    raise _Failed(SendResult.transient("the server does not offer STARTTLS"))
                conn.starttls(context=self._tls())
                conn.ehlo()
            if self._username is not None and self._password is not None:
                conn.login(self._username, self._password)
        except _Failed:
            _close_quietly(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(conn)
            raise _Failed(
                SendResult.transient("login failed: check the SMTP credentials", code=exc.smtp_code)
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close_quietly(conn)
            raise _Failed(SendResult.transient("the server offers no login (AUTH) method")) from None
        except smtplib.SMTPResponseException as exc:
            _close_quietly(conn)
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            reason = f"the server refused the connection: {exc.smtp_code} {text}"
            raise _Failed(SendResult.transient(reason, code=exc.smtp_code)) from None
        except (OSError, smtplib.SMTPException) as exc:
            _close_quietly(conn)
            raise _Failed(self._network_failure(exc, "connecting")) from None
        log_event(_log, "notify.smtp.connected", host=self.host, port=self.port)
        self._connection = conn
        self._sent_on_connection = 0
        return conn

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _drop(self, *, polite: bool) -> None:
        conn, self._connection = self._connection, None
        if conn is None:
            return
        if polite:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                _close_quietly(conn)
        else:
            _close_quietly(conn)

    def _network_failure(self, exc: BaseException, stage: str) -> SendResult:
        where = f"{self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, OSError):
            exc = exc.__context__  # smtplib reports a read timeout or reset as a disconnect
        if isinstance(exc, ConnectionRefusedError):
            reason = f"connection refused by {where}"
        elif isinstance(exc, TimeoutError):
            reason = f"timed out after {self.timeout:g}s while {stage} ({where})"
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            reason = f"{where} closed the connection during {stage}"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            reason = f"TLS certificate of {where} not trusted: {exc.verify_message}"
        elif isinstance(exc, ssl.SSLError):
            reason = f"TLS failed with {where}: {exc.reason or exc}"
        elif isinstance(exc, ConnectionError):
            reason = f"{where} dropped the connection during {stage}"
        elif isinstance(exc, OSError):
            reason = f"network error with {where} during {stage}: {exc.strerror or type(exc).__name__}"
        else:
            reason = f"SMTP error with {where} during {stage}: {type(exc).__name__}"
        return SendResult.transient(reason)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()
