"""The hooks custdata's converters use for each kind of value, strict for untrusted input and quick for data
the library wrote itself, and the code generated for the models."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from functools import cache
from operator import attrgetter
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationNote
from cattrs.fns import identity
from dateutil import parser as dateparser

from custdata._errors import ErrorCode, Problem, ValidationError
from custdata.domain.contact import EmailAddress, PhoneNumber
from custdata.domain.ids import Identifier
from custdata.serialization._codegen import GeneratedWriter, structure_function, unstructure_function
from custdata.serialization._shapes import OptionalHook, OptionalStructure, TupleHook, as_is, kind_of


def configure(c: cattrs.Converter, *, trusted: bool) -> None:
    """Register custdata's hooks on ``c``."""
    _configure_unstructure(c)
    if trusted:
        _configure_trusted(c)
    else:
        _configure_strict(c)
    _register_models(c, trusted=trusted)


def _register_models(c: cattrs.Converter, *, trusted: bool) -> None:
    """Models (attrs classes) get generated functions; a model that contains itself falls back to a lookup.

    Functions are built on first use, and threads may ask for the same model's at once: one thread builds at a
    time (the lock is re-entrant, for the models a model contains), so that another thread never takes a model
    being built for one that contains itself and caches the lookup as the model's function (which would then call
    itself for ever).
    """
    building: set[type] = set()
    lock = threading.RLock()

    def structure(cls: type) -> Callable[[Any, Any], Any]:
        with lock:
            if cls in building:
                return lambda value, t: c.get_structure_hook(t)(value, t)
            building.add(cls)
            try:
                return structure_function(c, cls, trusted=trusted)
            finally:
                building.discard(cls)

    def unstructure(cls: type) -> Callable[[Any], Any]:
        with lock:
            if cls in building:
                return lambda value: c.get_unstructure_hook(type(value))(value)
            building.add(cls)
            try:
                return GeneratedWriter(unstructure_function(c, cls))
            finally:
                building.discard(cls)

    c.register_structure_hook_factory(attrs.has, structure)
    c.register_unstructure_hook_factory(attrs.has, unstructure)


def _configure_unstructure(c: cattrs.Converter) -> None:
    c.register_unstructure_hook(Decimal, str)
    c.register_unstructure_hook(datetime, datetime.isoformat)
    c.register_unstructure_hook(date, date.isoformat)
    c.register_unstructure_hook(time, time.isoformat)
    c.register_unstructure_hook(EmailAddress, attrgetter("value"))
    c.register_unstructure_hook(PhoneNumber, lambda p: {"e164": p.e164, "region": p.region})
    c.register_unstructure_hook(StrEnum, str.__str__)  # a StrEnum member is the str of its value
    c.register_unstructure_hook(Identifier, str)
    c.register_unstructure_hook_func(_is_frozenset, sorted)
    c.register_unstructure_hook_factory(_is_tuple, _tuple_unstructurer(c))
    c.register_unstructure_hook_factory(lambda t: optional_inner(t) is not None, _unstructure_optional(c))
    c.register_unstructure_hook(Any, identity)


# -- hooks bound once per type ------------------------------------------------------------------------
# cattrs handles ``X | None`` and ``tuple[X, ...]`` through generic hooks that look the item type up on
# every call; these factories bind each such type to its item's hook once, when cattrs generates the code
# for a model.

_PRIMITIVES = (str, int, bool, float)


def optional_inner(t: Any) -> Any:
    """``X`` when ``t`` is ``X | None`` (one type and None), else None."""
    if get_origin(t) not in (Union, UnionType):
        return None
    args = get_args(t)
    if len(args) != 2 or NoneType not in args:
        return None
    return args[0] if args[1] is NoneType else args[1]


def passes_through(t: Any) -> bool:
    """Values of ``t`` are the same in a JSON document and in a model."""
    return t in _PRIMITIVES or t is Any


