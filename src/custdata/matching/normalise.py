"""Normalisation: every record is turned once into comparable keys (folded names, canonical email, E.164
phone, street name and house number, postal code, birthday), so that comparing two records is cheap."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import pycountry

from custdata._errors import ValidationError
from custdata.domain.contact import EmailAddress
from custdata.matching.nicknames import name_groups
from custdata.matching.phones import normalise_phone
from custdata.matching.records import CustomerRecord
from custdata.matching.text import fold, phonetic, present

_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "herr",
        "frau",
        "fr",
        "hr",
        "mme",
        "mlle",
        "monsieur",
        "madame",
        "sr",
        "sra",
        "srta",
    ]
)
_SUFFIXES = frozenset(["jr", "sr", "ii", "iii", "iv", "phd", "md"])


class NameKeys(NamedTuple):
    """A normalised given or family name."""

    full: str  # folded, tokens joined by spaces
    first: str  # first token
    tokens: tuple[str, ...]
    code: str  # metaphone of the first token
    groups: frozenset[int]  # nickname groups of the first token


_NO_NAME = NameKeys("", "", (), "", frozenset())


@lru_cache(maxsize=65536)
def name_keys(text: str | None) -> NameKeys:
    """Fold a name and drop titles and suffixes ("Dr.", "Jr.").

    >>> name_keys("Dr. José-María").tokens
    ('jose', 'maria')
    """
    text = present(text)
    if text is None:
        return _NO_NAME
    tokens = tuple(t for t in fold(text).split() if t not in _TITLES and t not in _SUFFIXES)
    if not tokens:
        return _NO_NAME
    first = tokens[0]
    return NameKeys(" ".join(tokens), first, tokens, phonetic(first), name_groups(first))


def normalise_email(text: str | None) -> str | None:
    """custdata's canonical form when the address is valid, else the lower-cased text; ``None`` without an ``@``.

    >>> normalise_email(" Jane.Doe@Example.COM "), normalise_email("jane at example"), normalise_email("x@y")
    ('jane.doe@example.com', None, 'x@y')
    """
    text = present(text)
    if text is None or "@" not in text:
        return None
    if text.isascii() and '"' not in text and "\\" not in text:
        # For plain ASCII addresses the canonical form is the lower-cased text, valid or not (a test checks
        # this against EmailAddress); skipping the validator keeps large imports fast.
        return "".join(text.lower().split())
    try:
        return EmailAddress.parse(text).canonical
    except ValidationError:
        return "".join(unicodedata.normalize("NFKC", text).casefold().split())


_NATIVE_COUNTRY_NAMES = {
    "deutschland": "DE",
    "germany": "DE",
    "allemagne": "DE",
    "alemania": "DE",
    "osterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "espana": "ES",
    "spanien": "ES",
    "espagne": "ES",
    "frankreich": "FR",
    "francia": "FR",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "uk": "GB",
    "united kingdom": "GB",
    "usa": "US",
    "us": "US",
    "united states": "US",
    "united states of america": "US",
    "italia": "IT",
    "nederland": "NL",
    "belgique": "BE",
    "belgie": "BE",
}


@lru_cache(maxsize=1024)
def normalise_country(text: str | None) -> str | None:
    """An ISO 3166 alpha-2 code from a code, an English name or a common native name; ``None`` if unknown.

    >>> normalise_country("de"), normalise_country("España"), normalise_country("Atlantis")
    ('DE', 'ES', None)
    """
    text = present(text)
    if text is None:
        return None
    folded = fold(text)
    if folded in _NATIVE_COUNTRY_NAMES:
        return _NATIVE_COUNTRY_NAMES[folded]
    if len(folded) == 2 and folded.isalpha():
        return folded.upper() if pycountry.countries.get(alpha_2=folded.upper()) else None
    try:
        found = pycountry.countries.lookup(text.strip())
    except LookupError:
        return None
    return str(found.alpha_2)


#: Countries whose postal codes are digits only; letters in front ("D-10115", "F-75001") are dropped.
_NUMERIC_POSTAL = frozenset(
    ["AT", "AU", "BE", "CH", "DE", "DK", "ES", "FI", "FR", "GR", "IT", "LU", "MX", "NO", "PT", "SE", "US"]
)


def normalise_postal_code(text: str | None, country: str | None) -> str | None:
    """Upper case without spaces or dashes; ZIP+4 cut to five digits; letter prefixes dropped where codes are digits.

    >>> normalise_postal_code("sw1a 1aa", "GB"), normalise_postal_code("94043-1351", "US"), normalise_postal_code("D-10115", "DE")
    ('SW1A1AA', '94043', '10115')
    """
    text = present(text)
    if text is None:
        return None
    code = "".join(c for c in text.upper() if c.isalnum())
    if country in _NUMERIC_POSTAL:
        code = "".join(c for c in code if c.isdigit())
        if country == "US":
            code = code[:5]
    return code or None


# Street words and their abbreviations (English, German, French, Spanish), mapped to one canonical token.
_STREET_WORDS_RAW = {
    "street": "street", "st": "street", "str": "street", "strasse": "street", "strase": "street",
    "road": "road", "rd": "road",
    "avenue": "avenue", "ave": "avenue", "av": "avenue", "avda": "avenue", "avenida": "avenue",
    "boulevard": "boulevard", "blvd": "boulevard", "bd": "boulevard", "boul": "boulevard",
    "drive": "drive", "dr": "drive", "lane": "lane", "ln": "lane", "court": "court", "ct": "court",
    "place": "place", "pl": "place", "platz": "place", "plaza": "place", "pza": "place", "plz": "place",
    "square": "square", "sq": "square", "terrace": "terrace", "tce": "terrace", "ter": "terrace",
    "crescent": "crescent", "cres": "crescent", "parkway": "parkway", "pkwy": "parkway",
    "highway": "highway", "hwy": "highway", "way": "way", "close": "close",
    "gardens": "gardens", "gdns": "gardens", "grove": "grove", "gr": "grove",
    "north": "north", "n": "north", "south": "south", "s": "south", "east": "east", "e": "east",
    "west": "west", "w": "west",
    "rue": "rue", "r": "rue", "chemin": "chemin", "ch": "chemin", "che": "chemin", "impasse": "impasse",
    "imp": "impasse", "allee": "allee", "all": "allee", "quai": "quai", "route": "road", "rte": "road",
    "calle": "calle", "c": "calle", "cl": "calle", "cll": "calle", "paseo": "paseo", "po": "paseo",
    "pso": "paseo", "carretera": "road", "ctra": "road", "camino": "chemin", "cmno": "chemin",
    "weg": "way", "gasse": "lane", "g": "lane",
    "saint": "saint", "sainte": "saint", "ste": "saint", "san": "saint", "santa": "saint", "sankt": "saint",
}  # fmt: skip
_STREET_WORDS = {fold(word): fold(canonical) for word, canonical in _STREET_WORDS_RAW.items()}
_UNIT_WORDS = frozenset(
    fold(word)
    for word in [
        "apt",
        "apartment",
        "unit",
        "flat",
        "suite",
        "ste",
        "fl",
        "floor",
        "room",
        "rm",
        "po",
        "box",
        "piso",
        "puerta",
        "esc",
        "escalera",
        "planta",
        "bajo",
        "dcha",
        "izda",
        "og",
        "eg",
        "dg",
        "etage",
        "stock",
        "whg",
        "wohnung",
        "app",
        "appartement",
        "bat",
        "batiment",
        "etg",
        "porte",
    ]
)
_STREET_SUFFIXES = (("strasse", "street"), ("strase", "street"), ("str", "street"), ("platz", "place"))
_SAINT = fold("saint")
_HOUSE = re.compile(r"\d+[a-z]?")


class StreetKeys(NamedTuple):
    """A normalised street line: the street's name as one token-free key, and the house number."""

    name: str
    house: str


