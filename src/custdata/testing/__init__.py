"""Helpers for testing code that uses custdata. Needs the test extra: ``pip install custdata[test]``.

- :class:`StoreContract`: subclass it with one ``make_store()`` method to prove a store behaves like ours.
- :class:`OutboxContract`: the same for a store's outbox and timers (``uow.outbox``, ``uow.timers``).
- :class:`NotifierContract` (with :class:`NotifierHarness` and :class:`Delivery`): the same for notifiers.
- :class:`RecordingNotifier`: a notifier that records messages, with injectable failures.
- :mod:`custdata.testing.strategies`: Hypothesis strategies for every model.
"""

from custdata.notify import RecordingNotifier
from custdata.testing import strategies
from custdata.testing.async_store_contract import AsyncStoreContract
from custdata.testing.notifier_contract import Delivery, NotifierContract, NotifierHarness
from custdata.testing.outbox_contract import OutboxContract
from custdata.testing.store_contract import StoreContract

__all__ = [
    "AsyncStoreContract",
    "Delivery",
    "NotifierContract",
    "NotifierHarness",
    "OutboxContract",
    "RecordingNotifier",
    "StoreContract",
    "strategies",
]
