"""Turning models into JSON-safe dicts and back, built on cattrs.

The serialized form of a top-level object carries ``"schema_version"``; Decimals are strings,
datetimes ISO 8601 with their offset, enums their values, email addresses strings and phone
numbers ``{"e164": ..., "region": ...}`` (a plain string is accepted on input).

Input is fully checked by default and every problem raised at once as a :class:`custdata.ValidationError` with
paths and codes. Checked is not safe for a client's payload: a model accepts every field it has, the server's own
(ids, versions, verification and erasure marks) among them; payloads go through :mod:`custdata.commands`.
``trusted=True`` is the fast path for data that the library itself wrote: it skips re-parsing phone numbers,
emails and addresses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ForbiddenExtraKeysError, IterableValidationNote

from custdata._errors import ErrorCode, Problem, ValidationError, join_path
from custdata.domain.checks import trusting
from custdata.serialization._codegen import GeneratedWriter, unstructure_function
from custdata.serialization._hooks import configure
from custdata.serialization._shapes import kind_of

T = TypeVar("T")

#: Version of the serialized form written by this release.
SCHEMA_VERSION = 1
SCHEMA_KEY = "schema_version"


def make_converter(*, trusted: bool = False) -> cattrs.Converter:
    """A cattrs converter configured for custdata's models.

    Register your own hooks on it and pass it as ``converter=`` to the functions of this module.
    ``trusted=True`` gives the fast loader for data the library wrote itself.
    """
    converter = cattrs.Converter(detailed_validation=not trusted, forbid_extra_keys=not trusted)
    configure(converter, trusted=trusted)
    return converter


# -- errors -------------------------------------------------------------------------------------------


def _problems(exc: BaseException, path: str) -> Iterator[Problem]:
    if isinstance(exc, ValidationError):
        for p in exc.problems:
            yield Problem(join_path(path, p.path), p.message, code=p.code)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(map(str, exc.extra_fields)):
            yield Problem(join_path(path, key), "is not a known field", code=ErrorCode.UNKNOWN_FIELD)
    elif isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            yield from _problems(sub, _note_path(sub, path))
    elif isinstance(exc, KeyError):
        yield Problem(path, "is required", code=ErrorCode.REQUIRED)
    elif isinstance(exc, RecursionError):
        yield Problem(path, "is nested too deeply", code=ErrorCode.TOO_LONG)
    else:
        yield Problem(path, "has the wrong shape or type", code=ErrorCode.INVALID_TYPE)


def _note_path(exc: BaseException, path: str) -> str:
    for note in getattr(exc, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return join_path(path, note.name)
        if isinstance(note, IterableValidationNote):
            index = note.index
            return f"{path}[{index!r}]" if isinstance(index, str) else f"{path}[{index}]"
    return path


# -- public functions -----------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _default(trusted: bool) -> cattrs.Converter:
    return make_converter(trusted=trusted)


#: The default converter's writers of top-level documents, by class (generated with the schema version in them).
_WRITERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def to_dict(obj: Any, *, converter: cattrs.Converter | None = None) -> dict[str, Any]:
    """``obj`` as a JSON-safe dict, with ``schema_version`` first."""
    if converter is None:
        write = _WRITERS.get(type(obj))
        if write is None:
            write = _WRITERS[type(obj)] = _writer(type(obj))
        return write(obj)
    return _with_version(converter.unstructure(obj), obj)


def _writer(cls: type) -> Callable[[Any], dict[str, Any]]:
    converter = _default(False)
    if attrs.has(cls) and isinstance(converter.get_unstructure_hook(cls), GeneratedWriter):
        return unstructure_function(converter, cls, leading={SCHEMA_KEY: SCHEMA_VERSION})
    return lambda obj: _with_version(converter.unstructure(obj), obj)


def _with_version(data: Any, obj: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"to_dict needs a custdata model, not {type(obj).__name__}")
    return {SCHEMA_KEY: SCHEMA_VERSION, **data}


def from_dict(cls: type[T], data: Any, *, trusted: bool = False, converter: cattrs.Converter | None = None) -> T:
    """Build a ``cls`` from ``data``, checking everything unless ``trusted``.

    Raises :class:`custdata.ValidationError` listing every problem with its path.
    """
    if trusted:  # the trusted converter ignores keys it does not know, the schema version among them
        with trusting():
            return (converter or _default(True)).structure(data, cls)
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ValidationError.single("", f"must be an object, not {kind_of(data)}", ErrorCode.INVALID_TYPE)
    body = data
    if SCHEMA_KEY in data:
        body = dict(data)
        version = body.pop(SCHEMA_KEY)
        if type(version) is not int or version < 1:
            raise ValidationError.single(SCHEMA_KEY, "must be a positive integer", ErrorCode.OUT_OF_RANGE)
        if version > SCHEMA_VERSION:
            raise ValidationError.single(
                SCHEMA_KEY, f"is {version}, newer than this release understands ({SCHEMA_VERSION}); upgrade custdata"
            )
    try:
        return (converter or _default(False)).structure(body, cls)
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a ValidationError with paths
        problems = list(_problems(exc, ""))
        raise ValidationError(problems or [Problem("", "is not valid")]) from None


def to_json(obj: Any, *, converter: cattrs.Converter | None = None) -> str:
    """``obj`` as a JSON string (UTF-8 characters kept as they are)."""
    return json.dumps(to_dict(obj, converter=converter), ensure_ascii=False, separators=(",", ":"))


def from_json(
    cls: type[T], text: str | bytes, *, trusted: bool = False, converter: cattrs.Converter | None = None
) -> T:
    """Parse JSON text into a ``cls``; malformed JSON is a :class:`custdata.ValidationError` too."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValidationError.single(
            "", f"is not valid JSON ({type(exc).__name__})", ErrorCode.INVALID_FORMAT
        ) from None
    except TypeError:
        raise ValidationError.single("", "must be a JSON string or bytes", ErrorCode.INVALID_TYPE) from None
    return from_dict(cls, data, trusted=trusted, converter=converter)
