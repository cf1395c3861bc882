"""The suppression list: the email addresses of erased customers, kept as keyed digests.

Erasure removes a customer's addresses, so nothing in the store links the person to them any more; a shop export
read again afterwards would then add the person anew. With a *suppression key*,
:func:`custdata.privacy.erase_customer` adds a digest of each address the person had to the store's suppression
list; :func:`custdata.importing.import_customers` then skips a record whose address is on the list, and
:func:`custdata.importing.import_orders` an order that would add a customer with such an address.

A digest is HMAC-SHA-256 under the key of the address's canonical form. The key stays out of the store (like the
shop secret: from the environment or a secret manager); without it nobody can tell which address a digest stands
for, nor whether a given address is on the list (only how many digests it holds), and nothing can be worked back
from it. The same key must be given to erasure and to every import: digests made under another key match nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from hashlib import sha256

from custdata._errors import ValidationError
from custdata.domain import EmailAddress
from custdata.storage.ports import CustomerRepository, KeepsSuppressions

#: The shortest suppression key accepted, in bytes.
MIN_KEY_BYTES = 16

_LABEL = b"custdata suppression list\x00"


def check_key(key: object, path: str = "suppression_key") -> bytes:
    """``key`` if it is a suppression key (bytes, at least :data:`MIN_KEY_BYTES` long), else a ValidationError
    at ``path``."""
    if not isinstance(key, bytes):
        raise ValidationError.single(path, f"must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValidationError.single(path, f"must be at least {MIN_KEY_BYTES} bytes long, not {len(key)}")
    return key


def email_digest(key: bytes, email: str | EmailAddress) -> str:
    """The digest of ``email`` (by its canonical form) under ``key``: 64 lower-case hex digits."""
    canonical = (email if isinstance(email, EmailAddress) else EmailAddress.parse(email)).canonical
    return hmac.new(key, _LABEL + canonical.encode("utf-8"), sha256).hexdigest()


def keeping(customers: CustomerRepository) -> KeepsSuppressions:
    """``customers`` if its store keeps a suppression list, else a ValidationError at ``suppression_key``."""
    if not isinstance(customers, KeepsSuppressions):
        raise ValidationError.single(
            "suppression_key", f"this store keeps no suppression list ({type(customers).__name__} has no suppress())"
        )
    return customers


def suppress_emails(customers: CustomerRepository, key: bytes, emails: Iterable[str | EmailAddress]) -> int:
    """Add the digests of ``emails`` to the suppression list; how many were new."""
    return keeping(customers).suppress({email_digest(key, email) for email in emails})


def unsuppress_emails(customers: CustomerRepository, key: bytes, emails: Iterable[str | EmailAddress]) -> int:
    """Take the digests of ``emails`` off the suppression list (the person asked to be imported again); how many
    were on it."""
    return keeping(customers).unsuppress({email_digest(key, email) for email in emails})


def suppressed_emails(customers: CustomerRepository, key: bytes, emails: Iterable[EmailAddress]) -> set[str]:
    """The canonical forms of those ``emails`` whose digests are on the suppression list."""
    digests = {email_digest(key, email): email.canonical for email in emails}
    if not digests:
        return set()
    return {digests[d] for d in keeping(customers).suppressed(digests)}
