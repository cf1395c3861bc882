"""HTML renderings of customers, orders, messages, activity, customer 360 views and analytics results, for
Jupyter (registered in :mod:`custdata.notebook.display`) and for :func:`show`.

Personal data is masked unless revealed (see :mod:`custdata.notebook.masking`), every value is escaped,
and long lists are cut to ``max_rows`` with a note saying how many rows there are. Lists of records, such
as a page from a repository query, become one table with a summary row per record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from custdata.analytics import Audience, Table
from custdata.analytics._results import Summary
from custdata.customer360 import Customer360
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.notebook.display import register_html, renderer_for
from custdata.notebook.masking import (
    address_lines,
    email_text,
    is_masked,
    mask_text,
    phone_text,
    pii_revealed,
    reveal_pii,
)
from custdata.notebook.tables import (
    DEFAULT_MAX_ROWS,
    block,
    esc,
    field_text,
    fmt,
    heading,
    muted,
    pairs,
    result_html,
    table,
)
from custdata.storage.ports import Page


@attrs.frozen
class Html:
    """Rendered HTML that Jupyter displays as such (``_repr_html_``); ``str()`` gives the markup."""

    html: str = attrs.field(repr=False)

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"Html({len(self.html)} characters)"


def _name(customer: Customer, reveal: bool) -> str:
    name = customer.name
    return (name if reveal else mask_text(name)) or "(no name)"


def customer_html(customer: Customer, *, reveal: bool | None = None, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """A customer's card: identity, contact points, address book, tags, consent."""
    show = pii_revealed() if reveal is None else reveal
    status = "guest" if customer.is_guest else "registered"
    if customer.redacted_at is not None:
        status += f", redacted {fmt(customer.redacted_at)}"
    if customer.merged_into is not None:
        status += f", merged into {customer.merged_into}"
    facts = [
        ("id", str(customer.id)),
        ("name", _name(customer, show)),
        ("status", status),
        ("email", ", ".join(email_text(e, show) for e in customer.emails)),
        ("phone", ", ".join(phone_text(p, show) for p in customer.phones)),
        ("company", field_text(customer.company.company, "name", show) if customer.company else ""),
        ("groups", field_text(customer, "groups", show)),
        ("tags", field_text(customer, "tags", show)),
        ("locale", field_text(customer, "locale", show)),
        ("timezone", field_text(customer, "timezone", show)),
        ("birthday", field_text(customer, "birthday", show)),
        ("created", field_text(customer, "created_at", show)),
        ("updated", field_text(customer, "updated_at", show)),
        ("version", field_text(customer, "version", show)),
    ]
    parts = [pairs(facts)]
    if customer.addresses:

        def role(index: int) -> str:
            shipping = index == customer.default_shipping_address
            billing = index == customer.default_billing_address
            return ", ".join(name for name, flag in (("shipping", shipping), ("billing", billing)) if flag)

        rows = [
            [str(i), role(i), ", ".join(address_lines(a, show))] for i, a in enumerate(customer.addresses[:max_rows])
        ]
        parts += [heading("Addresses"), table(["#", "default", "address"], rows, total=len(customer.addresses))]
    if customer.consents:
        columns = ("purpose", "channel", "state", "opt_in_level", "recorded_at", "source")
        rows = [[field_text(c, name, show) for name in columns] for c in customer.consents[:max_rows]]
        parts += [
            heading("Consent"),
            table(["purpose", "channel", "state", "opt-in", "recorded", "source"], rows, total=len(customer.consents)),
        ]
    return block(f"Customer {customer.id}", "".join(parts))