_NO_STREET = StreetKeys("", "")


@lru_cache(maxsize=65536)
def street_keys(text: str | None) -> StreetKeys:
    """Split a street line into a canonical name key and a house number; abbreviations are expanded, German
    ``-str.``/``-straße`` suffixes split off, flat and floor numbers ignored.

    >>> street_keys("Hauptstr. 5") == street_keys("Hauptstraße 5") == street_keys("Haupt Strasse 5")
    True
    >>> street_keys("Flat 3, 12 Baker St")
    StreetKeys(name='bakerstreet', house='12')
    """
    text = present(text)
    if text is None:
        return _NO_STREET
    folded = fold(text.replace("º", " ").replace("ª", " ").replace("c/", "calle "))
    name: list[str] = []
    house = ""
    skip_number = False
    tokens = folded.split()
    for position, token in enumerate(tokens):
        if token[0].isdigit():
            if not skip_number and not house:
                match = _HOUSE.match(token)
                house = match.group() if match else token
            skip_number = False
            continue
        if token in _UNIT_WORDS and not (token == "ste" and position == 0):
            skip_number = True
            continue
        skip_number = False
        if len(token) == 1 and house and token not in _STREET_WORDS:
            continue  # a door letter or staircase after the number
        name.extend(_street_token(token, position, len(tokens)))
    return StreetKeys("".join(name), house)