def _unstructure_optional(c: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def factory(t: Any) -> Callable[[Any], Any]:
        inner = optional_inner(t)
        if passes_through(inner):
            return identity  # generated code reads such values as they are
        return OptionalHook(c.get_unstructure_hook(inner))

    return factory


def _structure_optional(c: cattrs.Converter, *, trusted: bool) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(t: Any) -> Callable[[Any, Any], Any]:
        inner = optional_inner(t)
        if trusted and passes_through(inner):
            return as_is
        return OptionalStructure(c.get_structure_hook(inner), inner)

    return factory


def _is_frozenset(t: Any) -> bool:
    return t is frozenset or get_origin(t) is frozenset


def _is_tuple(t: Any) -> bool:
    return get_origin(t) is tuple and len(get_args(t)) == 2 and get_args(t)[1] is Ellipsis


def _tuple_unstructurer(c: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def factory(t: Any) -> Callable[[Any], Any]:
        item = c.get_unstructure_hook(get_args(t)[0])
        if item is identity or item is str:
            return list
        return TupleHook(item)

    return factory


# -- strict (untrusted) structuring -----------------------------------------------------------------


def _fail(message: str, code: ErrorCode = ErrorCode.INVALID_TYPE) -> ValidationError:
    return ValidationError.single("", message, code)


def _strict_str(value: Any, _: Any) -> str:
    if type(value) is not str:
        if isinstance(value, str):
            return str(value)
        raise _fail(f"must be a string, not {kind_of(value)}")
    return value


def _strict_int(value: Any, _: Any) -> int:
    if type(value) is not int:
        raise _fail(f"must be an integer, not {kind_of(value)}")
    return value


def _strict_bool(value: Any, _: Any) -> bool:
    if type(value) is not bool:
        raise _fail(f"must be true or false, not {kind_of(value)}")
    return value


def _decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise _fail("must be a decimal string such as '19.99', not a float (floats are inexact)")
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise _fail("is not a number", ErrorCode.INVALID_FORMAT) from None
        if not result.is_finite():
            raise _fail("must be a finite number", ErrorCode.OUT_OF_RANGE)
        return result
    raise _fail(f"must be a decimal string, not {kind_of(value)}")


def _datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif not isinstance(value, str):
        raise _fail(f"must be an ISO 8601 timestamp string, not {kind_of(value)}")
    elif len(value) > 64:
        raise _fail("is not a timestamp", ErrorCode.INVALID_FORMAT)
    else:
        parsed = _parse_timestamp(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _fail("must be timezone-aware (include an offset such as +00:00)", ErrorCode.INVALID_FORMAT)
    return parsed


def _parse_timestamp(text: str) -> datetime:
    try:  # the standard library reads the common ISO 8601 forms fastest; dateutil reads the rest
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dateparser.isoparse(text)
    except (ValueError, OverflowError):
        pass
    try:
        return dateparser.parse(text)
    except (ValueError, OverflowError, dateparser.ParserError):
        raise _fail(
            "is not a timestamp (use ISO 8601 with an offset, e.g. 2024-05-01T12:00:00+00:00)", ErrorCode.INVALID_FORMAT
        ) from None


def _date(value: Any, _: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) <= 32:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail("is not a date (use YYYY-MM-DD)", ErrorCode.INVALID_FORMAT)


def _time(value: Any, _: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and len(value) <= 32:
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise _fail("is not a time of day (use HH:MM)", ErrorCode.INVALID_FORMAT)


def _email(value: Any, _: Any) -> EmailAddress:
    if not isinstance(value, str):
        raise _fail(f"must be an email address string, not {kind_of(value)}")
    return EmailAddress.parse(value)


def _phone(value: Any, _: Any) -> PhoneNumber:
    if isinstance(value, str):
        return PhoneNumber.parse(value)
    if isinstance(value, Mapping):
        extra = set(value) - {"e164", "region"}
        if extra:
            raise ValidationError(
                Problem(k, "is not a known field", code=ErrorCode.UNKNOWN_FIELD) for k in sorted(map(str, extra))
            )
        if "e164" not in value:
            raise ValidationError.single("e164", "is required", ErrorCode.REQUIRED)
        region = value.get("region")
        if region is not None and not isinstance(region, str):
            raise ValidationError.single("region", "must be a two-letter region code", ErrorCode.COUNTRY_CODE)
        return PhoneNumber(value["e164"], region)
    raise _fail(f"must be a phone number string, not {kind_of(value)}")


@cache
def _members(cls: type[Enum]) -> tuple[dict[Any, Enum], str]:
    return {m.value: m for m in cls}, ", ".join(str(m.value) for m in cls)


def _enum(value: Any, cls: type[Enum]) -> Enum:
    members, choices = _members(cls)
    try:
        return members[value]
    except (KeyError, TypeError):
        raise _fail(f"must be one of {choices}", ErrorCode.INVALID_CHOICE) from None


def _identifier(value: Any, cls: type[Identifier]) -> Identifier:
    if not isinstance(value, str):
        raise _fail(f"must be a string, not {kind_of(value)}")
    return cls(value)


def _configure_strict(c: cattrs.Converter) -> None:
    # str subclasses (the enums, the typed ids) get their own class hooks, which win over str's
    c.register_structure_hook(str, _strict_str)
    c.register_structure_hook(int, _strict_int)
    c.register_structure_hook(bool, _strict_bool)
    _configure_common(c, strict=True)
    c.register_structure_hook(EmailAddress, _email)
    c.register_structure_hook(PhoneNumber, _phone)
    c.register_structure_hook(Enum, _enum)
    c.register_structure_hook(StrEnum, _enum)
    c.register_structure_hook(Identifier, _identifier)
    c.register_structure_hook_factory(_is_collection, _sequence_guarded(c))
    c.register_structure_hook_factory(lambda t: optional_inner(t) is not None, _structure_optional(c, trusted=False))
    c.register_structure_hook_func(is_json_object, _json_object)


def is_json_object(t: Any) -> bool:
    """``dict[str, Any]``: metadata, properties and other JSON objects, whose contents the models check."""
    return get_origin(t) is dict and get_args(t) == (str, Any)


def _json_object(value: Any, _: Any) -> dict[str, Any]:
    """A copy of a JSON object whose keys are strings; the model checks that the values are JSON data."""
    if not isinstance(value, Mapping):
        raise _fail(f"must be an object, not {kind_of(value)}")
    for key in value:
        if type(key) is not str:
            raise ValidationError.single(f"[{key!r}]", f"must be a string, not {kind_of(key)}", ErrorCode.INVALID_TYPE)
    return dict(value)


def _configure_common(c: cattrs.Converter, *, strict: bool) -> None:
    c.register_structure_hook(Decimal, _decimal)
    c.register_structure_hook(datetime, _datetime if strict else lambda v, _: datetime.fromisoformat(v))
    c.register_structure_hook(date, _date if strict else lambda v, _: date.fromisoformat(v))
    c.register_structure_hook(time, _time if strict else lambda v, _: time.fromisoformat(v))
    c.register_structure_hook(Any, as_is)


def _is_collection(t: Any) -> bool:
    return get_origin(t) in (tuple, list, frozenset, set)


def _sequence_guarded(c: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(t: Any) -> Callable[[Any, Any], Any]:
        origin = get_origin(t)
        item_type = get_args(t)[0]
        item = c.get_structure_hook(item_type)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, (list, tuple)):
                raise _fail(f"must be a list, not {kind_of(value)}")
            if len(value) > 100_000:
                raise _fail("has more than 100000 entries", ErrorCode.TOO_LONG)
            items, errors = [], []
            for i, x in enumerate(value):
                try:
                    items.append(item(x, item_type))
                except Exception as exc:  # noqa: BLE001 - every failure is reported with its index
                    exc.__notes__ = [
                        *getattr(exc, "__notes__", []),
                        IterableValidationNote(f"@ index {i}", i, item_type),
                    ]
                    errors.append(exc)
            if errors:
                raise cattrs.IterableValidationError("while structuring a list", errors, t)
            try:
                return origin(items)
            except TypeError:
                raise _fail("holds values that cannot be in a set", ErrorCode.INVALID) from None

        return structure

    return factory


# -- trusted structuring ------------------------------------------------------------------------------


def _configure_trusted(c: cattrs.Converter) -> None:
    for primitive in (str, int, bool):
        c.register_structure_hook(primitive, as_is)
    _configure_common(c, strict=False)
    c.register_structure_hook(EmailAddress, lambda v, _: EmailAddress(v))
    c.register_structure_hook(PhoneNumber, lambda v, _: PhoneNumber(v["e164"], v["region"]))
    c.register_structure_hook(Identifier, lambda v, cls: cls(v))
    c.register_structure_hook(StrEnum, lambda v, cls: cls(v))
    c.register_structure_hook_factory(lambda t: optional_inner(t) is not None, _structure_optional(c, trusted=True))
    c.register_structure_hook_factory(_is_homogeneous, _trusted_collection(c))


def _is_homogeneous(t: Any) -> bool:
    """``tuple[X, ...]`` or ``frozenset[X]``."""
    origin, args = get_origin(t), get_args(t)
    if origin is frozenset:
        return len(args) == 1
    return origin is tuple and len(args) == 2 and args[1] is Ellipsis


def _trusted_collection(c: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(t: Any) -> Callable[[Any, Any], Any]:
        origin, item_type = get_origin(t), get_args(t)[0]
        if passes_through(item_type):
            return lambda value, _: origin(value)
        hook = c.get_structure_hook(item_type)
        return lambda value, _: origin([hook(item, item_type) for item in value])

    return factory
