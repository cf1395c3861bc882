"""The converter the stores write and read documents with: custdata's own, with quicker hooks for the shapes
that fill a document (optional values, tuples and frozensets of items, JSON objects).

cattrs handles ``X | None``, ``tuple[X, ...]`` and ``frozenset[X]`` through generic hooks that look the item
type up on every call. Here each such type gets a hook bound to its item's hook once, when cattrs first
generates the code for a model. The documents written are the same as :func:`custdata.to_json`'s (a test
checks it on generated entities), and documents are read on the trusted path (no re-validation), as before.
"""

from __future__ import annotations

from collections.abc import Callable
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import cattrs
from cattrs.fns import identity

from custdata.serialization import make_converter

_PRIMITIVES = (str, int, bool, float)


def _optional_inner(t: Any) -> Any:
    """``X`` when ``t`` is ``X | None`` (one type and None), else None."""
    if get_origin(t) not in (Union, UnionType):
        return None
    args = get_args(t)
    if len(args) != 2 or NoneType not in args:
        return None
    return args[0] if args[1] is NoneType else args[1]


def _homogeneous(t: Any) -> bool:
    """``tuple[X, ...]`` or ``frozenset[X]``."""
    origin, args = get_origin(t), get_args(t)
    if origin is frozenset:
        return len(args) == 1
    return origin is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_json_object(t: Any) -> bool:
    return get_origin(t) is dict and get_args(t) == (str, Any)


def _passes_through(t: Any) -> bool:
    return t in _PRIMITIVES or t is Any


def _structure_optional(c: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(t: Any) -> Callable[[Any, Any], Any]:
        inner = _optional_inner(t)
        if _passes_through(inner):
            return lambda value, _: value
        hook = c.get_structure_hook(inner)
        return lambda value, _: None if value is None else hook(value, inner)

    return factory


def _structure_collection(c: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(t: Any) -> Callable[[Any, Any], Any]:
        origin, item_type = get_origin(t), get_args(t)[0]
        if _passes_through(item_type):
            return lambda value, _: origin(value)
        hook = c.get_structure_hook(item_type)
        return lambda value, _: origin([hook(item, item_type) for item in value])

    return factory


def _unstructure_optional(c: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def factory(t: Any) -> Callable[[Any], Any]:
        inner = _optional_inner(t)
        if _passes_through(inner):
            return identity  # cattrs inlines the identity hook in the code it generates
        hook = c.get_unstructure_hook(inner)
        return lambda value: None if value is None else hook(value)

    return factory


def storage_converter() -> cattrs.Converter:
    """A converter like ``make_converter(trusted=True)``, with the quicker hooks registered on top."""
    c = make_converter(trusted=True)
    c.register_structure_hook_factory(lambda t: _optional_inner(t) is not None, _structure_optional(c))
    c.register_structure_hook_factory(_homogeneous, _structure_collection(c))
    # documents are fresh objects from json.loads: their JSON objects can be kept as they are
    c.register_structure_hook_func(_is_json_object, lambda value, _: value)
    c.register_unstructure_hook_factory(lambda t: _optional_inner(t) is not None, _unstructure_optional(c))
    return c
