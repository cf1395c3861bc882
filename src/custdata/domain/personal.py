"""Which fields hold personal data: one classification per model field, kept in the field's attrs metadata.

Every field of every model that can hold data about a person is marked with a :class:`Personal` kind
(``attrs.field(metadata=PERSONAL)``), and what the library does with personal data derives from that mark:

- ``personal``: names, contact points, streets, birthdays and free text that may quote them (consent sources,
  delivery instructions, message subjects and bodies, carrier messages, return notes, tracking numbers,
  metadata). Masked in ``repr()``, in notebook HTML and notebook DataFrames (unless revealed), left out of
  analytics records and DataFrames (unless ``personal="mask"`` or ``"reveal"``), cleared by erasure, included in the export;
- ``linked``: personal data that tells little by itself (locale, time zone, tags, preferences, verification
  times, an anonymous id, a provider's message id, a town): shown, cleared by erasure, exported;
- ``identifier``: a pseudonymous key that links records to a person (a customer id, an order id, an
  idempotency key): shown, kept by erasure so that the records still add up, exported;
- ``not_personal``: facts of the business (amounts, SKUs, statuses, carriers, dates of orders): shown, kept;
- ``nested``: the value is a model (or a tuple of models) whose own fields are classified.

>>> from custdata.domain import ConsentRecord, personal_fields, Personal, classification
>>> personal_fields(ConsentRecord)
('source',)
>>> classification(ConsentRecord, "purpose") is Personal.NOT_PERSONAL
True

A new model field without a mark fails the library's own tests (see :func:`unclassified_fields`). Your own
data in ``metadata``, ``private_metadata``, order ``metadata``, message ``metadata`` and activity ``properties``
is personal as a whole: the library cannot tell what you keep there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, cast

import attrs

#: The attrs metadata key that holds a field's :class:`Personal` kind.
KEY = "custdata_personal"


class Personal(StrEnum):
    """How a model field relates to the person the record is about (see the module docstring)."""

    PERSONAL = "personal"
    LINKED = "linked"
    IDENTIFIER = "identifier"
    NOT_PERSONAL = "not_personal"
    NESTED = "nested"

    @property
    def masked(self) -> bool:
        """True for the kind that is masked wherever it is shown."""
        return self is Personal.PERSONAL

    @property
    def erased(self) -> bool:
        """True for the kinds that erasure clears."""
        return self is Personal.PERSONAL or self is Personal.LINKED


def _metadata(kind: Personal) -> Mapping[str, Personal]:
    return MappingProxyType({KEY: kind})


#: ``attrs.field(metadata=...)`` values, one per kind.
PERSONAL = _metadata(Personal.PERSONAL)
LINKED = _metadata(Personal.LINKED)
IDENTIFIER = _metadata(Personal.IDENTIFIER)
NOT_PERSONAL = _metadata(Personal.NOT_PERSONAL)
NESTED = _metadata(Personal.NESTED)


def field_kind(field: attrs.Attribute[Any]) -> Personal | None:
    """The kind an attrs field is marked with, None when it is not marked."""
    kind = field.metadata.get(KEY)
    return kind if isinstance(kind, Personal) else None


def classification(cls: type, name: str) -> Personal | None:
    """The kind of field ``name`` of the attrs class ``cls`` (None when the field is not marked).

    Raises ``AttributeError`` when ``cls`` has no such field.
    """
    field: attrs.Attribute[Any] = getattr(attrs.fields(cls), name)
    return field_kind(field)


def fields_of_kind(cls: type, *kinds: Personal) -> tuple[str, ...]:
    """The names of the fields of ``cls`` marked with one of ``kinds``, in definition order."""
    return tuple(f.name for f in attrs.fields(cls) if field_kind(f) in kinds)


def personal_fields(cls: type) -> tuple[str, ...]:
    """The names of the fields of ``cls`` marked ``personal`` (masked wherever shown, cleared by erasure)."""
    return fields_of_kind(cls, Personal.PERSONAL)


def unclassified_fields(cls: type) -> tuple[str, ...]:
    """The names of the fields of the attrs class ``cls`` that carry no :class:`Personal` mark."""
    return tuple(f.name for f in attrs.fields(cls) if field_kind(f) is None)


def mask_value(value: object) -> str:
    """A personal value as ``repr()`` may show it: a string's first character (``'J***'``), how many items a
    collection has, ``'***'`` for anything else; None and empty values as they are. Email addresses and phone
    numbers use their own (masked) ``repr()``."""
    from custdata.domain.contact import EmailAddress, PhoneNumber, mask

    if value is None or (isinstance(value, (str, tuple, list, dict, frozenset, set)) and not value):
        return repr(value)
    if isinstance(value, str):
        return repr(mask(value))
    if isinstance(value, (EmailAddress, PhoneNumber)):
        return repr(value)
    if isinstance(value, (tuple, list, frozenset, set, Mapping)):
        return f"<{len(value)} hidden>"
    return "'***'"


def masked_repr(self: object) -> str:
    """``repr()`` of an attrs instance with its ``personal`` fields masked (see :func:`mask_value`); fields
    declared with ``repr=False`` are left out. Models use it as their ``__repr__``."""
    parts = []
    for field in attrs.fields(cast(Any, type(self))):
        if field.repr is False:
            continue
        value = getattr(self, field.name)
        if field_kind(field) is Personal.PERSONAL:
            shown = mask_value(value)
        else:
            shown = field.repr(value) if callable(field.repr) else repr(value)
        parts.append(f"{field.name}={shown}")
    return f"{type(self).__name__}({', '.join(parts)})"


def personal_values(obj: object, *kinds: Personal) -> Iterator[tuple[str, object]]:
    """Every field value of the model ``obj`` marked with one of ``kinds`` (``personal`` when none are given),
    following ``nested`` fields into the models they hold, as ``(path, value)`` pairs with paths such as
    ``addresses[0].first_name``. Empty values (None, ``""``, empty collections) are left out.

    >>> from custdata.domain import DeliveryPreferences, Preferences
    >>> list(personal_values(Preferences(delivery=DeliveryPreferences(instructions="ring twice"))))
    [('delivery.instructions', 'ring twice')]
    """
    wanted = frozenset(kinds or (Personal.PERSONAL,))
    yield from _values(obj, "", wanted)


def _values(obj: object, prefix: str, wanted: frozenset[Personal]) -> Iterator[tuple[str, object]]:
    for field in attrs.fields(cast(Any, type(obj))):
        kind = field_kind(field)
        value = getattr(obj, field.name)
        path = f"{prefix}{field.name}"
        if kind is Personal.NESTED:
            if isinstance(value, tuple):
                for i, item in enumerate(value):
                    if attrs.has(type(item)):
                        yield from _values(item, f"{path}[{i}].", wanted)
            elif value is not None and attrs.has(type(value)):
                yield from _values(value, f"{path}.", wanted)
        elif kind in wanted and value is not None and value != "" and not _empty_collection(value):
            yield path, value


def _empty_collection(value: object) -> bool:
    return isinstance(value, (tuple, list, frozenset, set, Mapping)) and not value


def erased_values(obj: object, **replacements: Any) -> dict[str, Any]:
    """What erasure writes into the model ``obj``: every field marked ``personal`` or ``linked`` set to its default
    (None, empty, the default value), every ``nested`` model erased the same way (each model of a tuple), so that
    erasure follows the marks and a newly marked field is cleared without further change. ``replacements`` give
    other values for some fields (a model to drop as a whole, keys to keep); they are used as they are.

    Returns the new values by field name, for ``attrs.evolve(obj, **values)`` or assignment. A personal or linked
    field without a default needs a replacement: anything else is a :class:`custdata.ProgrammingError`.

    >>> from custdata.domain import DeliveryPreferences
    >>> erased_values(DeliveryPreferences(eco_packaging=True, instructions="ring twice"))
    {'eco_packaging': False, 'window': None, 'instructions': None}
    """
    values: dict[str, Any] = {}
    for field in attrs.fields(cast(Any, type(obj))):
        if not field.init:
            continue
        name = field.name
        kind = field_kind(field)
        if name in replacements:
            values[name] = replacements[name]
        elif kind is Personal.NESTED:
            value = getattr(obj, name)
            if isinstance(value, tuple):
                values[name] = tuple(_erased(item) for item in value)
            else:
                values[name] = _erased(value)
        elif kind is not None and kind.erased:
            values[name] = _default_of(obj, field)
    return values


def _erased(value: object) -> object:
    if value is None or not attrs.has(type(value)):
        return value
    new = erased_values(value)
    return attrs.evolve(cast(Any, value), **new) if new else value


def _default_of(obj: object, field: attrs.Attribute[Any]) -> Any:
    from custdata._errors import ProgrammingError

    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory(obj) if default.takes_self else default.factory()
    if default is attrs.NOTHING:
        raise ProgrammingError(
            f"{type(obj).__name__}.{field.name} is marked {field_kind(field)} but has no default to erase it to"
        )
    return default