def _street_token(token: str, position: int, count: int) -> list[str]:
    if token in _STREET_WORDS:
        word = _STREET_WORDS[token]
        if token == "st" and position == 0 and count > 2:
            return [_SAINT]
        return [word]
    for suffix, word in _STREET_SUFFIXES:
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            return [token[: -len(suffix)], word]
    return [token]


_DATE_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DATE_OTHER = re.compile(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})")
_DATE_DIGITS = re.compile(r"\d{8}")
_MONTH_FIRST = frozenset(("US", "PH", "CA", "FM", "MH", "PW"))


class Birthday(NamedTuple):
    """A birthday as numbers, and as the eight digits ``YYYYMMDD`` that typo checks compare."""

    year: int
    month: int
    day: int
    digits: str


def normalise_birthday(text: str | None, country: str | None) -> Birthday | None:
    """A (year, month, day) from ISO, ``dd.mm.yyyy`` or (in the US) ``mm/dd/yyyy``, also written without
    separators (``19840307``, ``07031984``); impossible months with a possible day are read the other way
    round. ``None`` when it cannot be read.

    >>> normalise_birthday("07.03.1984", "DE") == normalise_birthday("3/7/84", "US") == normalise_birthday("19840307", "DE")
    True
    >>> normalise_birthday("1984-03-07", None)
    Birthday(year=1984, month=3, day=7, digits='19840307')
    """
    text = present(text)
    if text is None:
        return None
    text = text.strip()
    if _DATE_DIGITS.fullmatch(text):
        # Eight digits: ISO's basic format (YYYYMMDD) when they start with a plausible year of birth followed by
        # a month and a day, else day (or month) first.
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
        if year >= 1800 and 1 <= month <= 12 and 1 <= day <= 31:
            return Birthday(year, month, day, text)
        return normalise_birthday(f"{text[:2]}/{text[2:4]}/{text[4:]}", country)
    match = _DATE_ISO.fullmatch(text[:10]) or _DATE_ISO.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DATE_OTHER.fullmatch(text)
        if not match:
            return None
        first, second, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year += 1900 if year > 30 else 2000
        month, day = (first, second) if country in _MONTH_FIRST else (second, first)
    if month > 12 >= day:
        month, day = day, month
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1000 <= year <= 9999):
        return None
    return Birthday(year, month, day, f"{year:04d}{month:02d}{day:02d}")


class NormalisedRecord(NamedTuple):
    """Everything the comparators and blocking keys need from one record, computed once."""

    id: str
    given: NameKeys
    family: NameKeys
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    street: StreetKeys
    postal_code: str
    city: str
    country: str
    birthday: Birthday | None
    #: ``False`` for a registered account, ``True`` for a guest, ``None`` when the record does not say.
    is_guest: bool | None = None


def normalise(record: CustomerRecord, default_region: str | None = None) -> NormalisedRecord:
    """Normalise one record; national phone numbers are read in the record's country, else ``default_region``."""
    country = normalise_country(record.country)
    region = country or default_region
    emails = _unique(normalise_email(e) for e in (record.email, *record.other_emails))
    phones = _unique(normalise_phone(p, region) for p in (record.phone, *record.other_phones))
    return NormalisedRecord(
        id=record.id,
        given=name_keys(record.given_name),
        family=name_keys(record.family_name),
        emails=emails,
        phones=phones,
        street=street_keys(record.street),
        postal_code=normalise_postal_code(record.postal_code, country) or "",
        city=name_keys(record.city).full,
        country=country or "",
        birthday=normalise_birthday(record.birthday, country),
        is_guest=record.is_guest,
    )


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen[value] = None
    return tuple(seen)
