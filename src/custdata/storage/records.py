"""Backend-neutral record handling: entities to rows, search arguments to keys, cursors to keys and back.

Every store, in memory or SQL, derives the same indexed values from an entity here, so that searches match
the same records everywhere:

- a document (the entity serialized with :func:`custdata.to_json`, its ``version`` set to the stored one),
  loaded back with ``trusted=True`` because the library wrote it;
- timestamps as integer microseconds since the Unix epoch (UTC), which sort correctly whatever the offset;
- for customers, *search keys*: ``(field, value)`` pairs for ``email`` (canonical), ``phone`` (E.164),
  ``name`` (case-folded given, family, display and full name), ``tag``, ``group``, ``country`` and
  ``merged_into`` (the id of the customer a record was merged into).

Search terms that no stored value can equal (they hold NUL or lone surrogates, which the model or UTF-8
cannot store) become None: the search then matches nothing without asking the database.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Generic, TypeVar

import attrs

from custdata._errors import ValidationError
from custdata.domain import (
    ActivityEvent,
    CommunicationEvent,
    Customer,
    EmailAddress,
    Order,
    PhoneNumber,
)
from custdata.domain.checks import trusting
from custdata.serialization import SCHEMA_KEY, SCHEMA_VERSION
from custdata.storage._converter import storage_converter

T = TypeVar("T")
E = TypeVar("E", Customer, Order, CommunicationEvent, ActivityEvent)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_MAX_TERM = 1024

#: The search-key fields of a customer, in the order documented above.
KEY_FIELDS = ("email", "phone", "name", "tag", "group", "country", "merged_into")


#: The moments the outbox, timers and workflows compute with lie in ``[EARLIEST_MOMENT, LATEST_MOMENT)``: the
#: margins below ``datetime.max`` and above ``datetime.min`` leave room for every time zone, quiet hours, leases
#: and retry delays, so that no arithmetic on an accepted moment overflows.
EARLIEST_MOMENT = datetime(1, 1, 3, tzinfo=UTC)
LATEST_MOMENT = datetime(9999, 1, 1, tzinfo=UTC)


def check_moment(path: str, value: object) -> datetime:
    """``value`` when it is a timezone-aware datetime in the supported range; a ValidationError at ``path``."""
    if not isinstance(value, datetime):
        raise ValidationError.single(path, "is required" if value is None else "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.single(path, "must be timezone-aware (include an offset such as +00:00)")
    if not EARLIEST_MOMENT <= value < LATEST_MOMENT:
        first, last = EARLIEST_MOMENT.date().isoformat(), LATEST_MOMENT.date().isoformat()
        raise ValidationError.single(path, f"must lie between {first} and {last} (UTC)")
    return value


def micros(moment: datetime) -> int:
    """Microseconds since the epoch for a timezone-aware datetime (exact, offset-independent)."""
    return (moment - EPOCH) // _MICRO


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def document(entity: Any, version: int | None = None) -> str:
    """The JSON document stored for ``entity`` (the same as :func:`custdata.to_json` writes); ``version``
    replaces the entity's own when given."""
    data = _unstructurer(type(entity))(entity)
    data = {SCHEMA_KEY: SCHEMA_VERSION, **data}
    if version is not None:
        data["version"] = version
    return _dumps(data)


@lru_cache(maxsize=1)
def _converter() -> Any:
    return storage_converter()


_UNSTRUCTURERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _unstructurer(cls: type) -> Callable[[Any], dict[str, Any]]:
    hook = _UNSTRUCTURERS.get(cls)
    if hook is None:
        if not attrs.has(cls):
            raise TypeError(f"a document is made of a custdata model, not {cls.__name__}")
        hook = _UNSTRUCTURERS[cls] = _converter().get_unstructure_hook(cls)
    return hook


def load_documents(cls: type[E], docs: Iterable[str]) -> list[E]:
    """Entities from documents this library stored (the trusted, fast path: no re-validation)."""
    structure = _converter().get_structure_hook(cls)
    loads = json.loads
    out: list[E] = []
    with trusting():
        for doc in docs:
            data = loads(doc)
            data.pop(SCHEMA_KEY, None)
            out.append(structure(data, cls))
    return out


# -- tables --------------------------------------------------------------------------------------------------


@attrs.frozen
class Table(Generic[E]):
    """How one entity kind maps onto its table: the indexed columns between ``id``/``version`` and ``doc``."""

    kind: str
    name: str
    cls: type[E]
    columns: tuple[str, ...]
    values: Callable[[E], tuple[Any, ...]]
    versioned: bool = True
    time_column: str | None = None
    #: Column groups whose values (when none is null) must be unique across the table.
    unique: tuple[tuple[str, ...], ...] = ()
    #: Whether ``customer_id`` refers to a customer that must exist.
    belongs_to_customer: bool = True


def _customer(c: Customer) -> tuple[Any, ...]:
    return (micros(c.created_at), micros(c.updated_at))


