"""The fields of input commands, written once: each kind of field reads a JSON value (collecting problems with
their paths and codes) and describes itself as JSON Schema, so the checks and the schema cannot drift apart."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

import attrs

from custdata._errors import ErrorCode, Problem, ValidationError, join_path
from custdata.domain.checks import Checker
from custdata.domain.contact import EmailAddress, PhoneNumber


class _Bad:
    """Marks a value that could not be read; its problems are already recorded."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BAD"


BAD: Final = _Bad()

#: The largest JSON object (in characters of its compact JSON) a command stores as metadata.
MAX_METADATA_CHARS = 16_384
#: The most digits a decimal string may have (before and after the point together).
MAX_DECIMAL_CHARS = 40

_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def json_kind(value: object) -> str:
    """The JSON name of ``value``'s type (``object``, ``array``, ``null`` ...): says what arrived, never what."""
    if value is None:
        return "null"
    for cls, name in _JSON_TYPES.items():
        if type(value) is cls:
            return name
    return type(value).__name__


class Problems:
    """The problems of one payload, gathered as it is read."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str, code: ErrorCode) -> _Bad:
        self.items.append(Problem(path, message, code=code))
        return BAD

    def extend(self, path: str, error: ValidationError) -> _Bad:
        self.items.extend(Problem(join_path(path, p.path), p.message, code=p.code) for p in error.problems)
        return BAD

    def wrong_type(self, path: str, expected: str, value: object) -> _Bad:
        return self.add(path, f"must be {expected}, not {json_kind(value)}", ErrorCode.INVALID_TYPE)

    def done(self) -> None:
        if self.items:
            raise ValidationError(self.items)


class Kind:
    """A kind of value: reads one from JSON and describes it as JSON Schema."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError


@attrs.frozen
class Text(Kind):
    """A string of at most ``max_length`` characters, without control characters (bar line breaks when
    ``multiline``); ``blank`` says whether an empty string is accepted."""

    max_length: int = 256
    multiline: bool = False
    blank: bool = False

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "a string", value)
        check = Checker()
        if not check.text(path, value, optional=self.blank, max_length=self.max_length, multiline=self.multiline):
            problems.items.extend(check.problems)
            return BAD
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if not self.blank:
            schema["minLength"] = 1
        return schema


@attrs.frozen
class Email(Kind):
    """An email address (normalised by :class:`custdata.EmailAddress`)."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "an email address string", value)
        try:
            return EmailAddress.parse(value)
        except ValidationError as exc:
            return problems.extend(path, exc)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": 320}


@attrs.frozen
class Phone(Kind):
    """A phone number in international form (``+`` and the country calling code), valid for its region."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "a phone number string", value)
        try:
            return PhoneNumber.parse(value)
        except ValidationError as exc:
            return problems.extend(path, exc)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": 64, "description": "international form, such as +49 30 1234567"}


@attrs.frozen
class Choice(Kind):
    """One of ``choices``, the values of a string enum (or some of them)."""

    enum: type[StrEnum]
    choices: tuple[str, ...] = ()

    def allowed(self) -> tuple[str, ...]:
        return self.choices or tuple(m.value for m in self.enum)

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "a string", value)
        allowed = self.allowed()
        if value not in allowed:
            return problems.add(path, f"must be one of {', '.join(allowed)}", ErrorCode.INVALID_CHOICE)
        return self.enum(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.allowed())}


@attrs.frozen
class Boolean(Kind):
    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not bool:
            return problems.wrong_type(path, "true or false", value)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@attrs.frozen
class Integer(Kind):
    minimum: int = 0
    maximum: int = 2**31 - 1

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is float and value.is_integer():  # JSON (and JSON Schema) has no other integers: 2.0 is 2
            value = int(value)
        if type(value) is not int:
            return problems.wrong_type(path, "an integer", value)
        if not self.minimum <= value <= self.maximum:
            return problems.add(path, f"must be between {self.minimum} and {self.maximum}", ErrorCode.OUT_OF_RANGE)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@attrs.frozen
class DecimalText(Kind):
    """A decimal number written as a string (``"19.99"``): JSON numbers are binary floats, inexact for money."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "a decimal string such as '19.99'", value)
        if len(value) > MAX_DECIMAL_CHARS:
            return problems.add(path, f"is longer than {MAX_DECIMAL_CHARS} characters", ErrorCode.TOO_LONG)
        if not _DECIMAL.fullmatch(value):
            return problems.add(path, "is not a decimal number such as '19.99'", ErrorCode.INVALID_FORMAT)
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
            return problems.add(path, "is not a decimal number such as '19.99'", ErrorCode.INVALID_FORMAT)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^" + _DECIMAL.pattern + "$", "maxLength": MAX_DECIMAL_CHARS}


@attrs.frozen
class Day(Kind):
    """A calendar date, ``YYYY-MM-DD``."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "a date string (YYYY-MM-DD)", value)
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return problems.add(path, "is not a date (use YYYY-MM-DD)", ErrorCode.INVALID_FORMAT)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date", "maxLength": 10}


