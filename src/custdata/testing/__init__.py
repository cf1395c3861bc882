"""Helpers for testing code that uses custdata. Needs the test extra: ``pip install 'custdata[test]'``.

- :class:`StoreContract`: subclass it with one ``make_store()`` method to prove a store behaves like ours.
- :class:`OutboxContract`: the same for a store's outbox and timers (``uow.outbox``, ``uow.timers``).
- :class:`NotifierContract` (with :class:`NotifierHarness` and :class:`Delivery`): the same for notifiers.
- :class:`RecordingNotifier`: a notifier that records messages, with injectable failures.
- :mod:`custdata.testing.strategies`: Hypothesis strategies for every model.

Importing this package without pytest or Hypothesis raises :class:`custdata.MissingExtraError`. Under pytest, the
assertions of the contract kits are rewritten like those of your own tests, so a failing check shows the values
it compared; custdata's pytest plugin (loaded automatically once custdata is installed) adds the promise that
broke to the report.
"""

from custdata._errors import MissingExtraError

try:
    import hypothesis  # noqa: F401 - imported to check that the test extra is installed
    import pytest
except ImportError as exc:
    raise MissingExtraError((exc.name or "pytest").partition(".")[0], "test", "custdata.testing") from exc

# pytest rewrites the assertions of every module of the kit, as it does those of test modules. The modules must be
# named before they are imported: here, ahead of the imports below (importing any of them runs this file first).
_KIT_MODULES = (
    "custdata.testing._store_searches",
    "custdata.testing.async_store_contract",
    "custdata.testing.notifier_contract",
    "custdata.testing.outbox_contract",
    "custdata.testing.store_builders",
    "custdata.testing.store_contract",
    "custdata.testing.store_machine",
    "custdata.testing.strategies",
)
pytest.register_assert_rewrite(*_KIT_MODULES)

from custdata.notify import RecordingNotifier  # noqa: E402
from custdata.testing import strategies  # noqa: E402
from custdata.testing.async_store_contract import AsyncStoreContract  # noqa: E402
from custdata.testing.notifier_contract import Delivery, NotifierContract, NotifierHarness  # noqa: E402
from custdata.testing.outbox_contract import OutboxContract  # noqa: E402
from custdata.testing.store_contract import StoreContract  # noqa: E402

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