def order_html(order: Order, *, reveal: bool | None = None, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """An order's card: status and totals, lines, shipments with their latest tracking, returns."""
    show = pii_revealed() if reveal is None else reveal
    facts = [
        ("id", str(order.id)),
        ("customer", str(order.customer_id)),
        ("status", order.status.value),
        ("placed", fmt(order.placed_at)),
        ("external ref", str(order.external_ref) if order.external_ref else ""),
        ("subtotal", fmt(order.subtotal)),
        ("shipping", fmt(order.shipping)),
        ("tax", fmt(order.tax) + (" (included)" if order.taxes_included else "")),
        ("discount", fmt(order.discount)),
        ("total", fmt(order.total)),
        ("ship to", ", ".join(address_lines(order.shipping_address, show)) if order.shipping_address else ""),
    ]
    columns = ("id", "sku", "product_name", "variant", "quantity", "unit_price")
    lines = [[*(field_text(line, name, show) for name in columns), fmt(line.total)] for line in order.lines[:max_rows]]
    parts = [
        pairs(facts),
        heading("Lines"),
        table(["line", "sku", "product", "variant", "qty", "unit price", "total"], lines, total=len(order.lines)),
    ]
    if order.shipments:
        rows = []
        for s in order.shipments[:max_rows]:
            latest = s.latest_event
            rows.append(
                [
                    *(field_text(s, name, show) for name in ("id", "carrier", "tracking_number", "shipped_at")),
                    field_text(latest, "status", show) if latest else "",
                    fmt(s.estimated_delivery_at),
                ]
            )
        headers = ["shipment", "carrier", "tracking number", "shipped", "latest status", "estimated delivery"]
        parts += [heading("Shipments"), table(headers, rows, total=len(order.shipments))]
    if order.returns:
        rows = [
            [
                r.id,
                r.status.value,
                fmt(r.requested_at),
                ", ".join(f"{line.line_id} x{line.quantity} ({line.reason.value})" for line in r.lines),
                fmt(r.refund),
            ]
            for r in order.returns[:max_rows]
        ]
        parts += [
            heading("Returns"),
            table(["return", "status", "requested", "lines", "refund"], rows, total=len(order.returns)),
        ]
    return block(f"Order {order.id}", "".join(parts))


def communication_html(event: CommunicationEvent, *, reveal: bool | None = None) -> str:
    """A message's card; subject and body (which may quote personal data) only when revealed."""
    show = pii_revealed() if reveal is None else reveal
    facts = [
        ("id", str(event.id)),
        ("customer", str(event.customer_id)),
        ("channel", event.channel.value),
        ("direction", event.direction.value),
        ("topic", event.topic.value),
        ("status", event.status.value),
        ("suppressed because", _hidden(event, "suppression_reason", show)),
        ("order", str(event.order_id or "")),
        ("ticket", event.ticket_id or ""),
        ("template", event.template or ""),
        ("created", fmt(event.created_at)),
        ("sent", fmt(event.sent_at)),
        ("subject", _hidden(event, "subject", show)),
        ("error", _hidden(event, "error", show)),
    ]
    revealed_body = show or not is_masked(CommunicationEvent, "body")
    body = f"<pre>{esc(event.body)}</pre>" if event.body and revealed_body else ""
    return block(f"Message {event.id}", pairs(facts) + body)


def _hidden(obj: object, name: str, reveal: bool) -> str:
    """A text field of ``obj`` as it is, or ``(hidden)`` when it is personal and not revealed."""
    value = getattr(obj, name)
    if not value:
        return ""
    return str(value) if reveal or not is_masked(type(obj), name) else "(hidden)"


def activity_html(event: ActivityEvent, *, reveal: bool | None = None) -> str:
    """An activity event's card; property values (which may hold personal data) only when revealed."""
    show = pii_revealed() if reveal is None else reveal
    revealed = show or not is_masked(ActivityEvent, "properties")
    properties = fmt(event.properties) if revealed else ", ".join(sorted(event.properties))
    facts = [
        ("id", str(event.id)),
        ("event", event.event),
        ("occurred", fmt(event.occurred_at)),
        ("customer", str(event.customer_id or "")),
        ("anonymous id", field_text(event, "anonymous_id", show)),
        ("source", field_text(event, "source", show)),
        ("properties" if revealed else "property names", properties),
    ]
    return block(f"Activity {event.id}", pairs(facts))


def view_html(view: Customer360, *, reveal: bool | None = None, max_rows: int = 200) -> str:
    """A customer 360 view: profile, summary figures, open issues and the timeline (newest ``max_rows``)."""
    show = pii_revealed() if reveal is None else reveal
    c, f = view.customer, view.figures
    merged = f"reached from merged {', '.join(view.merged_ids)}" if view.merged_ids else ""
    profile = [
        ("id", str(c.id)),
        ("name", _name(c, show)),
        ("email", email_text(c.email, show)),
        ("phone", phone_text(c.phone, show)),
        ("merged", merged),
        ("customer since", fmt(c.created_at)),
    ]
    summary = [
        ("as of", fmt(f.as_of)),
        ("orders", str(f.order_count)),
        ("cancelled orders", str(f.cancelled_orders)),
        ("total spent", fmt(f.total_spent)),
        ("refunded", fmt(f.refunded)),
        ("average order value", fmt(f.average_order_value)),
        ("first order", fmt(f.first_order_at)),
        ("last order", fmt(f.last_order_at)),
        ("days since last order", fmt(f.days_since_last_order)),
        (
            "return rate",
            "" if f.return_rate is None else f"{f.return_rate:.1%} ({f.items_returned} of {f.items_bought} items)",
        ),
        ("support contacts", f"{f.support_contacts} in {f.support_tickets} tickets"),
    ]
    parts = [pairs(profile), heading("Summary"), pairs(summary)]
    issues = [[i.kind.value, fmt(i.since), i.description] for i in f.open_issues]
    parts += [heading(f"Open issues ({len(issues)})"), table(["issue", "since", "what"], issues) if issues else ""]
    newest = view.timeline[::-1][:max_rows]
    rows = [[fmt(e.at), e.kind.value, e.description] for e in newest]
    parts += [heading("Timeline, newest first"), table(["when", "what", "details"], rows, total=len(view.timeline))]
    return block(f"Customer 360: {c.id}", "".join(parts))


# -- lists and pages of records ------------------------------------------------------------------


def _customer(c: Customer, reveal: bool) -> list[str]:
    countries = sorted({a.country_code for a in c.addresses})
    return [
        str(c.id),
        (c.name if reveal else mask_text(c.name)) or "",
        email_text(c.email, reveal),
        phone_text(c.phone, reveal),
        ", ".join(countries),
        "guest" if c.is_guest else "registered",
        fmt(c.tags),
        fmt(c.created_at),
    ]


def _order(o: Order, reveal: bool) -> list[str]:
    return [str(o.id), str(o.customer_id), o.status.value, fmt(o.placed_at), str(o.item_count), fmt(o.total)]


def _message(e: CommunicationEvent, reveal: bool) -> list[str]:
    return [
        str(e.id),
        str(e.customer_id),
        e.channel.value,
        e.direction.value,
        e.topic.value,
        e.status.value,
        fmt(e.created_at),
    ]


def _activity(e: ActivityEvent, reveal: bool) -> list[str]:
    return [str(e.id), e.event, str(e.customer_id or ""), e.anonymous_id or "", fmt(e.occurred_at)]


_KINDS: tuple[tuple[type[Any], str, list[str], Callable[[Any, bool], list[str]]], ...] = (
    (Customer, "Customers", ["id", "name", "email", "phone", "countries", "status", "tags", "created"], _customer),
    (Order, "Orders", ["id", "customer", "status", "placed", "items", "total"], _order),
    (
        CommunicationEvent,
        "Messages",
        ["id", "customer", "channel", "direction", "topic", "status", "created"],
        _message,
    ),
    (ActivityEvent, "Activity", ["id", "event", "customer", "anonymous id", "occurred"], _activity),
)


def listing_html(items: Sequence[object], *, reveal: bool, max_rows: int, more: bool = False) -> str | None:
    """A table of ``items`` when they are all customers, all orders, all messages or all activity events
    (None otherwise); ``more`` notes that further pages exist."""
    for kind, title, headers, row in _KINDS:
        if items and all(isinstance(item, kind) for item in items):
            body = table(headers, (row(item, reveal) for item in items[:max_rows]), total=len(items))
            note = muted("more on the next page: pass next_cursor to the same query") if more else ""
            return block(f"{title} ({len(items)})", body + note)
    return None


def to_html(obj: object, *, reveal: bool | None = None, max_rows: int | None = None) -> str:
    """HTML for a customer, order, message, activity event, customer 360 view, a list or :class:`Page` of
    one kind of those records, or any attrs result.

    ``reveal`` overrides the current :func:`~custdata.notebook.reveal_pii` setting; ``max_rows`` caps the
    rows of long tables.
    """
    renderer = renderer_for(type(obj))
    if renderer is not None:
        return renderer(obj, reveal, max_rows)
    if isinstance(obj, (Page, list, tuple)):
        items = obj.items if isinstance(obj, Page) else tuple(obj)
        more = isinstance(obj, Page) and obj.next_cursor is not None
        show = pii_revealed() if reveal is None else reveal
        listing = listing_html(items, reveal=show, max_rows=max_rows or DEFAULT_MAX_ROWS, more=more)
        if listing is not None:
            return listing
    return result_html(obj, reveal=reveal, max_rows=_rows(max_rows))


def show(obj: object, *, reveal: bool = False, max_rows: int | None = None) -> Html:
    """``obj`` rendered for a notebook; personal data is shown only with ``reveal=True``.

    >>> from custdata.notebook import show
    >>> from custdata.analytics import nps
    >>> "<th>score</th>" in str(show(nps([10, 9, 3])))
    True
    """
    with reveal_pii(reveal):
        return Html(to_html(obj, max_rows=max_rows))


def _rows(max_rows: int | None, default: int = DEFAULT_MAX_ROWS) -> int:
    return default if max_rows is None else max_rows


register_html(Customer, lambda obj, reveal, max_rows: customer_html(obj, reveal=reveal, max_rows=_rows(max_rows)))
register_html(Order, lambda obj, reveal, max_rows: order_html(obj, reveal=reveal, max_rows=_rows(max_rows)))
register_html(CommunicationEvent, lambda obj, reveal, max_rows: communication_html(obj, reveal=reveal))
register_html(ActivityEvent, lambda obj, reveal, max_rows: activity_html(obj, reveal=reveal))
register_html(Customer360, lambda obj, reveal, max_rows: view_html(obj, reveal=reveal, max_rows=_rows(max_rows, 200)))
for _result in (Summary, Table, Audience):
    register_html(_result, lambda obj, reveal, max_rows: result_html(obj, reveal=reveal, max_rows=_rows(max_rows)))
