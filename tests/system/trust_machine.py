"""A whole-system state machine: people, guests and impostors, orders through the lifecycle, workflows and
dispatchers that crash, merges and undos, duplicate detection, verification, consent, imports, retention and
erasure, all on one store, with the privacy and identity promises checked after every step.

The model keeps, for every customer record, the person it belongs to and whose personal values it holds, and
for every order the claim it was placed under (a registered person, or an unproven guest email). From that it
knows what must hold:

- a live registered account has as primary email its owner's own address or one it proved, and as primary
  phone one of the values its record was given; its orders were placed by its owner or under an email it proved;
- a withdrawal of consent takes effect at once;
- once every record of a person is erased (or deleted by retention), none of the person's values is found in
  another customer's export or timeline, in the outbox, in a message sent since, or, after the store's purge,
  in its files or tables.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import custdata
from custdata import Address, Channel, ConsentPurpose, Customer, EmailAddress, Money, Order, OrderLine, PhoneNumber
from custdata import merge as merging
from custdata.customer360 import customer_360
from custdata.domain import Shipment
from custdata.importing import ImportOptions, import_customers, import_orders, read_rows
from custdata.lifecycle import Deliver, Pack, Pay, Ship
from custdata.notify import RecordingNotifier
from custdata.outbox import Dispatcher, OutboxState
from custdata.outbox.ports import has_outbox
from custdata.privacy import (
    RetentionPolicy,
    VerificationTokens,
    complete_verification,
    consent,
    erase_customer,
    export_customer_json,
    start_verification,
    sweep,
)
from custdata.storage import Store, walk
from custdata.support import SupportDesk, SupportError
from custdata.workflows import Shop, Workflows

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

# Names and streets unlike each other (so only impostors look like someone else) and unlike anything else stored.
#: The suppression key every erasure and the imports of erased people's rows are given.
SUPPRESSION_KEY = b"the shop's suppression key, 16+ bytes"

_GIVEN = [
    "Quirinus",
    "Evangelina",
    "Bartholomaeus",
    "Wilhelmina",
    "Zebulon",
    "Ottoline",
    "Fitzgerald",
    "Hyacinth",
    "Leopoldine",
    "Cassius",
    "Rosalind",
    "Thaddeus",
    "Marguerite",
    "Ignatius",
    "Philippa",
    "Aurelio",
    "Genoveva",
    "Barnabas",
    "Clementine",
    "Sylvester",
    "Euphemia",
    "Lysander",
    "Perpetua",
    "Ambrosius",
    "Seraphina",
    "Dagobert",
    "Isadora",
    "Crispin",
    "Walburga",
    "Octavian",
    "Henrietta",
    "Jeremias",
    "Ludmilla",
    "Cornelius",
    "Gwendolyn",
    "Ptolemy",
    "Radegund",
    "Sigismund",
    "Theodora",
    "Valentin",
]
_FAMILY = [
    "Vandersloot",
    "Quenstedt",
    "Oppenauer",
    "Kreuzwieser",
    "Blumenthaler",
    "Achterberg",
    "Winkelhock",
    "Grabowiecki",
    "Ostermeyer",
    "Pfannenstiel",
    "Lichtenau",
    "Duvenbeck",
    "Hollerbusch",
    "Zwingmann",
    "Eichelkraut",
    "Mannsfelder",
    "Trautwein",
    "Falkenrath",
    "Schimmelpfeng",
    "Birkenstedt",
    "Wolkenhauer",
    "Rabenstein",
    "Honigmund",
    "Sonnleitner",
    "Kuckelkorn",
    "Stiefelmeyer",
    "Pappenheimer",
    "Nachtigall",
    "Zitronenbaum",
    "Eulenspiegel",
    "Ferdinandy",
    "Gottschalk",
    "Hasenclever",
    "Igelhoff",
    "Jauernick",
    "Kesselring",
    "Lorbeerkranz",
    "Mistelzweig",
    "Nussbaumer",
    "Ochsenreiter",
]
_STREETS = [
    "Akazien",
    "Buchsbaum",
    "Chrysanthemen",
    "Dattelpalmen",
    "Eisenhut",
    "Fingerhut",
    "Ginster",
    "Holunder",
    "Immergruen",
    "Jasmin",
    "Kastanien",
    "Lavendel",
    "Magnolien",
    "Narzissen",
    "Oleander",
    "Pfingstrosen",
    "Quitten",
    "Rosmarin",
    "Salbei",
    "Tamarisken",
    "Ulmen",
    "Veilchen",
    "Wacholder",
    "Ysop",
    "Zypressen",
    "Ahorn",
    "Berberitzen",
    "Christdorn",
    "Douglasien",
    "Efeu",
    "Felsenbirnen",
    "Glyzinien",
    "Hortensien",
    "Ilex",
    "Johannisbeer",
    "Kamelien",
    "Lupinen",
    "Mispel",
    "Nelken",
    "Orchideen",
]


@attrs.define
class Person:
    """Someone using the shop, with values unusual enough to be found anywhere they are written."""

    n: int
    erased: bool = False

    @property
    def tag(self) -> str:
        return f"{self.given[:3]}{self.n}".lower()

    @property
    def given(self) -> str:
        return _GIVEN[self.n % len(_GIVEN)]

    @property
    def family(self) -> str:
        return _FAMILY[(self.n * 7) % len(_FAMILY)]

    @property
    def email(self) -> str:
        return f"{self.given.lower()}.{self.family.lower()}@example.com"

    @property
    def phone(self) -> str:
        return f"+4930{(self.n * 3_767_321 + 2_000_000) % 8_000_000 + 2_000_000}"

    @property
    def street(self) -> str:
        return f"{_STREETS[(self.n * 3) % len(_STREETS)]}gasse 5"

    def values(self, copy: Person | None = None) -> tuple[str, ...]:
        """The values of a record the person makes (with ``copy``'s name, phone and street: an impostor), in
        lower case, as they may be written anywhere: given and family name, email local part, phone digits,
        street name."""
        who = copy or self
        values = (who.given, who.family, self.email.split("@")[0], who.phone[1:], who.street.split()[0])
        return tuple(v.lower() for v in values)

    def address(self, given: Person | None = None) -> Address:
        who = given or self
        return Address(
            first_name=who.given,
            last_name=who.family,
            street_address_1=who.street,
            city="Berlin",
            postal_code="10115",
            country_code="DE",
        )


def _room(machine: TrustMachine) -> bool:
    """Whether another person with values unlike everyone else's can join."""
    return len(machine.people) < len(_GIVEN) - 2


@attrs.define
class Record:
    """What the model knows of one customer record."""

    owner: int
    holds: set[str]  # the personal values (as needles, lower case) the record was given
    proven: set[str] = attrs.Factory(set)
    people: set[int] = attrs.Factory(set)  # whose records were merged into it (its owner's own only, mostly)

    def __attrs_post_init__(self) -> None:
        self.people.add(self.owner)

    def absorb(self, other: Record) -> None:
        self.holds |= other.holds
        self.people |= other.people


class TrustMachine(RuleBasedStateMachine):
    """See the module docstring. Subclasses set ``make_store`` and ``dump`` (the store's files or tables as
    bytes, after its purge; None where there are no files)."""

    make_store: Callable[[Path], Store]
    dump: Callable[[Store], bytes] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="custdata-trust-"))
        self.store = self.make_store(self.folder)
        self.now = T0
        self.people: list[Person] = []
        self.records: dict[str, Record] = {}
        self.orders: dict[str, tuple[str, Any]] = {}  # order id -> ("person", n) or ("email", canonical)
        self.merges: list[str] = []
        self.suppressed: set[str] = set()  # the canonical addresses of live records that an erasure erased
        self.notifier = RecordingNotifier()
        self.checked = 0  # messages sent and checked so far
        self.tokens = VerificationTokens(b"a test secret of thirty-two bytes")
        self.flows = Workflows(shop=Shop(name="Shop", url="https://shop.example", secret=b"s" * 32))
        self.serial = 0
        self.conversations: list[tuple[str, str]] = []  # (the customer id written under, the conversation id)

    def teardown(self) -> None:
        try:
            if self.dump is not None and any(p.erased for p in self.people):
                self.store.purge_residue()
                self._scan_dump()
        finally:
            self.store.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers --------------------------------------------------------------------------------------------

    def _next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}_{self.serial:04d}"

    def _person(self) -> Person:
        person = Person(len(self.people) + 1)
        self.people.append(person)
        return person

    def _customers(self, ids: Iterable[str]) -> dict[str, Customer]:
        with self.store.unit_of_work() as uow:
            return {str(k): v for k, v in uow.customers.get_many(list(ids)).items()}

    def _live(self) -> dict[str, Customer]:
        """Records that are neither merged nor erased, by id."""
        return {
            k: c for k, c in self._customers(self.records).items() if c.merged_into is None and c.redacted_at is None
        }

    def _pick(self, items: list[Any], index: int) -> Any:
        return items[index % len(items)]

    def _add(self, customer: Customer, owner: Person, copy: Person | None = None) -> None:
        with self.store.unit_of_work() as uow:
            uow.customers.add(customer)
            uow.commit()
        self.records[str(customer.id)] = Record(owner.n, set(owner.values(copy)))

    def _tick(self) -> None:
        """A second passes: records made one after another never share a creation time (ties would be broken
        by ids, some of which are random, so a run would not replay the same)."""
        self.now += timedelta(seconds=1)

    def _customer(self, person: Person, *, guest: bool, verified: bool, copy: Person | None = None) -> Customer:
        self._tick()
        source = copy or person
        return Customer(
            id=custdata.CustomerId(self._next("cus")),
            created_at=self.now,
            given_name=source.given,
            family_name=source.family,
            email=EmailAddress.parse(person.email),
            phone=PhoneNumber.parse(source.phone),
            addresses=(person.address(source),),
            default_shipping_address=0,
            is_guest=guest,
            email_verified_at=self.now if verified else None,
        )

    # -- people and records ---------------------------------------------------------------------------------

    @initialize(marketing=st.booleans())
    def open_the_shop(self, marketing: bool) -> None:
        """Two registered customers (one also checked out as a guest), a guest, an impostor of the first, and
        an order each, so that every run starts with something to merge, send and erase."""
        self.register(verified=True, marketing=marketing)
        self.register(verified=False, marketing=not marketing)
        self.guest()
        self.guest_again(0)
        self.impostor(0)
        for pick in range(len(self.records)):
            self.place_order(pick)

    @precondition(_room)
    @rule(verified=st.booleans(), marketing=st.booleans())
    def register(self, verified: bool, marketing: bool) -> None:
        person = self._person()
        customer = self._customer(person, guest=False, verified=verified)
        if marketing:
            source = f"checkout by {person.given} {person.email}"
            consent.grant(customer, ConsentPurpose.MARKETING, Channel.EMAIL, at=self.now, source=source)
        self._add(customer, person)

    @precondition(_room)
    @rule()
    def guest(self) -> None:
        person = self._person()
        self._add(self._customer(person, guest=True, verified=False), person)

    @precondition(lambda self: any(not p.erased for p in self.people))
    @rule(pick=st.integers(0, 1000))
    def guest_again(self, pick: int) -> None:
        """A person checks out as a guest once more, with the same details."""
        person = self._pick([p for p in self.people if not p.erased], pick)
        self._add(self._customer(person, guest=True, verified=False), person)

    @precondition(lambda self: _room(self) and any(not p.erased for p in self.people))
    @rule(pick=st.integers(0, 1000))
    def impostor(self, pick: int) -> None:
        """Someone checks out as a guest with another person's name, phone and street and an email of their own."""
        victim = self._pick([p for p in self.people if not p.erased], pick)
        person = self._person()
        self._add(self._customer(person, guest=True, verified=False, copy=victim), person, copy=victim)

    # -- imports --------------------------------------------------------------------------------------------

    @precondition(_room)
    @rule(future=st.booleans(), with_id=st.booleans())
    def import_customer(self, future: bool, with_id: bool) -> None:
        """A customer row from a shop's export, without an id column unless ``with_id``; marketing accepted,
        created at the row's date (far in the future when ``future``)."""
        person = self._person()
        self._tick()
        fields = self._export_row(person, "2199-01-01T00:00:00Z" if future else self.now.isoformat())
        if with_id:
            fields = {"id": f"src{person.n}", **fields}
        before = set(self.records)
        report = import_customers(self.store, read_rows(self._csv("customers.csv", [fields]), "csv"))
        if future:  # a date in the future would outrank every later consent decision: refused
            assert (report.rejected, report.imported) == (1, 0), report
            return
        assert report.rejected == 0, report
        with self.store.unit_of_work() as uow:
            found = [c for c in uow.customers.find_by_email(person.email) if str(c.id) not in before]
        assert len(found) == 1, f"the imported row of {person.tag} was stored {len(found)} times"
        self.records[str(found[0].id)] = Record(person.n, set(person.values()))

    def _export_row(self, person: Person, created_at: str) -> dict[str, str]:
        """The person's row in a shop's customer export: contact points, address, marketing accepted."""
        return {
            "email": person.email,
            "given_name": person.given,
            "family_name": person.family,
            "phone": person.phone,
            "street_address_1": person.street,
            "city": "Berlin",
            "postal_code": "10115",
            "country_code": "DE",
            "accepts_marketing": "yes",
            "created_at": created_at,
        }

    def _erased_addresses(self) -> list[Person]:
        return [p for p in self.people if EmailAddress.parse(p.email).canonical in self.suppressed]

    @precondition(lambda self: self.suppressed)
    @rule(pick=st.integers(0, 1000))
    def import_erased_again(self, pick: int) -> None:
        """The shop's export read again after an erasure, with the suppression key the erasures were given: the
        row of a person whose address an erased record held adds no record."""
        person = self._pick(self._erased_addresses(), pick)
        self._tick()
        rows = read_rows(self._csv("customers.csv", [self._export_row(person, self.now.isoformat())]), "csv")
        with self.store.unit_of_work() as uow:
            before = {str(c.id) for c in uow.customers.find_by_email(person.email)}
        report = import_customers(self.store, rows, options=ImportOptions(suppression_key=SUPPRESSION_KEY))
        with self.store.unit_of_work() as uow:
            after = {str(c.id) for c in uow.customers.find_by_email(person.email)}
        assert report.imported == 0 and after == before, f"the erased person {person.tag} was imported back"
        assert report.suppressed + report.skipped == 1, report

    @precondition(lambda self: any(not p.erased for p in self.people))
    @rule(pick=st.integers(0, 1000))
    def import_guest_order(self, pick: int) -> None:
        """An order row of a guest checkout that names only an email address (anyone can type any address)."""
        person = self._pick([p for p in self.people if not p.erased], pick)
        self._tick()
        order_ref = self._next("src_order")
        row = {
            "order_id": order_ref,
            "customer_email": person.email,
            "currency": "EUR",
            "placed_at": self.now.isoformat(),
            "sku": "MUG-1",
            "product_name": "Mug",
            "quantity": "1",
            "unit_price": "12.00",
        }
        before = set(self.records)
        report = import_orders(self.store, read_rows(self._csv("orders.csv", [row]), "csv"))
        assert report.rejected == 0, report
        with self.store.unit_of_work() as uow:
            stored = [o for o in walk(lambda c: uow.orders.page(limit=1000, cursor=c)) if str(o.id) not in self.orders]
        assert len(stored) == 1
        order = stored[0]
        self.orders[str(order.id)] = ("email", EmailAddress.parse(person.email).canonical)
        if str(order.customer_id) not in before:
            self.records[str(order.customer_id)] = Record(person.n, {person.values()[2]})

    def _csv(self, name: str, rows: list[dict[str, str]]) -> Path:
        path = self.folder / name
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
        return path

    # -- orders, workflows and dispatch ---------------------------------------------------------------------

    @precondition(lambda self: bool(self.records))
    @rule(pick=st.integers(0, 1000))
    def place_order(self, pick: int) -> None:
        live = self._live()
        if not live:
            return
        cid = self._pick([c for c in self.records if c in live], pick)
        customer = live[cid]
        assert customer.email is not None
        order = Order(
            id=custdata.OrderId(self._next("ord")),
            customer_id=customer.id,
            currency="EUR",
            placed_at=self.now,
            lines=(OrderLine("l1", "SHOE-42", "Trail shoe", 1, Money("89.90", "EUR")),),
            shipping_address=customer.addresses[0] if customer.addresses else None,
        )
        self.flows.place(self.store, order, now=self.now)
        owner = self.records[cid].owner
        self.orders[str(order.id)] = ("email", customer.email.canonical) if customer.is_guest else ("person", owner)

    @precondition(lambda self: bool(self.orders))
    @rule(pick=st.integers(0, 1000), step=st.sampled_from(["pay", "pack", "ship", "deliver"]))
    def advance_order(self, pick: int, step: str) -> None:
        order_id = self._pick(sorted(self.orders), pick)
        with self.store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
        tag = order_id.rsplit("_", 1)[-1]
        changes: dict[str, Any] = {
            "pay": Pay(self.now),
            "pack": Pack(self.now),
            "ship": Ship(Shipment(f"shp_{tag}", "DHL", tracking_number=f"TRK{tag.upper()}"), self.now),
            "deliver": Deliver(self.now),
        }
        try:
            self.flows.change(self.store, str(order.id), changes[step], now=self.now)
        except custdata.ValidationError:
            pass  # a change the order's status does not allow

    @rule()
    def dispatch(self) -> None:
        Dispatcher(self.store, self.notifier, clock=lambda: self.now).drain(max_rounds=10)

    @rule(limit=st.integers(1, 5))
    def dispatcher_crashes(self, limit: int) -> None:
        """A dispatcher leases a batch and dies before sending or recording anything."""
        with self.store.unit_of_work() as uow:
            assert has_outbox(uow)
            uow.outbox.lease("crashed-worker", now=self.now, limit=limit, duration=timedelta(minutes=5))
            uow.commit()

    @rule(hours=st.integers(1, 24 * 40))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.flows.run_due(self.store, now=self.now)

    # -- merges, duplicates and verification ----------------------------------------------------------------

    @precondition(lambda self: len(self.records) >= 2)
    @rule(pick=st.integers(0, 1000))
    def merge_by_hand(self, pick: int) -> None:
        """A person on the shop's staff merges two records of the same person (a decision by a person)."""
        live = self._live()
        by_owner: dict[int, list[str]] = {}
        for cid in [c for c in self.records if c in live]:
            by_owner.setdefault(self.records[cid].owner, []).append(cid)
        groups = [ids for ids in by_owner.values() if len(ids) >= 2]  # a careful person merges nothing mixed
        groups = [[i for i in ids if self.records[i].people == {self.records[i].owner}] for ids in groups]
        groups = [ids for ids in groups if len(ids) >= 2]
        if not groups:
            return
        ids = self._pick(groups, pick)
        registered = [i for i in ids if not live[i].is_guest]
        survivor = registered[0] if registered else ids[0]
        others = [i for i in ids if i != survivor][:2]
        with self.store.unit_of_work() as uow:
            plan = merging.preview(uow, survivor, others)
            record = merging.merge(uow, plan, at=self.now)
            uow.commit()
        self.merges.append(str(record.id))
        for other in others:
            self.records[survivor].absorb(self.records[other])
            email = live[other].email
            self.records[survivor].proven |= {str(email.canonical)} if email else set()
            self.records[survivor].proven |= self.records[other].proven

    @precondition(lambda self: len(self.records) >= 2)
    @rule(first=st.integers(0, 1000), second=st.integers(0, 1000))
    def merge_by_mistake(self, first: int, second: int) -> None:
        """A person on the staff merges two different people, notices, and undoes it at once."""
        live = [c for c in self.records if c in self._live()]
        if len(live) < 2:
            return
        survivor = self._pick(live, first)
        other = self._pick([c for c in live if c != survivor], second)
        with self.store.unit_of_work() as uow:
            record = merging.merge(uow, merging.preview(uow, survivor, [other]), at=self.now)
            uow.commit()
        with self.store.unit_of_work() as uow:
            merging.undo(uow, record, at=self.now)
            uow.commit()

    @precondition(lambda self: bool(self.merges))
    @rule(pick=st.integers(0, 1000))
    def undo_merge(self, pick: int) -> None:
        merge_id = self._pick(self.merges, pick)
        try:
            with self.store.unit_of_work() as uow:
                merging.undo(uow, merge_id, at=self.now)
                uow.commit()
        except (custdata.ConflictError, custdata.NotFoundError):
            return

    @precondition(lambda self: len(self.records) >= 2)
    @rule()
    def dedupe_merge(self) -> None:
        """`custdata dedupe --merge`: sure duplicates are merged without a person looking."""
        from custdata.cli.dedupe import _groups, _merge
        from custdata.matching import Decision, Matcher
        from custdata.matching.records import CustomerRecord

        live = self._live()
        result = Matcher().find_duplicates(CustomerRecord.from_customer(c) for c in live.values())
        pairs = [(p.left, p.right) for p in result.with_decision(Decision.AUTO_MERGE)]
        groups = _groups(pairs)
        _merge(self.store, groups)
        after = self._customers(live)
        for cid, customer in after.items():
            if customer.merged_into is not None and live[cid].merged_into is None:
                self.records[str(customer.merged_into)].absorb(self.records[cid])

    @precondition(lambda self: bool(self.records))
    @rule(pick=st.integers(0, 1000))
    def verify_email(self, pick: int) -> None:
        """The owner of a record's primary email address gets a token and brings it back."""
        live = self._live()
        candidates = [c for c in self.records if c in live and live[c].email is not None]
        if not candidates:
            return
        cid = self._pick(candidates, pick)
        customer = live[cid]
        assert customer.email is not None
        address = customer.email.canonical
        recipient = next(p for p in self.people if EmailAddress.parse(p.email).canonical == address)
        if recipient.erased:
            return
        try:
            with self.store.unit_of_work() as uow:
                token = start_verification(uow, self.tokens, cid, now=self.now)
                registration = complete_verification(uow, self.tokens, cid, token, now=self.now)
                uow.commit()
        except custdata.ValidationError:
            return  # refused: an address that came with a merge, or a guest holding other people's records
        record = self.records[cid]
        record.owner = recipient.n
        record.proven.add(address)
        for absorbed in registration.absorbed_guests:
            record.absorb(self.records[str(absorbed)])

    # -- support -------------------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.records))
    @rule(pick=st.integers(0, 1000), about_order=st.booleans())
    def write_to_support(self, pick: int, about_order: bool) -> None:
        """The owner of a record writes to the shop with their name, street and phone in the text; a question
        about an order is answered from its tracking when the desk is sure."""
        live = self._live()
        candidates = [c for c in self.records if c in live]
        if not candidates:
            return
        cid = self._pick(candidates, pick)
        person = self.people[self.records[cid].owner - 1]
        question = "Where is my order?" if about_order else "Is the tent waterproof?"
        self._tick()
        with self.store.unit_of_work() as uow:
            assert has_outbox(uow)
            got = SupportDesk().receive(
                uow,
                customer_id=cid,
                channel=Channel.EMAIL,
                text=f"{person.given} {person.family} here, {person.street}, {person.phone}. {question}",
                received_at=self.now,
                message_key=self._next("mail"),
            )
            uow.commit()
        self.records[cid].holds |= set(person.values())
        self.conversations.append((cid, got.conversation.id))

    @precondition(lambda self: bool(self.conversations))
    @rule(pick=st.integers(0, 1000), solve=st.booleans())
    def support_replies(self, pick: int, solve: bool) -> None:
        """A person answers a conversation; the reply names no order but the customer's own."""
        cid, conversation = self._pick(self.conversations, pick)
        with self.store.unit_of_work() as uow:
            assert has_outbox(uow)
            try:
                reply_id = SupportDesk().reply(
                    uow, customer_id=cid, conversation_id=conversation, text="We are on it.", now=self.now, solve=solve
                )
            except (SupportError, custdata.NotFoundError):
                return  # erased, deleted, or the conversation went back with an undone merge
            if reply_id is not None:
                message = uow.outbox.get(str(reply_id)).message
                assert message is not None
                if message.order_id is not None:
                    holder = merging.resolve(uow, cid).id
                    assert uow.orders.get(str(message.order_id)).customer_id == holder, (
                        f"a reply to {cid} names order {message.order_id} of another customer"
                    )
            uow.commit()

    # -- consent --------------------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.records))
    @rule(pick=st.integers(0, 1000), grant=st.booleans())
    def change_consent(self, pick: int, grant: bool) -> None:
        live = self._live()
        if not live:
            return
        cid = self._pick([c for c in self.records if c in live], pick)
        with self.store.unit_of_work() as uow:
            customer = uow.customers.get(cid)
            if grant:
                consent.grant(customer, ConsentPurpose.MARKETING, Channel.EMAIL, at=self.now, source="form")
            else:
                consent.withdraw(customer, ConsentPurpose.MARKETING, Channel.EMAIL, at=self.now, source="link")
            uow.customers.update(customer)
            uow.commit()
        with self.store.unit_of_work() as uow:
            stored = uow.customers.get(cid)
        assert consent.allows(stored, ConsentPurpose.MARKETING, Channel.EMAIL) == grant

    # -- retention and erasure ------------------------------------------------------------------------------

    @rule()
    def retention_sweep(self) -> None:
        policy = RetentionPolicy(guests_without_orders=timedelta(days=30), communications=timedelta(days=60))
        sweep(self.store, policy, clock=lambda: self.now)
        present = self._customers(self.records)
        for cid in [c for c in self.records if c not in present]:
            del self.records[cid]
        self._settle_erased()

    @precondition(lambda self: any(not p.erased for p in self.people))
    @rule(pick=st.integers(0, 1000))
    def erase(self, pick: int) -> None:
        person = self._pick([p for p in self.people if not p.erased], pick)
        ids = [c for c, r in self.records.items() if r.owner == person.n]
        for customer in self._customers(ids).values():
            if customer.merged_into is None and customer.redacted_at is None:
                self.suppressed.update(e.canonical for e in customer.emails)
        for cid in ids:
            erase_customer(self.store, cid, clock=lambda: self.now, suppression_key=SUPPRESSION_KEY)
        self._settle_erased()
        if self.dump is not None:
            self._scan_dump()

    def _settle_erased(self) -> None:
        """Mark erased everyone none of whose records keeps data (all erased, merged into erased, or deleted)."""
        stored = self._customers(self.records)
        keeps: set[int] = set()
        for cid, record in self.records.items():
            customer = stored.get(cid)
            if customer is None or customer.redacted_at is not None:
                continue
            if customer.merged_into is not None:
                try:
                    with self.store.unit_of_work() as uow:
                        if merging.resolve(uow, cid).redacted_at is not None:
                            continue
                except custdata.NotFoundError:
                    continue
            keeps.add(record.owner)
        for person in self.people:
            if not person.erased and person.n not in keeps:
                person.erased = True

    # -- the promises ---------------------------------------------------------------------------------------

    @invariant()
    def registered_accounts_hold_only_their_own(self) -> None:
        if not hasattr(self, "store"):
            return
        live = self._live()
        with self.store.unit_of_work() as uow:
            for cid, customer in live.items():
                if customer.is_guest:
                    continue
                record = self.records[cid]
                owner = self.people[record.owner - 1]
                if customer.email is not None:
                    own = {EmailAddress.parse(owner.email).canonical} | record.proven
                    assert customer.email.canonical in own, (
                        f"account {cid} of person {owner.tag} has another person's unproven primary email"
                    )
                if customer.phone is not None:
                    assert customer.phone.e164[1:] in record.holds, f"account {cid} has a phone it was never given"
                for order in walk(lambda c: uow.orders.for_customer(cid, cursor=c)):  # noqa: B023 (walked at once)
                    claim = self.orders.get(str(order.id))
                    assert claim is not None
                    assert claim == ("person", record.owner) or (claim[0] == "email" and claim[1] in record.proven), (
                        f"order {order.id} ({claim}) is attached to account {cid} of person {owner.tag} without proof"
                    )

    @invariant()
    def erased_people_are_gone(self) -> None:
        if not hasattr(self, "store"):
            return
        erased = [p for p in self.people if p.erased]
        if not erased:
            self.checked = len(self.notifier.messages)
            return
        needles = self._needles(erased)
        live = self._live()
        for cid in live:
            exported = export_customer_json(self.store, cid, clock=lambda: self.now)
            assert not _found(exported, needles), f"the export of {cid} holds {_found(exported, needles)}"
            view = customer_360(self.store, cid, now=self.now)
            text = json.dumps(view.to_records(), default=str)
            assert not _found(text, needles), f"the timeline of {cid} holds {_found(text, needles)}"
        with self.store.unit_of_work() as uow:
            assert has_outbox(uow)
            for state in OutboxState:
                for entry in walk(lambda c: uow.outbox.with_state(state, cursor=c)):  # noqa: B023 (walked at once)
                    if entry.message is not None:
                        text = _text(entry.message)
                        assert not _found(text, needles), f"outbox entry {entry.id} ({state}) holds an erased value"
        for message in self.notifier.messages[self.checked :]:
            assert not _found(_text(message), needles), "a message with an erased person's data was sent"
        self.checked = len(self.notifier.messages)

    def _needles(self, erased: list[Person]) -> tuple[str, ...]:
        """The erased people's values, less those that a live record (an impostor's, say) was given too."""
        live = self._live()
        kept = {v for cid, record in self.records.items() if cid in live for v in record.holds}
        return tuple(v for p in erased for v in p.values() if v not in kept)

    def _scan_dump(self) -> None:
        assert self.dump is not None
        needles = self._needles([p for p in self.people if p.erased])
        data = self.dump(self.store).lower()
        left = {n for n in needles if n.lower().encode() in data}
        assert not left, f"the store's files still hold {sorted(left)}"


def _found(text: str, needles: tuple[str, ...]) -> set[str]:
    low = text.lower()
    return {n for n in needles if n.lower() in low}


def _text(message: Any) -> str:
    """Everything a rendered message holds, as text."""
    return json.dumps(attrs.asdict(message), default=str)
