"""Code written once per model class: one flat function that turns a model into a dict, and one that builds
a model from a dict.

cattrs generates similar code; these functions do less per field. Plain strings, integers and booleans are
tested in line and only handed to a hook when they are something else, optional values call their item's hook
only when they are not None, and the check for unknown keys counts keys instead of building a set. Errors are
the same as cattrs' (the same exceptions and notes), so :func:`custdata.from_dict` reports the same paths.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError
from cattrs.fns import identity

from custdata._errors import ErrorCode, ValidationError
from custdata.serialization._shapes import OptionalHook, OptionalStructure, TupleHook, as_is, kind_of

_counter = itertools.count()

#: In-line tests for values that need no hook when they are of the plain type (untrusted input).
_PLAIN_TESTS: dict[Any, str] = {
    str: "type(v) is str",
    int: "type(v) is int",
    bool: "type(v) is bool",
    str | None: "v is None or type(v) is str",
    int | None: "v is None or type(v) is int",
    bool | None: "v is None or type(v) is bool",
}


def _compile(name: str, lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    source = "\n".join(lines) + "\n"
    filename = f"<custdata generated {name} {next(_counter)}>"
    exec(compile(source, filename, "exec"), namespace)  # code built here from field names only
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    function: Callable[..., Any] = namespace[name]
    return function


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    attrs.resolve_types(cls)
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    for field in fields:
        if not field.init or field.alias != field.name:
            raise TypeError(f"{cls.__name__}.{field.name}: only public fields set by __init__ are supported")
    return fields


def structure_function(converter: cattrs.Converter, cls: type, *, trusted: bool) -> Callable[[Any, Any], Any]:
    """A function building a ``cls`` from a mapping: checked and with cattrs' errors, or ``trusted``."""
    fields = _fields(cls)
    namespace: dict[str, Any] = {
        "__cls": cls,
        "__Mapping": Mapping,
        "__fail": _not_an_object,
        "__note": _noted,
        "__group": ClassValidationError,
        "__extra": ForbiddenExtraKeysError,
        "__known": frozenset(f.name for f in fields),
    }
    name = f"structure_{cls.__name__}"
    if trusted:
        return _compile(name, _trusted_structure_lines(converter, name, fields, namespace), namespace)
    lines = [
        f"def {name}(o, _=None):",
        "    if type(o) is not dict and not isinstance(o, __Mapping):",
        "        raise __fail(o)",
        "    res = {}",
        "    errors = []",
        "    found = 0",
    ]
    for i, field in enumerate(fields):
        hook, kind = f"__h{i}", f"__t{i}"
        namespace[hook] = converter.get_structure_hook(field.type)
        namespace[kind] = field.type
        key = repr(field.name)
        plain = _PLAIN_TESTS.get(field.type)
        if plain is None and isinstance(namespace[hook], OptionalStructure):  # None in line, the rest by X's hook
            namespace[hook], namespace[kind] = namespace[hook].hook, namespace[hook].inner
            plain = "v is None"
        lines += [f"    if {key} in o:", "        found += 1", f"        v = o[{key}]"]
        if plain is not None:
            lines += [f"        if {plain}:", f"            res[{key}] = v", "        else:"]
            indent = "            "
        else:
            indent = "        "
        lines += [
            f"{indent}try:",
            f"{indent}    res[{key}] = {hook}(v, {kind})",
            f"{indent}except Exception as e:",
            f"{indent}    errors.append(__note(e, {key}, {kind}))",
        ]
        if field.default is attrs.NOTHING:
            lines += ["    else:", f"        errors.append(__note(KeyError({key}), {key}, {kind}))"]
    lines += [
        "    if found != len(o):",
        "        errors.append(__extra('', __cls, set(o) - __known))",
        "    if errors:",
        f"        raise __group({'While structuring ' + cls.__name__!r}, errors, __cls)",
        "    return __cls(**res)",
    ]
    return _compile(name, lines, namespace)


def _trusted_structure_lines(
    converter: cattrs.Converter, name: str, fields: tuple[attrs.Attribute[Any], ...], namespace: dict[str, Any]
) -> list[str]:
    lines = [f"def {name}(o, _=None):", "    res = {}"]
    for i, field in enumerate(fields):
        hook = converter.get_structure_hook(field.type)
        key = repr(field.name)
        value = f"o[{key}]"
        if hook is not as_is:
            namespace[f"__h{i}"], namespace[f"__t{i}"] = hook, field.type
            value = f"__h{i}({value}, __t{i})"
        if field.default is attrs.NOTHING:
            lines.append(f"    res[{key}] = {value}")
        else:
            lines += [f"    if {key} in o:", f"        res[{key}] = {value}"]
    lines.append("    return __cls(**res)")
    return lines


class GeneratedWriter:
    """A generated function turning a model into a dict (a marker, so that callers can tell it from a user's hook)."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[[Any], dict[str, Any]]) -> None:
        self.function = function

    def __call__(self, obj: Any) -> dict[str, Any]:
        return self.function(obj)


def unstructure_function(
    converter: cattrs.Converter, cls: type, *, leading: dict[str, Any] | None = None
) -> Callable[[Any], dict[str, Any]]:
    """A function turning a ``cls`` into a dict: each field's value, converted by its hook where it needs one;
    ``leading`` items (such as the schema version) come first."""
    fields = _fields(cls)
    namespace: dict[str, Any] = {"__iso": datetime.isoformat}
    name = f"unstructure_{cls.__name__}"
    items = []
    for i, field in enumerate(fields):
        hook = converter.get_unstructure_hook(field.type)
        value = f"o.{field.name}"
        if hook is datetime.isoformat:  # formatting is slow: a timestamp that is the previous one reuses its text
            value = f"last_text if (v := {value}) is last_time else (last_text := __iso(last_time := v))"
        elif isinstance(hook, OptionalHook) and hook.inner is datetime.isoformat:
            value = f"None if (v := {value}) is None else last_text if v is last_time else (last_text := __iso(last_time := v))"
        elif isinstance(hook, OptionalHook):  # call the item's hook only when there is a value
            namespace[f"__h{i}"] = _unwrapped(hook.inner)
            value = f"None if (v := {value}) is None else __h{i}(v)"
        elif isinstance(hook, TupleHook):  # a list of items, each by its hook; no call for an empty tuple
            namespace[f"__h{i}"] = _unwrapped(hook.item)
            value = f"list(map(__h{i}, v)) if (v := {value}) else []"
        elif hook is not identity:
            namespace[f"__h{i}"] = _unwrapped(hook)
            value = f"__h{i}({value})"
        items.append(f"        {field.name!r}: {value},")
    first = [f"        {key!r}: {value!r}," for key, value in (leading or {}).items()]
    # created_at and updated_at are often one object (a new record): the memo makes that one formatting
    lines = [f"def {name}(o):", "    last_time = last_text = None", "    return {", *first, *items, "    }"]
    function: Callable[[Any], dict[str, Any]] = _compile(name, lines, namespace)
    return function


def _unwrapped(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Generated code calls a nested model's generated function directly."""
    return hook.function if isinstance(hook, GeneratedWriter) else hook


def _not_an_object(value: object) -> ValidationError:
    return ValidationError.single("", f"must be an object, not {kind_of(value)}", ErrorCode.INVALID_TYPE)


def _noted(exc: Exception, name: str, kind: Any) -> Exception:
    exc.__notes__ = [*getattr(exc, "__notes__", []), AttributeValidationNote(f"@ attribute {name}", name, kind)]
    return exc
