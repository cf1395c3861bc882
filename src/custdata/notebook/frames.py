"""Repository query results as plain records and pandas DataFrames: one row per customer, order, message or
activity event, the rows of :mod:`custdata.analytics.frames` built from models already in hand.

``to_pandas(uow.orders.for_customer(customer_id))`` gives a DataFrame to group and plot;
``to_records(...)`` gives the same rows as dicts of plain values (Decimal amounts, aware datetimes, str ids)
without pandas. The ``personal`` keyword is the one policy of every frame (:mod:`custdata.analytics.policy`):
the columns of the fields marked personal (:mod:`custdata.domain.personal`: names, emails, phones, birthdays,
message subjects and bodies) are left out by default (``"omit"``), masked with ``"mask"`` and shown with
``"reveal"``; streets, metadata and activity properties are never part of the rows. A frame shared from a notebook
should not carry personal data by accident.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from custdata._errors import ValidationError
from custdata.analytics.frames import (
    activity_record,
    communication_record,
    customer_record,
    frame_columns,
    order_record,
    records_frame,
)
from custdata.analytics.policy import DEFAULT_POLICY, PersonalPolicy, personal_policy
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.storage.ports import Page

__all__ = ["to_pandas", "to_records"]

_ROWS: dict[type[Any], Callable[..., dict[str, Any]]] = {
    Customer: customer_record,
    Order: order_record,
    CommunicationEvent: communication_record,
    ActivityEvent: activity_record,
}


def _kind(items: list[object]) -> type[Any] | None:
    if not items:
        return None
    for kind in _ROWS:
        if isinstance(items[0], kind):
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise ValidationError.single(f"items[{i}]", f"must be {kind.__name__} like the first item")
            return kind
    raise ValidationError.single(
        "items[0]", f"must be a Customer, Order, CommunicationEvent or ActivityEvent, not {type(items[0]).__name__}"
    )


def _items(items: object) -> list[object]:
    if isinstance(items, Page):
        return list(items.items)
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ValidationError.single("items", f"must be a Page or an iterable of records, not {type(items).__name__}")
    return list(items)


def _policy(personal: object, reveal: object) -> PersonalPolicy:
    """The policy asked for; the former ``reveal=`` still works, with a ``DeprecationWarning`` (at the caller of the
    public function): ``True`` is ``"reveal"``, ``False`` is ``"mask"``, as it used to be."""
    if reveal is None:
        return personal_policy(personal, stacklevel=4)
    if not isinstance(reveal, bool):
        raise ValidationError.single("reveal", 'must be true or false; use personal="omit", "mask" or "reveal"')
    if personal is not DEFAULT_POLICY:
        raise ValidationError.single("reveal", "give personal= alone: reveal= is its former, deprecated form")
    policy: PersonalPolicy = "reveal" if reveal else "mask"
    warnings.warn(
        f'reveal={reveal} is deprecated: use personal="{policy}" (one of "omit", "mask", "reveal")',
        DeprecationWarning,
        stacklevel=3,
    )
    return policy


def _rows(items: object, policy: PersonalPolicy) -> tuple[type[Any] | None, list[dict[str, Any]]]:
    models = _items(items)
    kind = _kind(models)
    if kind is None:
        return None, []
    row = _ROWS[kind]
    return kind, [row(model, personal=policy) for model in models]


def to_records(
    items: Page[Any] | Iterable[Any], *, personal: PersonalPolicy = DEFAULT_POLICY, reveal: bool | None = None
) -> list[dict[str, Any]]:
    """One dict of plain values per customer, order, message or activity event (all of one kind): the records of
    :mod:`custdata.analytics.frames` (``customer_record`` and the others), under the same ``personal`` policy.
    ``reveal=`` is deprecated (``reveal=True`` is ``personal="reveal"``, ``reveal=False`` is ``personal="mask"``).

    >>> from datetime import datetime, timezone
    >>> from custdata import Customer
    >>> ann = Customer("cus_1", datetime(2024, 1, 1, tzinfo=timezone.utc), given_name="Ann")
    >>> "given_name" in to_records([ann])[0], to_records([ann], personal="mask")[0]["given_name"]
    (False, 'A***')
    """
    return _rows(items, _policy(personal, reveal))[1]


def to_pandas(
    items: Page[Any] | Iterable[Any], *, personal: PersonalPolicy = DEFAULT_POLICY, reveal: bool | None = None
) -> Any:
    """The rows of :func:`to_records` as a ``pandas.DataFrame`` with the columns of the matching analytics frame
    (``customers_frame`` and the others; needs ``pip install 'custdata[notebook]'``)."""
    policy = _policy(personal, reveal)
    kind, records = _rows(items, policy)
    return records_frame(records, () if kind is None else frame_columns(kind, policy))