def _order(o: Order) -> tuple[Any, ...]:
    ref = o.external_ref
    return (
        str(o.customer_id),
        micros(o.placed_at),
        micros(o.updated_at),
        None if ref is None else ref.platform,
        None if ref is None else ref.id,
    )


def _communication(e: CommunicationEvent) -> tuple[Any, ...]:
    return (
        str(e.customer_id),
        None if e.order_id is None else str(e.order_id),
        micros(e.created_at),
        micros(e.updated_at),
        e.idempotency_key,
    )


def _activity(e: ActivityEvent) -> tuple[Any, ...]:
    return (None if e.customer_id is None else str(e.customer_id), e.anonymous_id, micros(e.occurred_at))


CUSTOMERS: Table[Customer] = Table(
    "customer", "customers", Customer, ("created_us", "updated_us"), _customer, belongs_to_customer=False
)
ORDERS: Table[Order] = Table(
    "order",
    "orders",
    Order,
    ("customer_id", "placed_us", "updated_us", "ext_platform", "ext_id"),
    _order,
    time_column="placed_us",
    unique=(("ext_platform", "ext_id"),),
)
COMMUNICATIONS: Table[CommunicationEvent] = Table(
    "communication event",
    "communications",
    CommunicationEvent,
    ("customer_id", "order_id", "created_us", "updated_us", "idempotency_key"),
    _communication,
    time_column="created_us",
    unique=(("idempotency_key",),),
)
ACTIVITY: Table[ActivityEvent] = Table(
    "activity event",
    "activity",
    ActivityEvent,
    ("customer_id", "anonymous_id", "occurred_us"),
    _activity,
    versioned=False,
    time_column="occurred_us",
)


# -- search keys ----------------------------------------------------------------------------------------


def name_key(text: str) -> str:
    """The form names are indexed and searched in: NFKC, case-folded, single spaces, trimmed."""
    return _short_name_key(text) if len(text) <= 64 else _name_key(text)


@lru_cache(maxsize=16_384)
def _short_name_key(text: str) -> str:
    """:func:`name_key` of a short name, cached: the same given and family names come up again and again."""
    return _name_key(text)


def _name_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def customer_keys(customer: Customer) -> set[tuple[str, str]]:
    """Every ``(field, value)`` search key of a customer."""
    keys: set[tuple[str, str]] = set()
    for email in customer.emails:
        keys.add(("email", email.canonical))
    for phone in customer.phones:
        keys.add(("phone", phone.e164))
    given, family = customer.given_name, customer.family_name
    full = " ".join(n for n in (given, family) if n)
    for name in (given, family, customer.display_name, full):
        if name:
            key = name_key(name)
            if key:
                keys.add(("name", key))
    keys.update(("tag", tag) for tag in customer.tags)
    keys.update(("group", group) for group in customer.groups)
    keys.update(("country", address.country_code) for address in customer.addresses)
    if customer.merged_into is not None:
        keys.add(("merged_into", str(customer.merged_into)))
    return keys


def holds_value(data: object, value: str) -> bool:
    """True when the string ``value`` occurs in ``data`` (a JSON-like structure) as a value, at any depth."""
    if isinstance(data, str):
        return data == value
    if isinstance(data, dict):
        return any(holds_value(v, value) for v in data.values())
    if isinstance(data, (list, tuple)):
        return any(holds_value(v, value) for v in data)
    return False


def replace_id(data: Any, old: str, new: str) -> Any:
    """``data`` (a string or JSON-like structure) with every occurrence of the id ``old`` replaced by ``new``: in
    string values and keys, at any depth, also inside longer strings (keys such as ``rule:<id>:event``) where it
    stands apart from other identifier characters."""
    if isinstance(data, str):
        return _id_pattern(old).sub(new.replace("\\", "\\\\"), data) if old in data else data
    if isinstance(data, dict):
        return {replace_id(k, old, new): replace_id(v, old, new) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(replace_id(v, old, new) for v in data)
    return data


@lru_cache(maxsize=64)
def _id_pattern(old: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_\-]){re.escape(old)}(?![A-Za-z0-9_\-])")


