"""Bulk loading: many entities, one committed unit of work per batch.

A single ``add_many`` in one unit of work is all or nothing; a large import is better split, so that a crash
keeps the batches already committed and memory stays flat. ``add_in_batches`` does that: each batch is whole or
absent after a crash, never half there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from custdata._errors import ValidationError
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.storage.ports import Store, UnitOfWork

_REPOSITORIES: tuple[tuple[type[Any], str], ...] = (
    (Customer, "customers"),
    (Order, "orders"),
    (CommunicationEvent, "communications"),
    (ActivityEvent, "activity"),
)


def add_in_batches(
    store: Store,
    entities: Iterable[Customer | Order | CommunicationEvent | ActivityEvent],
    *,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Add ``entities`` (of any mix of kinds) in committed batches of ``batch_size``; returns how many.

    ``on_batch`` is called with the running total after each commit (for progress reports). An error stops
    the import: earlier batches stay committed, the failing batch is rolled back whole.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValidationError.single("batch_size", "must be a positive integer")
    iterator = iter(entities)
    total = 0
    while batch := list(islice(iterator, batch_size)):
        with store.unit_of_work() as uow:
            for kind, group in _grouped(batch):
                _repository(uow, kind).add_many(group)
            uow.commit()
        total += len(batch)
        if on_batch is not None:
            on_batch(total)
    return total


def _grouped(batch: list[Any]) -> list[tuple[str, list[Any]]]:
    """Runs of the same kind, in order (customers before the orders that refer to them)."""
    runs: list[tuple[str, list[Any]]] = []
    for index, entity in enumerate(batch):
        kind = next((name for cls, name in _REPOSITORIES if isinstance(entity, cls)), None)
        if kind is None:
            raise ValidationError.single(f"[{index}]", f"is a {type(entity).__name__}, which no repository keeps")
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(entity)
        else:
            runs.append((kind, [entity]))
    return runs


def _repository(uow: UnitOfWork, kind: str) -> Any:
    return getattr(uow, kind)
