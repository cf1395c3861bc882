"""Synthetic customers with known duplicates, to measure duplicate detection (and to demo it).

Customers live in five countries (US, GB, DE, FR, ES) with names drawn by realistic, skewed frequencies,
so that different people share names. Some share an address and a family name (households, often with a
landline). A share of customers appear more than once, each extra record damaged the way real imports are:
typos, nicknames, given and family name swapped, diacritics dropped or transliterated ("Mueller"), a second
Spanish surname left out, phone numbers in another format, street types abbreviated ("Hauptstr.", "St"),
postal codes spaced or extended (ZIP+4), birthdays with transposed digits or day and month swapped, a new
email or phone, a move to another address, and fields left empty.

Nickname variants come from an independent list, the ``nicknames`` package (Carlton Northern's hand-curated
``names.csv`` of English given names, Apache-2.0), never from the matcher's own table
(:mod:`custdata.matching.nicknames`): data graded by the matcher's own knowledge would flatter it. The list is
English, so German, French and Spanish names get a nickname only where it has one (Peter, Thomas...).

Generation is deterministic for a given seed.

>>> data = generate_customers(100, seed=1)
>>> len(data.records), len(data.true_pairs) > 0
(100, True)
>>> data.records == generate_customers(100, seed=1).records
True
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import attrs

from custdata._errors import MissingExtraError, ValidationError
from custdata.matching._synthetic_data import COUNTRIES, Country
from custdata.matching.records import TEXT_FIELDS, CustomerRecord
from custdata.matching.text import fold

if TYPE_CHECKING:
    from nicknames import NickNamer


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    try:
        from nicknames import NickNamer
    except ImportError as exc:
        raise MissingExtraError("nicknames", "matching", "the synthetic customer generator") from exc
    return NickNamer()


@lru_cache(maxsize=4096)
def variants_of(folded: str) -> frozenset[str]:
    """The names a person called ``folded`` may also be recorded under, from the independent ``nicknames``
    list: the name's nicknames and, for a nickname, its formal names (folded, without the name itself).

    >>> "bill" in variants_of("william"), "william" in variants_of("bill")
    (True, True)
    """
    namer = _nicknamer()
    found = namer.nicknames_of(folded) | namer.canonicals_of(folded)
    return frozenset(fold(name) for name in found if name.isalpha() and fold(name) != folded)


@attrs.frozen(repr=False)
class SyntheticData:
    """Generated records, which customer each record belongs to, and the resulting duplicate pairs."""

    records: tuple[CustomerRecord, ...]
    entity_of: Mapping[str, str]
    true_pairs: frozenset[tuple[str, str]]

    def without(self, *fields: str) -> SyntheticData:
        """The same data with ``fields`` emptied in every record, e.g. to measure matching on names and
        addresses only: ``data.without("email", "phone", "birthday")``."""
        unknown = [f for f in fields if f not in TEXT_FIELDS]
        if unknown:
            raise ValidationError.single("fields", f"{', '.join(unknown)} is not a record field")
        blank: dict[str, Any] = {f: None for f in fields}
        if "email" in fields:
            blank["other_emails"] = ()
        if "phone" in fields:
            blank["other_phones"] = ()
        records = tuple(attrs.evolve(r, **blank) for r in self.records)
        return SyntheticData(records, self.entity_of, self.true_pairs)

    def __repr__(self) -> str:
        return f"SyntheticData(records={len(self.records)}, true_pairs={len(self.true_pairs)})"


@attrs.define
class _Person:
    country: Country
    given: str
    family: str
    email: str | None
    phone: str | None  # national significant number
    street: str  # street name without type
    street_type: int  # index into country.street_types
    house: str
    postal: str
    city: str
    birthday: date | None


def generate_customers(
    count: int,
    *,
    seed: int = 0,
    duplicate_share: float = 0.25,
    household_share: float = 0.06,
    countries: Sequence[str] = ("US", "GB", "DE", "FR", "ES"),
) -> SyntheticData:
    """``count`` records; about ``duplicate_share`` of the customers have one to three extra records, and
    about ``household_share`` of them live with another customer. Record ids are ``r000001``... in a
    shuffled order, so duplicates are not next to each other."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValidationError.single("count", "must be a non-negative integer")
    for name, share in (("duplicate_share", duplicate_share), ("household_share", household_share)):
        if not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
            raise ValidationError.single(name, "must be between 0 and 1")
    unknown = [c for c in countries if c not in COUNTRIES]
    if not countries or unknown:
        raise ValidationError.single("countries", f"must be some of {', '.join(COUNTRIES)}")
    return _Generator(random.Random(seed), [COUNTRIES[c] for c in countries]).run(
        count, duplicate_share, household_share
    )