def literal_in_json(text: str) -> bool:
    """True when ``text`` appears as it is inside any JSON document holding it as a string (no escapes needed)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text and "/" not in text


def check_mention(event: object, value: object) -> tuple[str, str]:
    """The arguments of ``ActivityRepository.mentioning``, checked."""
    if not isinstance(event, str) or not event:
        raise ValidationError.single("event", "must be a non-empty string")
    if not isinstance(value, str) or not value:
        raise ValidationError.single("value", "must be a non-empty string")
    return event, value


def storable(term: str) -> str | None:
    """``term`` if a stored value could equal it, else None (NUL, lone surrogates, absurd length)."""
    if "\x00" in term or len(term) > _MAX_TERM:
        return None
    try:
        term.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return term


def email_term(email: object) -> str | None:
    """The canonical form to look ``email`` up by; a string that is no email address is a ValidationError."""
    if isinstance(email, EmailAddress):
        return email.canonical
    if not isinstance(email, str):
        raise ValidationError.single("email", f"must be a string or EmailAddress, not {type(email).__name__}")
    if storable(email) is None:
        return None
    try:
        return EmailAddress.parse(email).canonical
    except ValidationError as exc:
        raise exc.prefixed("email") from None


def email_terms(emails: object) -> list[str]:
    """The canonical forms to look ``emails`` up by, each once, in the order given (addresses no stored value
    could equal are left out); a string that is no email address is a ValidationError at ``emails[i]``."""
    if isinstance(emails, (str, bytes, EmailAddress)) or not isinstance(emails, Iterable):
        raise ValidationError.single("emails", "must be an iterable of email addresses")
    terms: dict[str, None] = {}
    for i, email in enumerate(emails):
        try:
            term = email_term(email)
        except ValidationError as exc:
            raise ValidationError([attrs.evolve(p, path=f"emails[{i}]") for p in exc.problems]) from None
        if term is not None:
            terms[term] = None
    return list(terms)


def phone_term(phone: object, region: str | None = None) -> str | None:
    """The E.164 form to look ``phone`` up by; a string that is no phone number is a ValidationError."""
    if isinstance(phone, PhoneNumber):
        return phone.e164
    if not isinstance(phone, str):
        raise ValidationError.single("phone", f"must be a string or PhoneNumber, not {type(phone).__name__}")
    if region is not None and (not isinstance(region, str) or storable(region) is None):
        raise ValidationError.single("region", "must be a two-letter region code")
    if storable(phone) is None:
        return None
    try:
        return PhoneNumber.parse(phone, region, strict=False).e164
    except ValidationError as exc:
        raise exc.prefixed("phone") from None


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """``(low, high)`` such that a string starts with ``prefix`` iff ``low <= s < high`` in code point order.

    ``high`` is None when no upper bound exists (the prefix is all U+10FFFF). Code point order is the order
    of UTF-8 bytes, so the range also works on SQLite's BINARY collation and PostgreSQL's ``"C"``.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if 0xD800 <= last <= 0xDFFF:
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix, "".join(chars) + chr(last)
    return prefix, None


def entity_ids(ids: Iterable[object], path: str = "ids") -> list[str]:
    """The ids as plain strings, each checked to be a string; duplicates dropped, order kept."""
    if isinstance(ids, (str, bytes)):
        raise ValidationError.single(path, "must be an iterable of ids, not a single string")
    seen: dict[str, None] = {}
    for i, value in enumerate(ids):
        if not isinstance(value, str):
            raise ValidationError.single(f"{path}[{i}]", f"must be a string, not {type(value).__name__}")
        seen[str(value)] = None
    return list(seen)


def check_id(value: object, path: str = "id") -> str:
    """``value`` as a plain string id, or a ValidationError."""
    if not isinstance(value, str):
        raise ValidationError.single(path, f"must be a string, not {type(value).__name__}")
    return str(value)


def check_entity(entity: object, cls: type[T], path: str = "") -> T:
    """``entity`` if it is a ``cls``; a store never accepts lookalikes (they would not serialize)."""
    if not isinstance(entity, cls):
        raise ValidationError.single(path, f"must be a {cls.__name__}, not {type(entity).__name__}")
    return entity


# -- cursors ----------------------------------------------------------------------------------------------


def encode_cursor(listing: str, key: tuple[int, str] | str) -> str:
    """An opaque cursor for ``listing`` continuing after ``key`` (an id, or a time and an id)."""
    raw = json.dumps([listing, key], ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


_BAD_CURSOR = "is not a cursor of this listing (pass next_cursor back unchanged)"
#: Cursor times are microseconds since the epoch that a 64-bit integer column holds.
_MICROS_RANGE = range(-(2**63), 2**63)


def _cursor_key(listing: str, cursor: object) -> Any:
    problem = ValidationError.single("cursor", _BAD_CURSOR)
    if not isinstance(cursor, str) or len(cursor) > 4096:
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, RecursionError):  # RecursionError: forged deep nesting
        raise problem from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and decoded[0] == listing):
        raise problem
    return decoded[1]


def decode_cursor(listing: str, cursor: object) -> str:
    """The id inside a cursor made by :func:`encode_cursor` for the same listing, or a ValidationError."""
    key = _cursor_key(listing, cursor)
    if isinstance(key, str) and storable(key):
        return key
    raise ValidationError.single("cursor", _BAD_CURSOR)


def decode_timed_cursor(listing: str, cursor: object) -> tuple[int, str]:
    """The time and id inside a cursor made by :func:`encode_cursor`, or a ValidationError."""
    key = _cursor_key(listing, cursor)
    if isinstance(key, list) and len(key) == 2 and type(key[0]) is int and isinstance(key[1], str) and storable(key[1]):
        if key[0] in _MICROS_RANGE:
            return key[0], key[1]
    raise ValidationError.single("cursor", _BAD_CURSOR)
