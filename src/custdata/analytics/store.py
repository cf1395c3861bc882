"""Analytics straight from a store: aggregation by the store where it offers the aggregate-query port, streaming
everywhere else.

:class:`StoreAnalytics` wraps a store (or an open unit of work) and answers with the same result types as
the iterable functions of :mod:`custdata.analytics`, equal to what they give on the same data:

- ``historic_clv``, ``order_metrics`` and ``rfm`` are built from per-customer order figures. A store whose
  units of work offer the aggregate-query port (:mod:`custdata.storage.aggregates`; SQLite and PostgreSQL run
  one ``GROUP BY`` statement) computes them itself, so only one row per customer and currency reaches Python;
  on other stores (the in-memory one, your own without the port) the orders stream page by page through
  :func:`custdata.storage.aggregates.order_figures`, the same computation the iterable functions make.
- ``orders()``, ``customers()``, ``communications()`` and ``activity()`` stream every record page by page, to
  feed any other analytics function (cohorts, return rates, segments, CLV summaries) without loading a whole
  table. Memory holds one page and the per-customer figures, never all the orders.
- ``customer_facts``, ``audience`` and ``segment_check`` evaluate segments against the store, in the
  ``callable(customer)`` shape that workflow rules take (see :mod:`custdata.analytics.audience`).

Analytics reaches the store only through the ports (:mod:`custdata.storage.ports` and the aggregate-query
port), never its tables or documents; which orders count is decided by :mod:`custdata.domain.order_rules`.
With a store, each call reads through a unit of work of its own; with a unit of work, calls read inside it
(and see its uncommitted writes). Figures are read in one statement where the store aggregates, else in pages,
so writes committed by others while a call runs may or may not be counted, as when walking pages yourself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from custdata._errors import ProgrammingError, ValidationError
from custdata.analytics._input import currency_code, moment
from custdata.analytics.audience import Audience, SegmentCheck, audience_of
from custdata.analytics.facts import CART_EVENTS, PURCHASE_EVENTS, CustomerFactsTable, customer_facts
from custdata.analytics.lifetime import LifetimeTotals, lifetime_of
from custdata.analytics.metrics import HistoricClv, OrderMetrics, clv_of, metrics_of
from custdata.analytics.rfm import RfmTable, rfm_from_values
from custdata.analytics.segments import Segment
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.storage.aggregates import OrderAggregates, aggregates_of, order_figures
from custdata.storage.ports import MAX_LIMIT, Page, Store, UnitOfWork, walk

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


class StoreAnalytics:
    """Analytics over everything in ``source`` (a store or an open unit of work); see the module docstring.

    ``pushdown=False`` makes even stores that offer the aggregate-query port stream their orders (the results
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
        """Whether aggregating calls are answered by the source's aggregate-query port (SQLite and PostgreSQL
        run them inside the database) rather than by streaming its orders."""
        if not self._pushdown:
            return False
        with reading(self._source) as uow:
            return aggregates_of(uow) is not None

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

    def order_figures(self, *, as_of: datetime | None = None) -> OrderAggregates:
        """Per-customer, per-currency order figures as of ``as_of`` (everything when None): from the source's
        aggregate-query port when it offers one (see :attr:`pushes_down`), else from its orders, streamed."""
        if as_of is not None:
            moment("as_of", as_of)
        if self._pushdown:
            with reading(self._source) as uow:
                queries = aggregates_of(uow)
                if queries is not None:
                    found = queries.order_figures(as_of=as_of)
                    if not isinstance(found, OrderAggregates):
                        raise ProgrammingError(
                            f"{type(queries).__name__}.order_figures returned {type(found).__name__}, "
                            "not OrderAggregates"
                        )
                    return found
        return order_figures(self.orders(), as_of=as_of)

    def historic_clv(self, *, as_of: datetime | None = None) -> HistoricClv:
        """What :func:`custdata.analytics.historic_clv` gives on every order of the source."""
        return clv_of(self.order_figures(as_of=as_of))

    def lifetime_totals(self, *, as_of: datetime | None = None) -> LifetimeTotals:
        """What :func:`custdata.analytics.lifetime_totals` gives on every customer and order of the source."""
        return lifetime_of(self.customers(), self.historic_clv(as_of=as_of), as_of=as_of)

    def order_metrics(self) -> OrderMetrics:
        """What :func:`custdata.analytics.order_metrics` gives on every order of the source."""
        return metrics_of(self.order_figures())

    def rfm(self, *, as_of: datetime, currency: str | None = None) -> RfmTable:
        """What :func:`custdata.analytics.rfm` gives on every order of the source."""
        moment("as_of", as_of)
        currency_code("currency", currency)
        return rfm_from_values(self.historic_clv(as_of=as_of), as_of=as_of, currency=currency)
