"""Field comparators: each looks at one field of two normalised records and says which level it reached
(``exact``, ``nickname``, ``typo``, ``different``, ``missing``...). Similarity comes from rapidfuzz
(Jaro-Winkler) and jellyfish (metaphone codes, computed during normalisation)."""

from __future__ import annotations

from custdata.matching._extra import DamerauLevenshtein, JaroWinkler
from custdata.matching.model import MISSING
from custdata.matching.normalise import Birthday, NameKeys, NormalisedRecord, StreetKeys

#: Jaro-Winkler similarity from which two names count as the same name with a typo.
NAME_TYPO = 0.9
#: Similarity from which two street names count as the same street.
STREET_TYPO = 0.88
#: The shortest street name that counts as the same street when the other line only adds to it (with the same
#: house number).
_STREET_PREFIX = 5


def given_name(a: NameKeys, b: NameKeys) -> str:
    """``exact``, ``nickname`` (Bill/William), ``typo``, ``phonetic``, ``initial`` (J./John) or ``different``."""
    if not a.full or not b.full:
        return MISSING
    if a.full == b.full:
        return "exact"
    if a.first == b.first:
        return "exact" if len(a.first) > 1 else "initial"
    if a.groups & b.groups:
        return "nickname"
    if len(a.first) == 1 or len(b.first) == 1:
        return "initial" if a.first[0] == b.first[0] else "different"
    if JaroWinkler.similarity(a.first, b.first) >= NAME_TYPO or JaroWinkler.similarity(a.full, b.full) >= NAME_TYPO:
        return "typo"
    if a.code == b.code:
        return "phonetic"
    return "different"


def family_name(a: NameKeys, b: NameKeys) -> str:
    """``exact``, ``typo``, ``phonetic``, ``partial`` (one name part of the other: "García" and "García
    López") or ``different``."""
    if not a.full or not b.full:
        return MISSING
    if a.full == b.full:
        return "exact"
    if len(a.tokens) != len(b.tokens):
        short, long = (a.tokens, b.tokens) if len(a.tokens) < len(b.tokens) else (b.tokens, a.tokens)
        if set(short) <= set(long):
            return "partial"
    if JaroWinkler.similarity(a.full, b.full) >= NAME_TYPO:
        return "typo"
    if a.code == b.code and "".join(a.tokens[1:]) == "".join(b.tokens[1:]):
        return "phonetic"
    return "different"


def _one_edit(a: str, b: str) -> bool:
    """Same length and one character changed, or two neighbouring characters swapped."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def birthday(a: Birthday | None, b: Birthday | None) -> str:
    """``exact``, ``day_month_swapped``, ``typo`` (one digit wrong or two swapped) or ``different``."""
    if a is None or b is None:
        return MISSING
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "day_month_swapped"
    if _one_edit(a.digits, b.digits):
        return "typo"
    return "different"


def email(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    """``exact`` when any address is shared, ``typo`` for one slipped letter in the mailbox name at the same
    domain (a different digit counts as a different mailbox: ``jsmith1`` is not ``jsmith2``), else
    ``different``."""
    if not a or not b:
        return MISSING
    if set(a) & set(b):
        return "exact"
    for x in a:
        x_local, _, x_domain = x.rpartition("@")
        for y in b:
            y_local, _, y_domain = y.rpartition("@")
            if x_domain == y_domain and min(len(x_local), len(y_local)) >= 5 and _slip(x_local, y_local):
                return "typo"
    return "different"


def _slip(a: str, b: str) -> bool:
    """One letter changed, added, dropped, or two swapped (Damerau-Levenshtein distance 1), not a digit."""
    if abs(len(a) - len(b)) > 1 or DamerauLevenshtein.distance(a, b, score_cutoff=1) > 1:
        return False
    changed = set(a).symmetric_difference(b)
    return not any(c.isdigit() for c in changed)


def phone(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    """``exact`` when the last eight digits agree (so E.164 and a bare national number can match), ``typo``
    for one digit wrong or two swapped, else ``different``."""
    if not a or not b:
        return MISSING
    if set(a) & set(b):
        return "exact"
    tails_a = {p[-8:] for p in a}
    tails_b = {p[-8:] for p in b}
    if tails_a & tails_b:
        return "exact"
    for x in tails_a:
        for y in tails_b:
            if _one_edit(x, y):
                return "typo"
    return "different"


def street(a: StreetKeys, b: StreetKeys) -> str:
    """``exact`` (same street and house number), ``typo`` (a misspelt street, a house number on one side
    only, or a second address line on one side only: "12 Baker St" and "12 Baker St, Rear building"),
    ``other_house`` (same street, another number) or ``different``."""
    if not a.name or not b.name:
        return MISSING
    same_name = a.name == b.name or JaroWinkler.similarity(a.name, b.name) >= STREET_TYPO
    if not same_name and a.house and a.house == b.house:
        short, long = (a.name, b.name) if len(a.name) <= len(b.name) else (b.name, a.name)
        same_name = len(short) >= _STREET_PREFIX and long.startswith(short)
    if not same_name:
        return "different"
    if a.house and b.house and a.house != b.house:
        return "other_house"
    if a.name == b.name and a.house == b.house:
        return "exact"
    return "typo"


def locality(a: NormalisedRecord, b: NormalisedRecord) -> str:
    """Postal code, city and country together: ``exact`` (same postal code), ``city`` (same city, a postal
    code on one side only), ``typo`` (postal codes one character apart, cities not in conflict),
    ``other_postal_code`` (same city, another postal code) or ``different`` (another city or country)."""
    if a.country and b.country and a.country != b.country:
        return "different"
    same_city = bool(a.city and b.city and (a.city == b.city or JaroWinkler.similarity(a.city, b.city) >= NAME_TYPO))
    if a.postal_code and b.postal_code:
        if a.postal_code == b.postal_code:
            return "exact"
        cities_differ = bool(a.city and b.city and not same_city)
        if not cities_differ and _one_edit(a.postal_code, b.postal_code):
            return "typo"
        return "other_postal_code" if same_city else "different"
    if a.city and b.city:
        return "city" if same_city else "different"
    return MISSING
