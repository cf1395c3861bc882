"""A store whose customer repository keeps no suppression list, as a custom store's may not: the SQLite store's
repositories, less ``suppress`` and its kin."""

from __future__ import annotations

from typing import Any

from custdata.storage import Store


class _Customers:
    """A customer repository without a suppression list: everything but ``suppress`` and its kin."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("suppress", "suppressed", "unsuppress"):
            raise AttributeError(name)
        return getattr(self._inner, name)


class _Work:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.customers = _Customers(inner.customers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _Work:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)


class NoListStore:
    """A store whose customer repository keeps no suppression list (a custom store's, say)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def unit_of_work(self) -> _Work:
        return _Work(self._inner.unit_of_work())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.close()
