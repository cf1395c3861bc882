"""Analytics straight from a store: aggregation pushed into SQLite and PostgreSQL, streaming everywhere else.

:class:`StoreAnalytics` wraps a store (or an open unit of work) and answers with the same result types as
the iterable functions of :mod:`custdata.analytics`, equal to what they give on the same data:

- ``historic_clv``, ``order_metrics`` and ``rfm`` run one ``GROUP BY`` statement in SQLite and PostgreSQL, so
  only one row per customer and currency leaves the database; on other stores (the in-memory one, your own)
  they stream the orders page by page through the iterable functions.
- ``orders()``, ``customers()``, ``communications()`` and ``activity()`` stream every record page by page, to
  feed any other analytics function (cohorts, return rates, segments, CLV summaries) without loading a whole
  table. Memory holds one page and the per-customer figures, never all the orders.
- ``customer_facts``, ``audience`` and ``segment_check`` evaluate segments against the store, in the
  ``callable(customer)`` shape that workflow rules take (see :mod:`custdata.analytics.audience`).

With a store, each call reads through a unit of work of its own; with a unit of work, calls read inside it
(and see its uncommitted writes). Figures are read in one statement where pushed down, else in pages, so
writes committed by others while a call runs may or may not be counted, as when walking pages yourself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from custdata._errors import ValidationError
from custdata.analytics._input import moment
from custdata.analytics._store_sql import DIALECTS, Aggregates, aggregate_orders
from custdata.analytics.audience import Audience, SegmentCheck, audience_of
from custdata.analytics.facts import CART_EVENTS, PURCHASE_EVENTS, CustomerFactsTable, customer_facts
from custdata.analytics.metrics import (
    CurrencyMetrics,
    CustomerValue,
    HistoricClv,
    OrderMetrics,
    historic_clv,
    money,
    order_metrics,
    ratio,
)
from custdata.analytics.rfm import RfmTable, rfm_from_values
from custdata.analytics.segments import Segment
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, CustomerId, Money, Order
from custdata.domain._checks import trusting
from custdata.domain.money import EXACT, checked_amount, currency_exponent
from custdata.storage.ports import MAX_LIMIT, Page, Store, UnitOfWork, walk
from custdata.storage.records import EPOCH

T = TypeVar("T")

Source = Store | UnitOfWork


@contextmanager
def reading(source: Source) -> Iterator[UnitOfWork]:
    """A unit of work to read ``source`` through: the unit of work itself, or a new one of the store (closed
    again, without writing anything, when the block ends)."""
    if isinstance(source, UnitOfWork):
        yield source
    elif isinstance(source, Store):
        with source.unit_of_work() as uow:
            yield uow
    else:
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")


def check_page_size(page_size: object) -> int:
    """``page_size`` if it is a page size the stores accept, else a ValidationError naming ``page_size``."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_LIMIT:
        raise ValidationError.single("page_size", f"must be an integer from 1 to {MAX_LIMIT}")
    return page_size


def _pushdown_session(uow: UnitOfWork) -> object | None:
    """The SQL session of ``uow`` when its database can aggregate orders itself, else None."""
    from custdata.storage.sql.unit_of_work import SqlUnitOfWork

    if isinstance(uow, SqlUnitOfWork) and uow.session.dialect.name in DIALECTS:
        return uow.session
    return None


def _moment(micro: int) -> datetime:
    return EPOCH + timedelta(0, 0, micro)


class _Exact:
    """``money(amount, currency)`` for many amounts, equal to it: each currency's zero is looked up once, and
    Money is built without checking again what :func:`checked_amount` just rounded and bounded (callers hold
    ``trusting()``)."""

    __slots__ = ("_zeros",)

    def __init__(self) -> None:
        self._zeros: dict[str, Money] = {}

    def __call__(self, amount: Decimal, currency: str) -> Money:
        zero = self._zeros.get(currency)
        if zero is None:
            zero = self._zeros[currency] = money(Decimal(0), currency)
        if not amount and currency_exponent(currency) is not None:
            return zero
        return Money(checked_amount(amount, currency), currency)  # out of range: a ValidationError, as money() says


