"""Hook objects that generated code recognises and calls its way (in line), and how errors name a value's kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def as_is(value: Any, _: Any) -> Any:
    """The structure hook of values that are the same in a document and in a model (trusted input)."""
    return value


class OptionalHook:
    """Unstructures ``X | None``: None as it is, anything else by ``X``'s hook (generated code calls ``inner``)."""

    __slots__ = ("inner",)

    def __init__(self, inner: Callable[[Any], Any]) -> None:
        self.inner = inner

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.inner(value)


class OptionalStructure:
    """Structures ``X | None``: None as it is, anything else by ``X``'s hook (generated code calls ``hook``)."""

    __slots__ = ("hook", "inner")

    def __init__(self, hook: Callable[[Any, Any], Any], inner: Any) -> None:
        self.hook, self.inner = hook, inner

    def __call__(self, value: Any, _: Any) -> Any:
        return None if value is None else self.hook(value, self.inner)


class TupleHook:
    """Unstructures ``tuple[X, ...]`` into a list, each item by ``X``'s hook (generated code calls ``item``)."""

    __slots__ = ("item",)

    def __init__(self, item: Callable[[Any], Any]) -> None:
        self.item = item

    def __call__(self, value: Any) -> list[Any]:
        return list(map(self.item, value)) if value else []


def kind_of(value: Any) -> str:
    """How an error names the kind of a value: 'an object', 'a list', 'null'..."""
    names = {dict: "an object", list: "a list", type(None): "null", bool: "a boolean", float: "a float"}
    return names.get(type(value), type(value).__name__)
