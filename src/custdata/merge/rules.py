"""Per-field merge rules and the pure function that combines customers into one survivor.

Every field of :class:`custdata.Customer` is either chosen (one customer's value wins, by a :class:`Rule`) or
combined (contact points, addresses, tags, groups, consents and metadata of every customer are kept). The
result carries a :class:`FieldProvenance` per field saying which customers the value came from.

When any of the customers is registered, the result is a registered account and keeps that account's identity:
its primary email and phone stay a registered customer's own primary, or an address or number verified on its
own record (``email_verified_at``/``phone_verified_at``). A guest's unverified contact points are kept among
``other_emails``/``other_phones``, never made the primary, whatever the rule; only an explicit override (a
person's decision) can do that.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import Problem, ValidationError
from custdata.domain import Address, ConsentRecord, Customer, CustomerId, EmailAddress, PhoneNumber
from custdata.domain.customer import ENDING_STATES as ENDING


class Rule(enum.StrEnum):
    """How the value of one field is picked among the customers being merged.

    - ``SURVIVOR``: the survivor's value, even when it is empty;
    - ``MOST_RECENT``: the non-empty value of the most recently updated customer;
    - ``MOST_COMPLETE``: the fullest non-empty value (longest text, most filled-in structure);
    - ``PREFER_VERIFIED`` (``email``, ``phone``): a verified contact point, the most recently verified first,
      else the most recent one;
    - ``KEEP_ALL``: every customer's values, without repeats (contact points, addresses, tags, ...).
    """

    SURVIVOR = "survivor"
    MOST_RECENT = "most_recent"
    MOST_COMPLETE = "most_complete"
    PREFER_VERIFIED = "prefer_verified"
    KEEP_ALL = "keep_all"


#: Fields whose value is chosen, with the rules they accept; the first rule is the default.
CHOSEN_FIELDS: Mapping[str, tuple[Rule, ...]] = {
    "given_name": (Rule.MOST_COMPLETE, Rule.MOST_RECENT, Rule.SURVIVOR),
    "family_name": (Rule.MOST_COMPLETE, Rule.MOST_RECENT, Rule.SURVIVOR),
    "display_name": (Rule.MOST_RECENT, Rule.MOST_COMPLETE, Rule.SURVIVOR),
    "email": (Rule.PREFER_VERIFIED, Rule.MOST_RECENT, Rule.SURVIVOR),
    "phone": (Rule.PREFER_VERIFIED, Rule.MOST_RECENT, Rule.SURVIVOR),
    "company": (Rule.MOST_RECENT, Rule.SURVIVOR),
    "locale": (Rule.MOST_RECENT, Rule.SURVIVOR),
    "timezone": (Rule.MOST_RECENT, Rule.SURVIVOR),
    "birthday": (Rule.MOST_RECENT, Rule.SURVIVOR),
    "preferences": (Rule.MOST_RECENT, Rule.SURVIVOR),
    "metadata": (Rule.KEEP_ALL, Rule.MOST_RECENT, Rule.SURVIVOR),
    "private_metadata": (Rule.KEEP_ALL, Rule.MOST_RECENT, Rule.SURVIVOR),
}

#: The provenance rule of a primary email or phone that the field's rule would have taken from a guest's
#: unverified contact point, kept instead from the registered account (see :func:`combine`).
REGISTERED_ACCOUNT = "registered_account"

#: The key of ``Customer.private_metadata`` that keeps a person's "not the same person" decisions: a sorted list
#: of the other customers' ids, ids only. A merge keeps the marks of every customer it combines, whatever the rule
#: for ``private_metadata`` (see :func:`combine`); matching reads them through merge chains
#: (:mod:`custdata.matching.review`).
NOT_SAME_KEY = "custdata.not_same"

#: Fields that take explicit values in :attr:`MergeRules.overrides`.
OVERRIDABLE = frozenset(
    ("given_name", "family_name", "display_name", "locale", "timezone", "birthday", "email", "phone")
)


@attrs.frozen(kw_only=True)
class MergeRules:
    """The rule per chosen field (defaults in :data:`CHOSEN_FIELDS`) and explicit values that win over any rule.

    An overriding ``email`` or ``phone`` must be one of the merged customers' own contact points: a merge
    never invents contact data. An override is a person's decision, so it may make a guest's contact point
    the primary of a registered account, which the rules alone never do. Other contact points, addresses,
    tags, groups and consents are always kept.

    >>> MergeRules(fields={"given_name": "survivor"}).rule("given_name")
    <Rule.SURVIVOR: 'survivor'>
    """

    fields: Mapping[str, Rule] = attrs.field(factory=dict)
    overrides: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        for name, value in (("fields", self.fields), ("overrides", self.overrides)):
            if not isinstance(value, Mapping):
                problems.append(Problem(name, f"must be a mapping of field names, not {type(value).__name__}"))
        if problems:
            raise ValidationError(problems)
        fields: dict[str, Rule] = {}
        for name, rule in self.fields.items():
            allowed = CHOSEN_FIELDS.get(name)
            if allowed is None:
                problems.append(Problem(f"fields.{name}", "is not a field with a merge rule"))
            elif rule not in allowed:
                problems.append(Problem(f"fields.{name}", f"must be one of {', '.join(allowed)}"))
            else:
                fields[name] = Rule(rule)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "overrides", dict(self.overrides))
        for name in self.overrides:
            if name not in OVERRIDABLE:
                problems.append(Problem(f"overrides.{name}", "cannot be set explicitly in a merge"))
        if problems:
            raise ValidationError(problems)

    def rule(self, name: str) -> Rule:
        """The rule that picks ``name``."""
        return self.fields.get(name, CHOSEN_FIELDS[name][0])


@attrs.frozen
class FieldProvenance:
    """Where the merged value of one field came from.

    ``rule`` is the :class:`Rule` value, ``"override"``, or a fixed policy (``"earliest"``, ``"any_registered"``,
    ``"merge_time"``, or ``"registered_account"`` for a primary email or phone kept from the registered account
    because the rule would have taken a guest's unverified one). ``sources`` are customer ids: the one whose
    value won for a chosen field (empty when nobody had a value or it was overridden); one per item, in order,
    for ``other_emails``, ``other_phones``, ``addresses`` and ``consents``; the contributing customers for sets
    and metadata.
    """

    field: str
    rule: str
    sources: tuple[CustomerId, ...] = ()


def _filled(value: object) -> bool:
    return value is not None and value != "" and value != {} and value != ()


def _completeness(value: object) -> int:
    if isinstance(value, str):
        return len(value.strip())
    if attrs.has(type(value)):
        return sum(_filled(getattr(value, a.name)) for a in attrs.fields(type(value)))  # type: ignore[arg-type]
    return 1


class Combiner:
    """Builds the survivor's fields from ``customers`` (the survivor first) under ``rules``."""

    def __init__(self, customers: Sequence[Customer], rules: MergeRules) -> None:
        self.customers = customers
        self.rules = rules
        # Most recent first; ties keep the given order, so the survivor wins them.
        self.recent = sorted(customers, key=lambda c: c.updated_at, reverse=True)
        self.values: dict[str, Any] = {}
        self.provenance: dict[str, FieldProvenance] = {}

    def chosen(self, name: str) -> None:
        """Pick a plain field by its rule or override."""
        if name in self.rules.overrides:
            self._set(name, self.rules.overrides[name], "override", ())
            return
        rule = self.rules.rule(name)
        survivor = self.customers[0]
        if rule is Rule.SURVIVOR:
            value = getattr(survivor, name)
            self._set(name, value, rule, (survivor.id,) if _filled(value) else ())
            return
        candidates = [c for c in self.recent if _filled(getattr(c, name))]
        if rule is Rule.MOST_COMPLETE:
            candidates.sort(key=lambda c: _completeness(getattr(c, name)), reverse=True)
        winner = candidates[0] if candidates else None
        value = getattr(winner, name) if winner else getattr(survivor, name)
        self._set(name, value, rule, (winner.id,) if winner else ())

    def contact(self, name: str, others: str, key: Callable[[Any], str]) -> None:
        """Choose the primary ``email``/``phone``; every other one (deduplicated by ``key``) goes to ``others``."""
        verified_name = f"{name}_verified_at"
        owners: dict[str, tuple[Any, CustomerId]] = {}
        verified: dict[str, datetime] = {}
        for customer in self.customers:
            primary = getattr(customer, name)
            stamp = getattr(customer, verified_name)
            if primary is not None and stamp is not None:
                k = key(primary)
                verified[k] = max(stamp, verified.get(k, stamp))
            for item in (primary, *getattr(customer, others)):
                if item is not None:
                    owners.setdefault(key(item), (item, customer.id))
        chosen, rule, sources = self._primary(name, key, owners, verified)
        self._set(name, owners[chosen][0] if chosen else None, rule, sources)
        self.values[verified_name] = verified.get(chosen) if chosen else None
        self.provenance[verified_name] = FieldProvenance(verified_name, f"follows {name}", sources)
        rest = [(k, v) for k, v in owners.items() if k != chosen]
        self._set(others, tuple(item for _, (item, _) in rest), Rule.KEEP_ALL, tuple(src for _, (_, src) in rest))

    def _primary(
        self,
        name: str,
        key: Callable[[Any], str],
        owners: Mapping[str, tuple[Any, CustomerId]],
        verified: Mapping[str, datetime],
    ) -> tuple[str | None, str, tuple[CustomerId, ...]]:
        if name in self.rules.overrides:
            wanted = self.rules.overrides[name]
            if wanted is None:
                raise ValidationError.single(f"overrides.{name}", "cannot be None: the merge keeps every contact point")
            try:
                k = key(EmailAddress(wanted) if name == "email" else PhoneNumber.parse(wanted))
            except (ValidationError, TypeError, AttributeError):
                raise ValidationError.single(f"overrides.{name}", f"is not a valid {name}") from None
            if k not in owners:
                raise ValidationError.single(f"overrides.{name}", f"must be one of the merged customers' {name}s")
            return k, "override", (owners[k][1],)
        rule = self.rules.rule(name)
        if rule is Rule.PREFER_VERIFIED and verified:
            k = max(verified, key=lambda v: verified[v])
            return k, rule, (owners[k][1],)
        pool = [self.customers[0]] if rule is Rule.SURVIVOR else self.recent
        picked = next(((key(p), c.id) for c in pool if (p := getattr(c, name)) is not None), None)
        registered = [c for c in self.recent if not c.is_guest]
        if registered:
            # The result is a registered account: its primary stays one of the accounts' own primaries or an
            # address verified on its own record, never another record's unproven contact point.
            own = {key(p) for c in registered if (p := getattr(c, name)) is not None}
            if picked is not None and (picked[0] in own or picked[0] in verified):
                return picked[0], rule, (picked[1],)
            for customer in registered:
                primary = getattr(customer, name)
                if primary is not None:
                    return key(primary), REGISTERED_ACCOUNT, (customer.id,)
            return None, REGISTERED_ACCOUNT, ()
        if picked is not None:
            return picked[0], rule, (picked[1],)
        return None, rule, ()

    def address_book(self) -> None:
        """Keep every distinct address; the default shipping and billing address come from the survivor when
        it has them, else from the most recently updated customer that has one."""
        book: list[Address] = []
        sources: list[CustomerId] = []
        for customer in self.customers:
            for address in customer.addresses:
                if address not in book:
                    book.append(address)
                    sources.append(customer.id)
        self._set("addresses", tuple(book), Rule.KEEP_ALL, tuple(sources))
        for name, prop in (
            ("default_shipping_address", "shipping_address"),
            ("default_billing_address", "billing_address"),
        ):
            owner = next((c for c in (self.customers[0], *self.recent) if getattr(c, prop) is not None), None)
            index = book.index(getattr(owner, prop)) if owner is not None else None
            self._set(
                name,
                index,
                Rule.SURVIVOR if owner is self.customers[0] else Rule.MOST_RECENT,
                (owner.id,) if owner else (),
            )

    def union(self) -> None:
        """Tags, groups, consent records, metadata, guest state, creation time."""
        for name in ("tags", "groups"):
            value = frozenset().union(*(getattr(c, name) for c in self.customers))
            self._set(name, value, Rule.KEEP_ALL, tuple(c.id for c in self.customers if getattr(c, name)))
        consents: list[ConsentRecord] = []
        consent_sources: list[CustomerId] = []
        for customer in self.customers:
            for record in customer.consents:
                if record not in consents:
                    consents.append(record)
                    consent_sources.append(customer.id)
        # in time order; of records of the same time from different customers a withdrawal or redaction comes
        # last, so that it stays in force
        order = sorted(range(len(consents)), key=lambda i: (consents[i].recorded_at, consents[i].state in ENDING))
        self._set(
            "consents", tuple(consents[i] for i in order), Rule.KEEP_ALL, tuple(consent_sources[i] for i in order)
        )
        for name in ("metadata", "private_metadata"):
            if name in self.rules.overrides or self.rules.rule(name) is not Rule.KEEP_ALL:
                self.chosen(name)
                continue
            merged: dict[str, Any] = {}
            for customer in reversed(self.recent):  # the most recent customer's keys win
                merged.update(getattr(customer, name))
            self._set(name, merged, Rule.KEEP_ALL, tuple(c.id for c in self.customers if getattr(c, name)))
        self.keep_not_same_marks()
        registered = [c for c in self.customers if not c.is_guest]
        self._set("is_guest", not registered, "any_registered", tuple(c.id for c in registered[:1]))
        first = min(self.customers, key=lambda c: c.created_at)
        self._set("created_at", first.created_at, "earliest", (first.id,))

    def keep_not_same_marks(self) -> None:
        """Every customer's "not the same person" marks go to the survivor, whatever the rule for
        ``private_metadata`` picked: a decision about any of them holds for the merged customer. Marks between
        the customers merged here name the survivor itself and are dropped."""
        own = {str(c.id) for c in self.customers}
        marks = sorted({mark for c in self.customers for mark in not_same_marks(c)} - own)
        metadata = dict(self.values["private_metadata"])
        if marks:
            metadata[NOT_SAME_KEY] = marks
        elif NOT_SAME_KEY in metadata:
            del metadata[NOT_SAME_KEY]
        else:
            return
        self.values["private_metadata"] = metadata

    def _set(self, name: str, value: Any, rule: str, sources: tuple[CustomerId, ...]) -> None:
        self.values[name] = value
        self.provenance[name] = FieldProvenance(name, str(rule), sources)


def not_same_marks(customer: Customer) -> tuple[str, ...]:
    """The ids a person decided ``customer`` is not the same person as (:data:`NOT_SAME_KEY`); a value of any
    other shape under the key counts as no marks."""
    return marks_in(customer.private_metadata)


def marks_in(private_metadata: object) -> tuple[str, ...]:
    """:func:`not_same_marks` read from a customer's ``private_metadata`` (a stored document's, say); anything but
    a mapping counts as no marks."""
    value = private_metadata.get(NOT_SAME_KEY) if isinstance(private_metadata, Mapping) else None
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def combine(
    survivor: Customer, others: Sequence[Customer], rules: MergeRules, at: datetime
) -> tuple[Customer, tuple[FieldProvenance, ...]]:
    """The survivor as it will be after absorbing ``others``, and the provenance of every field.

    A result with any registered customer keeps a registered customer's primary email and phone unless the rule
    picks one verified on its own record or ``rules`` overrides it (see the module)."""
    combiner = Combiner((survivor, *others), rules)
    for name in CHOSEN_FIELDS:
        if name in ("email", "phone", "metadata", "private_metadata"):
            continue
        combiner.chosen(name)
    combiner.contact("email", "other_emails", lambda e: e.canonical)
    combiner.contact("phone", "other_phones", lambda p: p.e164)
    combiner.address_book()
    combiner.union()
    values = combiner.values
    values["updated_at"] = max(at, *(c.updated_at for c in combiner.customers))
    combiner.provenance["updated_at"] = FieldProvenance("updated_at", "merge_time")
    try:
        result = attrs.evolve(survivor, **values)
    except ValidationError as exc:
        raise ValidationError(Problem(f"overrides.{p.path}", p.message) for p in exc.problems) from None
    return result, tuple(combiner.provenance[name] for name in sorted(combiner.provenance))