class StoreAnalytics:
    """Analytics over everything in ``source`` (a store or an open unit of work); see the module docstring.

    ``pushdown=False`` makes even SQL stores stream their orders through the iterable functions (the results
    are the same; this is slower, and useful for checking exactly that). ``page_size`` is how many records a
    page holds when streaming.
    """

    def __init__(self, source: Source, *, pushdown: bool = True, page_size: int = 1000) -> None:
        if not isinstance(source, UnitOfWork | Store):
            raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")
        if not isinstance(pushdown, bool):
            raise ValidationError.single("pushdown", "must be true or false")
        self._source = source
        self._pushdown = pushdown
        self._page_size = check_page_size(page_size)

    def __repr__(self) -> str:
        return f"StoreAnalytics({type(self._source).__name__}, pushdown={self._pushdown})"

    @property
    def pushes_down(self) -> bool:
        """Whether aggregating calls run inside the database for this source (SQLite and PostgreSQL)."""
        if not self._pushdown:
            return False
        with reading(self._source) as uow:
            return _pushdown_session(uow) is not None

    # -- streams ----------------------------------------------------------------------------------------------

    def _stream(self, fetch: Callable[[UnitOfWork, int, str | None], Page[T]]) -> Iterator[T]:
        size = self._page_size
        with reading(self._source) as uow:
            yield from walk(lambda cursor: fetch(uow, size, cursor))

    def orders(self) -> Iterator[Order]:
        """Every order, in id order, fetched a page at a time."""
        return self._stream(lambda uow, size, cursor: uow.orders.page(limit=size, cursor=cursor))

    def customers(self) -> Iterator[Customer]:
        """Every customer, in id order, fetched a page at a time."""
        return self._stream(lambda uow, size, cursor: uow.customers.search(limit=size, cursor=cursor))

    def communications(self) -> Iterator[CommunicationEvent]:
        """Every communication event, in id order, fetched a page at a time."""
        return self._stream(lambda uow, size, cursor: uow.communications.page(limit=size, cursor=cursor))

    def activity(self) -> Iterator[ActivityEvent]:
        """Every activity event, in id order, fetched a page at a time."""
        return self._stream(lambda uow, size, cursor: uow.activity.page(limit=size, cursor=cursor))

    def customer(self, customer_id: str) -> Customer:
        """The customer with this id, or :class:`~custdata.NotFoundError`."""
        with reading(self._source) as uow:
            return uow.customers.get(customer_id)

    def orders_of(self, customer_id: str) -> Iterator[Order]:
        """The customer's orders by time placed, fetched a page at a time."""
        return self._stream(lambda uow, size, cursor: uow.orders.for_customer(customer_id, limit=size, cursor=cursor))

    def activity_of(self, customer_id: str) -> Iterator[ActivityEvent]:
        """The customer's activity events by time, fetched a page at a time."""
        return self._stream(lambda uow, size, cursor: uow.activity.for_customer(customer_id, limit=size, cursor=cursor))

    # -- segments ---------------------------------------------------------------------------------------------

    def customer_facts(
        self,
        *,
        as_of: datetime,
        cart_events: Iterable[str] = CART_EVENTS,
        purchase_events: Iterable[str] = PURCHASE_EVENTS,
    ) -> CustomerFactsTable:
        """What :func:`custdata.analytics.customer_facts` gives on every order, activity event and customer."""
        return customer_facts(
            as_of=as_of,
            orders=self.orders(),
            activity=self.activity(),
            customers=self.customers(),
            cart_events=cart_events,
            purchase_events=purchase_events,
        )

    def audience(self, segment: Segment, *, as_of: datetime | None = None) -> Audience:
        """The members of ``segment`` as of ``as_of`` (now when None), as an :class:`Audience`: a snapshot that
        a workflow rule takes as its ``segment`` (``audience(customer)`` is a set look-up)."""
        return audience_of(self, segment, as_of)

    def segment_check(self, segment: Segment, *, clock: Callable[[], datetime] | None = None) -> SegmentCheck:
        """A live test of ``segment`` for one customer at a time, as of ``clock()`` (UTC now by default); a
        workflow rule takes it as its ``segment``. Each call reads that customer's orders and activity."""
        return SegmentCheck(self, segment, clock)

    # -- aggregates -------------------------------------------------------------------------------------------

    def _aggregates(self, as_of: datetime | None) -> Aggregates | None:
        """The database's order aggregates, or None when this source streams instead."""
        if not self._pushdown:
            return None
        with reading(self._source) as uow:
            session = _pushdown_session(uow)
            if session is None:
                return None
            return aggregate_orders(session, as_of=as_of)  # type: ignore[arg-type]

    def historic_clv(self, *, as_of: datetime | None = None) -> HistoricClv:
        """What :func:`custdata.analytics.historic_clv` gives on every order of the source."""
        if as_of is not None:
            moment("as_of", as_of)
        found = self._aggregates(as_of)
        if found is None:
            return historic_clv(self.orders(), as_of=as_of)
        rows = []
        exact, at = _Exact(), _moment
        with trusting():
            for key in sorted(found.groups):
                sums = found.groups[key]
                if not sums.orders or sums.first_us is None or sums.last_us is None:
                    continue
                currency = key[1]
                revenue = exact(sums.revenue, currency)
                clv = revenue if not sums.refunds else exact(EXACT.subtract(sums.revenue, sums.refunds), currency)
                rows.append(
                    CustomerValue(
                        CustomerId(key[0]),
                        currency,
                        sums.orders,
                        revenue,
                        exact(sums.refunds, currency),
                        clv,
                        at(sums.first_us),
                        at(sums.last_us),
                    )
                )
        return HistoricClv(tuple(rows))

    def order_metrics(self) -> OrderMetrics:
        """What :func:`custdata.analytics.order_metrics` gives on every order of the source."""
        found = self._aggregates(None)
        if found is None:
            return order_metrics(self.orders())
        per_customer: dict[str, int] = {}
        count: dict[str, int] = {}
        revenue: dict[str, Decimal] = {}
        buyers: dict[str, int] = {}
        for (customer_id, currency), sums in found.groups.items():
            if not sums.orders:
                continue
            per_customer[customer_id] = per_customer.get(customer_id, 0) + sums.orders
            count[currency] = count.get(currency, 0) + sums.orders
            revenue[currency] = EXACT.add(revenue.get(currency, Decimal(0)), sums.revenue)
            buyers[currency] = buyers.get(currency, 0) + 1
        rows = tuple(
            CurrencyMetrics(
                currency=currency,
                orders=count[currency],
                customers=buyers[currency],
                revenue=money(revenue[currency], currency),
                average_order_value=money(revenue[currency] / count[currency], currency),
            )
            for currency in sorted(count)
        )
        total = sum(per_customer.values())
        repeaters = sum(1 for n in per_customer.values() if n > 1)
        return OrderMetrics(
            rows,
            orders=total,
            cancelled_orders=found.cancelled,
            customers=len(per_customer),
            repeat_customers=repeaters,
            purchase_frequency=ratio(total, len(per_customer)),
            repeat_purchase_rate=ratio(repeaters, len(per_customer)),
        )

    def rfm(self, *, as_of: datetime, currency: str | None = None) -> RfmTable:
        """What :func:`custdata.analytics.rfm` gives on every order of the source."""
        moment("as_of", as_of)
        from custdata.analytics._input import currency_code

        currency_code("currency", currency)
        return rfm_from_values(self.historic_clv(as_of=as_of), as_of=as_of, currency=currency)