class _Generator:
    def __init__(self, rng: random.Random, countries: list[Country]) -> None:
        self.rng = rng
        self.countries = countries
        self.used_emails: set[str] = set()
        self.weights: dict[int, list[float]] = {}
        self.households: dict[tuple[str, str, str, str], set[str]] = {}

    # -- the population --------------------------------------------------------------------------

    def run(self, count: int, duplicate_share: float, household_share: float) -> SyntheticData:
        rng = self.rng
        rows: list[tuple[int, dict[str, Any]]] = []
        people: list[_Person] = []
        while len(rows) < count:
            if people and rng.random() < household_share:
                person = self.housemate(rng.choice(people[-500:]))
            else:
                person = self.person(rng.choice(self.countries))
            people.append(person)
            entity = len(people)
            rows.append((entity, self.render(person, clean=True)))
            if rng.random() < duplicate_share:
                extra = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
                for _ in range(min(extra, count - len(rows))):
                    rows.append((entity, self.render(self.damage(person), clean=False)))
        rows = rows[:count]
        rng.shuffle(rows)
        records = []
        entity_of: dict[str, str] = {}
        members: dict[int, list[str]] = {}
        for number, (entity, fields) in enumerate(rows, start=1):
            record_id = f"r{number:06d}"
            records.append(CustomerRecord(record_id, **fields))
            entity_of[record_id] = f"c{entity:06d}"
            members.setdefault(entity, []).append(record_id)
        pairs = frozenset(
            (a, b) if a < b else (b, a) for ids in members.values() for i, a in enumerate(ids) for b in ids[i + 1 :]
        )
        return SyntheticData(tuple(records), entity_of, pairs)

    def pick(self, items: Sequence[str], skew: float = 0.9) -> str:
        """Zipf-like choice: the first names of a list are much more common than the last."""
        cum = self.weights.get(len(items))
        if cum is None:
            cum = list(accumulate(1.0 / (rank + 1) ** skew for rank in range(len(items))))
            self.weights[len(items)] = cum
        return self.rng.choices(items, cum_weights=cum)[0]

    def person(self, country: Country) -> _Person:
        rng = self.rng
        family = self.pick(country.family)
        if country.code == "ES":
            family = f"{family} {self.pick(country.family)}"
        given = self.pick(country.given, 0.7)
        street, street_type, house, postal, city = self.address(country)
        return _Person(
            country=country,
            given=given,
            family=family,
            email=self.email(given, family, country) if rng.random() < 0.9 else None,
            phone=self.phone(country) if rng.random() < 0.85 else None,
            street=street,
            street_type=street_type,
            house=house,
            postal=postal,
            city=city,
            birthday=date(1940, 1, 1) + timedelta(days=rng.randrange(65 * 365)) if rng.random() < 0.6 else None,
        )

    def housemate(self, other: _Person) -> _Person:
        rng = self.rng
        mate = self.person(other.country)
        family = other.family if rng.random() < 0.8 else mate.family
        home = (other.country.code, other.postal, other.street, other.house)
        taken = self.households.setdefault(home, {fold(other.given)})
        while any(fold(mate.given) == name or name in variants_of(fold(mate.given)) for name in taken):
            mate.given = self.pick(other.country.given, 0.7)
        taken.add(fold(mate.given))
        mate.family = family
        mate.email = self.email(mate.given, family, other.country) if mate.email else None
        mate.phone = other.phone if other.phone and rng.random() < 0.5 else mate.phone
        mate.street, mate.street_type, mate.house = other.street, other.street_type, other.house
        mate.postal, mate.city = other.postal, other.city
        return mate

    def address(self, country: Country) -> tuple[str, int, str, str, str]:
        rng = self.rng
        street = rng.choice(country.streets)
        street_type = 0 if rng.random() < 0.55 else rng.randrange(len(country.street_types))
        house = str(rng.randint(1, 250)) + (rng.choice("abc") if rng.random() < 0.05 else "")
        city, prefixes = rng.choice(country.cities)
        prefix = rng.choice(prefixes)
        if country.code == "GB":
            postal = (
                f"{prefix} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            )
        else:
            postal = prefix + "".join(rng.choice(string.digits) for _ in range(5 - len(prefix)))
        return street, street_type, house, postal, city

    def email(self, given: str, family: str, country: Country) -> str:
        rng = self.rng
        g = "".join(c for c in _strip_accents(given).lower() if c.isalnum()) or "x"
        f = "".join(c for c in _strip_accents(family.split()[0]).lower() if c.isalnum()) or "x"
        domain = rng.choice(country.email_domains)
        pattern = rng.randrange(5)
        local = (f"{g}.{f}", f"{g}{f}", f"{g[0]}{f}", f"{f}.{g}", f"{g}_{f}")[pattern]
        if rng.random() < 0.5:
            local += str(rng.randint(1, 99))
        address = f"{local}@{domain}"
        while address in self.used_emails:
            address = f"{local}{rng.randint(100, 9999)}@{domain}"
        self.used_emails.add(address)
        return address

    def phone(self, country: Country) -> str:
        prefix = self.rng.choice(country.phone_prefixes)
        rest = country.phone_length - len(prefix)
        first = "" if country.code != "US" else str(self.rng.randint(2, 9))
        digits = "".join(self.rng.choice(string.digits) for _ in range(rest - len(first)))
        return prefix + first + digits

    # -- damage done to extra records ------------------------------------------------------------

    def damage(self, person: _Person) -> _Person:
        rng = self.rng
        d = attrs.evolve(person)
        roll = rng.random
        if roll() < 0.15:
            nicknames = sorted(variants_of(fold(d.given.split()[0]).replace(" ", "")))
            if nicknames:
                d.given = rng.choice(nicknames).title()
        if roll() < 0.08:
            d.given = self.typo(d.given)
        if roll() < 0.08:
            d.family = self.typo(d.family)
        if roll() < 0.03:
            d.given = d.given[0] + "."
        if d.country.code == "ES" and " " in d.family and roll() < 0.4:
            d.family = d.family.split()[0]
        if roll() < 0.3:
            d.given, d.family = _strip_accents(d.given), _transliterate(d.family, roll() < 0.5)
        if roll() < 0.05:
            d.given, d.family = d.family, d.given
        if roll() < 0.1:
            d.email = self.email(d.given if d.given[-1] != "." else "x", d.family, d.country)
        elif d.email and roll() < 0.03:
            local, _, domain = d.email.partition("@")
            d.email = f"{self.typo(local)}@{domain}"
        if roll() < 0.08:
            d.phone = self.phone(d.country)
        elif d.phone and roll() < 0.02:
            d.phone = d.phone[:-3] + self.typo(d.phone[-3:], digits=True)
        if roll() < 0.04:
            d.street, d.street_type, d.house, d.postal, d.city = self.address(d.country)
        elif roll() < 0.05:
            d.street = self.typo(d.street)
        if d.birthday is not None:
            if roll() < 0.04:
                text = d.birthday.isoformat().replace("-", "")
                swapped = self.typo(text, digits=True)
                try:
                    d.birthday = date(int(swapped[:4]), int(swapped[4:6]), int(swapped[6:]))
                except ValueError:
                    pass
            elif roll() < 0.03 and d.birthday.day <= 12:
                d.birthday = d.birthday.replace(month=d.birthday.day, day=d.birthday.month)
        return d

    def typo(self, text: str, *, digits: bool = False) -> str:
        rng = self.rng
        if len(text) < 3:
            return text
        alphabet = string.digits if digits else string.ascii_lowercase
        i = rng.randrange(1, len(text) - 1)
        kind = rng.randrange(4)
        if kind == 0:
            return text[:i] + rng.choice(alphabet) + text[i + 1 :]
        if kind == 1 and not digits:
            return text[:i] + text[i + 1 :]
        if kind == 2 and not digits:
            return text[:i] + rng.choice(alphabet) + text[i:]
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]

    # -- rendering -------------------------------------------------------------------------------

    def render(self, p: _Person, *, clean: bool) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random
        drop = 0.0 if clean else 1.0

        def keep(chance_missing: float) -> bool:
            return roll() >= chance_missing * drop

        given: str | None = p.given if keep(0.02) else None
        family: str | None = p.family if keep(0.02) else None
        if not clean and given and roll() < 0.05:
            given = given.upper() if roll() < 0.5 else given.lower()
        if not clean and family and roll() < 0.08:
            family = family.upper() if roll() < 0.5 else family.lower()
        email = p.email if p.email and keep(0.25) else None
        if email and not clean and roll() < 0.1:
            email = email.upper() if roll() < 0.5 else email.title()
        return {
            "given_name": given,
            "family_name": family,
            "email": email,
            "phone": self.phone_text(p) if p.phone and keep(0.25) else None,
            "street": self.street_text(p, abbreviate=roll() < (0.15 if clean else 0.5)) if keep(0.05) else None,
            "postal_code": self.postal_text(p, clean) if keep(0.05) else None,
            "city": (p.city if clean or roll() > 0.1 else p.city.upper()) if keep(0.1) else None,
            "country": p.country.code if roll() < 0.8 else p.country.code.lower(),
            "birthday": self.birthday_text(p) if p.birthday and keep(0.3) else None,
        }

    def phone_text(self, p: _Person) -> str:
        assert p.phone is not None
        n, code = p.phone, p.country.code
        rng = self.rng
        if code == "US":
            a, b, c = n[:3], n[3:6], n[6:]
            return rng.choice((f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"+1{n}"))
        calling = {"GB": "44", "DE": "49", "FR": "33", "ES": "34"}[code]
        trunk = "" if code == "ES" else "0"
        style = rng.randrange(4)
        if style == 0:
            return f"+{calling} {n[:3]} {n[3:]}"
        if style == 1:
            return f"{trunk}{n}"
        if style == 2:
            return f"00{calling}{n}"
        if code == "FR":
            full = trunk + n
            return " ".join(full[i : i + 2] for i in range(0, len(full), 2))
        return f"{trunk}{n[:4]} {n[4:]}" if code != "DE" else f"{trunk}{n[:3]}/{n[3:]}"

    def street_text(self, p: _Person, *, abbreviate: bool) -> str:
        word, abbreviations = p.country.street_types[p.street_type]
        kind = self.rng.choice(abbreviations) if abbreviate else word
        code = p.country.code
        if code == "DE":
            return f"{p.street}{kind} {p.house}"
        if code == "FR":
            return f"{p.house}{',' if self.rng.random() < 0.3 else ''} {kind} {p.street}"
        if code == "ES":
            floor = f", {self.rng.randint(1, 8)}º {self.rng.choice('ABCD')}" if self.rng.random() < 0.3 else ""
            return f"{kind} {p.street}, {p.house}{floor}"
        return f"{p.house} {p.street} {kind}"

    def postal_text(self, p: _Person, clean: bool) -> str:
        if clean or self.rng.random() > 0.3:
            return p.postal
        if p.country.code == "GB":
            return p.postal.replace(" ", "").lower()
        if p.country.code == "US":
            return f"{p.postal}-{self.rng.randint(1000, 9999)}"
        if p.country.code == "DE":
            return f"D-{p.postal}"
        return f" {p.postal} "

    def birthday_text(self, p: _Person) -> str:
        assert p.birthday is not None
        b = p.birthday
        style = self.rng.randrange(2)
        if style == 0:
            return b.isoformat()
        if p.country.code == "US":
            return f"{b.month:02d}/{b.day:02d}/{b.year}"
        if p.country.code == "DE":
            return f"{b.day:02d}.{b.month:02d}.{b.year}"
        return f"{b.day:02d}/{b.month:02d}/{b.year}"


_PLAIN = str.maketrans("áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÉÈÊÍÓÖÚÜÑÇß", "aaaaaaeeeeiiiiooooouuuuncAAAAEEEIOOUUNCs")


def _strip_accents(text: str) -> str:
    return text.translate(_PLAIN)


def _transliterate(text: str, german: bool) -> str:
    """ "Müller" as "Mueller" (German style) or "Muller" (accents simply dropped)."""
    if german:
        for umlaut, plain in (
            ("ä", "ae"),
            ("ö", "oe"),
            ("ü", "ue"),
            ("Ä", "Ae"),
            ("Ö", "Oe"),
            ("Ü", "Ue"),
            ("ß", "ss"),
        ):
            text = text.replace(umlaut, plain)
    return _strip_accents(text)