@attrs.frozen
class TimeOfDay(Kind):
    """A time of day, ``HH:MM``."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not str:
            return problems.wrong_type(path, "a time string (HH:MM)", value)
        if re.fullmatch(r"[0-9]{2}:[0-9]{2}", value):
            try:
                return time.fromisoformat(value)
            except ValueError:
                pass
        return problems.add(path, "is not a time of day (use HH:MM)", ErrorCode.INVALID_FORMAT)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$"}


@attrs.frozen
class JsonObject(Kind):
    """A JSON object of at most :data:`MAX_METADATA_CHARS` characters (as compact JSON)."""

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not dict:
            return problems.wrong_type(path, "an object", value)
        check = Checker()
        if not check.json_object(path, value):
            problems.items.extend(check.problems)
            return BAD
        if json_size(value) > MAX_METADATA_CHARS:
            return problems.add(path, f"is larger than {MAX_METADATA_CHARS} characters of JSON", ErrorCode.TOO_LONG)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "object"}


def json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


@attrs.frozen
class ListOf(Kind):
    item: Kind
    max_items: int = 100
    min_items: int = 0

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        if type(value) is not list:
            return problems.wrong_type(path, "a list", value)
        if len(value) > self.max_items:
            return problems.add(path, f"has more than {self.max_items} entries", ErrorCode.TOO_LONG)
        if len(value) < self.min_items:
            return problems.add(path, f"needs at least {self.min_items} entries", ErrorCode.REQUIRED)
        items = [self.item.read(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return BAD if any(i is BAD for i in items) else tuple(items)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.schema(), "maxItems": self.max_items}
        if self.min_items:
            schema["minItems"] = self.min_items
        return schema


@attrs.frozen
class Field:
    """One field of an input: its name, kind, whether it must be given and whether it may be null (in a partial
    update, null clears the value)."""

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    description: str = ""

    def schema(self) -> dict[str, Any]:
        schema = self.kind.schema()
        if self.nullable:
            schema = {"anyOf": [schema, {"type": "null"}]}
        if self.description:
            schema = {**schema, "description": self.description}
        return schema


@attrs.frozen
class Shape(Kind):
    """A JSON object with an explicit allow-list of fields. Keys in ``forbidden`` exist on the model but are the
    server's to set (``forbidden_field``); any other key not listed is ``unknown_field``: both are refused, so a
    typo never drops data silently. Reads to a dict of the keys given (absent keys stay absent)."""

    fields: tuple[Field, ...]
    forbidden: Mapping[str, str] = attrs.field(factory=dict)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def read(self, value: Any, path: str, problems: Problems) -> Any:
        result, bad = self.read_fields(value, path, problems)
        return BAD if bad else result

    def read_fields(
        self, value: Any, path: str, problems: Problems, partial: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """The fields of ``value`` that could be read, and whether anything could not. With ``partial``, a nested
        object that could not be read whole puts the fields of it that could be read there."""
        if type(value) is not dict:
            problems.wrong_type(path, "an object", value)
            return {}, True
        known = {f.name: f for f in self.fields}
        result: dict[str, Any] = {}
        bad = False
        for key in value:
            if type(key) is not str:
                problems.add(path, "keys must be strings", ErrorCode.INVALID_TYPE)
                bad = True
            elif key in self.forbidden:
                problems.add(join_path(path, key), self.forbidden[key], ErrorCode.FORBIDDEN_FIELD)
                bad = True
            elif key not in known:
                problems.add(join_path(path, key), "is not a known field", ErrorCode.UNKNOWN_FIELD)
                bad = True
        for field in self.fields:
            where = join_path(path, field.name)
            if field.name not in value:
                if field.required:
                    problems.add(where, "is required", ErrorCode.REQUIRED)
                    bad = True
                continue
            item = value[field.name]
            if item is None:
                if not field.nullable:
                    problems.add(
                        where,
                        "is required" if field.required else "cannot be null (leave it out to keep it as it is)",
                        ErrorCode.REQUIRED if field.required else ErrorCode.INVALID_TYPE,
                    )
                    bad = True
                    continue
                result[field.name] = None
                continue
            if partial is not None and isinstance(field.kind, Shape):
                inner, inner_bad = field.kind.read_fields(item, where, problems)
                read = BAD if inner_bad else inner
                if inner_bad and type(item) is dict:
                    partial[field.name] = inner
            else:
                read = field.kind.read(item, where, problems)
            if read is BAD:
                bad = True
            else:
                result[field.name] = read
        return result, bad

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {f.name: f.schema() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }


def merge_patch(target: object, patch: object) -> Any:
    """RFC 7396 JSON Merge Patch: ``patch`` applied to ``target`` (neither is changed; a new value returns)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
