"""Signed, expiring, single-use tokens that prove a customer controls an email address.

A token is ``cdv1.<payload>.<signature>`` in URL-safe base64: the payload names the customer, the customer's
``version`` when the token was issued, the expiry time, a keyed digest of the address (the address itself
never appears in the token, which ends up in links and logs) and a random nonce; the signature is an
HMAC-SHA256 over the payload with a key derived from the application's secret.

Binding the token to the customer's version makes it single-use: completing the verification updates the
customer, which bumps the version, so the same token is then refused as ``used``. Any other change to the
customer in between has the same effect; the application simply issues a new token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from custdata._errors import TokenError, ValidationError
from custdata.domain import Customer, EmailAddress
from custdata.domain.checks import Checker

_PREFIX = "cdv1"
_MAX_TOKEN = 1024
_MIN_SECRET = 16
_DIGEST = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict decoding: only the alphabet, no padding, and only the one canonical spelling of the bytes."""
    if not text or not text.isascii():
        raise ValueError("not base64")
    data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data


class _Keys:
    """The two keys derived from one secret: one signs tokens, one digests addresses."""

    __slots__ = ("address", "sign")

    def __init__(self, secret: bytes) -> None:
        self.sign = hmac.new(secret, b"custdata verification token signature", hashlib.sha256).digest()
        self.address = hmac.new(secret, b"custdata verification token address", hashlib.sha256).digest()

    def signature(self, payload: bytes) -> bytes:
        return hmac.new(self.sign, payload, hashlib.sha256).digest()

    def digest(self, email: EmailAddress) -> str:
        return hmac.new(self.address, email.canonical.encode("utf-8"), hashlib.sha256).digest()[:_DIGEST].hex()


class VerificationTokens:
    """Issues and checks verification tokens with an application secret (at least 16 random bytes).

    ``ttl`` is how long a token stays valid. ``previous_secrets`` are still accepted when checking (not used
    for issuing), so that a secret can be rotated without breaking the links already sent.

    >>> tokens = VerificationTokens(VerificationTokens.new_secret())
    >>> tokens
    VerificationTokens(ttl=datetime.timedelta(days=1))
    """

    def __init__(
        self, secret: bytes, *, ttl: timedelta = timedelta(days=1), previous_secrets: Iterable[bytes] = ()
    ) -> None:
        check = Checker()
        previous = tuple(previous_secrets) if isinstance(previous_secrets, Iterable) else None
        for path, value in (("secret", secret), *((f"previous_secrets[{i}]", s) for i, s in enumerate(previous or ()))):
            if not isinstance(value, bytes):
                check.add(path, f"must be bytes, not {type(value).__name__}")
            elif len(value) < _MIN_SECRET:
                check.add(path, f"must be at least {_MIN_SECRET} bytes long (use VerificationTokens.new_secret())")
        if previous is None:
            check.add("previous_secrets", "must be an iterable of bytes")
        if not isinstance(ttl, timedelta) or not timedelta(0) < ttl <= timedelta(days=90):
            check.add("ttl", "must be a timedelta longer than zero and at most 90 days")
        check.done()
        self.ttl = ttl
        self._keys = (_Keys(secret), *(_Keys(s) for s in previous or ()))

    @staticmethod
    def new_secret() -> bytes:
        """32 random bytes from :mod:`secrets`, fit to be the application's secret."""
        return secrets.token_bytes(32)

    def issue(self, customer: Customer, address: EmailAddress | str | None = None, *, now: datetime) -> str:
        """A token proving control of ``address`` (the customer's primary email by default) once returned.

        The address must be one of the customer's email addresses. Raises :class:`custdata.ValidationError`.
        """
        check = Checker()
        check.timestamp("now", now)
        check.instance("customer", customer, Customer)
        check.done()
        email = own_address(customer, address)
        expires = int((now + self.ttl).timestamp())
        fields = (
            str(customer.id),
            str(customer.version),
            str(expires),
            self._keys[0].digest(email),
            _b64(secrets.token_bytes(9)),
        )
        payload = "\n".join(fields).encode("utf-8")
        return f"{_PREFIX}.{_b64(payload)}.{_b64(self._keys[0].signature(payload))}"

    def verify(self, token: str, customer: Customer, *, now: datetime) -> EmailAddress:
        """The address that ``token`` proves for ``customer`` (as the customer is now), or a TokenError.

        The reasons are checked in this order: malformed, tampered, foreign (another customer), expired, used
        (the customer changed since it was issued), foreign (the address is no longer the customer's).
        """
        check = Checker()
        check.timestamp("now", now)
        check.instance("customer", customer, Customer)
        check.done()
        if not isinstance(token, str) or len(token) > _MAX_TOKEN:
            raise TokenError("malformed", "is not a verification token")
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise TokenError("malformed", "is not a verification token")
        try:
            payload, signature = _unb64(parts[1]), _unb64(parts[2])
        except (ValueError, binascii.Error):
            raise TokenError("malformed", "is not a verification token") from None
        keys = next((k for k in self._keys if hmac.compare_digest(k.signature(payload), signature)), None)
        if keys is None:
            raise TokenError("tampered", "has an invalid signature: it was altered or signed with another secret")
        try:
            customer_id, version, expires, digest, _nonce = payload.decode("utf-8").split("\n")
            expires_at = datetime.fromtimestamp(int(expires), UTC)
            issued_version = int(version)
        except (ValueError, OverflowError, OSError):
            raise TokenError("malformed", "is not a verification token") from None
        if customer_id != str(customer.id):
            raise TokenError("foreign", "was issued for another customer")
        if now > expires_at:
            raise TokenError("expired", "has expired; ask for a new one")
        if issued_version != customer.version:
            raise TokenError("used", "was already used, or the customer changed since it was issued; ask for a new one")
        for email in customer.emails:
            if hmac.compare_digest(keys.digest(email), digest):
                return email
        raise TokenError("foreign", "was issued for an address the customer no longer has")

    def __repr__(self) -> str:
        return f"VerificationTokens(ttl={self.ttl!r})"


def own_address(customer: Customer, address: EmailAddress | str | None) -> EmailAddress:
    """The customer's own spelling of ``address`` (the primary email when ``None``); a
    :class:`custdata.ValidationError` naming ``address`` when the customer has no such address."""
    if address is None:
        if customer.email is None:
            raise ValidationError.single("address", "is required: the customer has no primary email")
        return customer.email
    if isinstance(address, str):
        try:
            address = EmailAddress.parse(address)
        except ValidationError as exc:
            raise exc.prefixed("address") from None
    if not isinstance(address, EmailAddress):
        raise ValidationError.single("address", f"must be an email address, not {type(address).__name__}")
    for email in customer.emails:
        if email.canonical == address.canonical:
            return email
    raise ValidationError.single("address", "is not one of the customer's email addresses")
