"""An erased customer stays erased when the shop's export is imported again: with the suppression key, the records
whose address is on the suppression list are not imported, on every store, in one process or many, from the
library and from the command line."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from no_list_store import NoListStore
from shopify_columns import SHOPIFY_CUSTOMER_COLUMNS

from custdata import EmailAddress, ValidationError
from custdata.importing import ImportOptions, ImportReport, RejectsList, import_customers, read_rows
from custdata.merge import merge, preview
from custdata.privacy import erase_customer
from custdata.storage import Store, open_store

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
KEY = b"a suppression key from the secret manager"
PEOPLE = [
    ("Ines", "Quarantotto", "ines.q@example.org"),
    ("Bartholomew", "Oyelaran", "bart.oyelaran@example.com"),
    ("Zofia", "Wierzbicka", "Zofia.W@Example.net"),
]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        yield request.getfixturevalue("new_store")()
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    with open_store(url) as opened:
        yield opened


def _export(path: Path, people: list[tuple[str, str, str]]) -> Path:
    """A Shopify customers export (no id column: its customers are known by their email addresses)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SHOPIFY_CUSTOMER_COLUMNS)
        writer.writeheader()
        for given, family, email in people:
            writer.writerow(
                {"First Name": given, "Last Name": family, "Email": email, "Accepts Email Marketing": "yes"}
            )
    return path


def _import(
    store: Store, path: Path, *, key: bytes | None = KEY, jobs: int = 1, rejects: RejectsList | None = None
) -> ImportReport:
    options = ImportOptions(platform="shopify", now=NOW, format="shopify-csv", suppression_key=key)
    return import_customers(store, read_rows(path, "csv"), options=options, rejects=rejects, jobs=jobs)


def _holders(store: Store, email: str) -> list[str]:
    """Ids of the live customers having ``email``."""
    with store.unit_of_work() as uow:
        return [str(c.id) for c in uow.customers.find_by_email(email) if c.redacted_at is None]


def _id_of(store: Store, email: str) -> str:
    (found,) = _holders(store, email)
    return found


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_erased_customer_is_not_imported_again(store: Store, tmp_path: Path, jobs: int) -> None:
    export = _export(tmp_path / "customers_export.csv", PEOPLE)
    assert _import(store, export).imported == 3
    report = erase_customer(store, _id_of(store, PEOPLE[2][2]), suppression_key=KEY, purge=False)
    assert report.suppressed == 1
    rejects = RejectsList()
    again = _import(store, export, jobs=jobs, rejects=rejects)
    assert (again.imported, again.skipped, again.suppressed, again.rejected) == (0, 2, 1, 0)
    assert _holders(store, PEOPLE[2][2]) == [], "the erased customer is not back"
    with store.unit_of_work() as uow:
        assert uow.customers.find_by_email(PEOPLE[2][2]) == []
        assert not any(c.family_name == "Wierzbicka" for c in uow.customers.search(limit=100).items)
    assert rejects.items == [], "a suppressed record is no rejected record"
    (note,) = rejects.notes
    assert note[0] == 4 and note[1] == "Email" and note[3] == "suppressed"
    assert "zofia" not in repr(note).lower(), "the rejects file holds no personal data"
    # a file with the customer and a new one: the new one comes in, the erased one does not
    grown = _export(tmp_path / "later_export.csv", [*PEOPLE, ("Oona", "Kettunen", "oona.k@example.fi")])
    later = _import(store, grown, jobs=jobs)
    assert (later.imported, later.skipped, later.suppressed) == (1, 2, 1)
    assert _holders(store, PEOPLE[2][2]) == []


def test_without_the_key_the_import_does_not_know_the_list(store: Store, tmp_path: Path) -> None:
    export = _export(tmp_path / "customers_export.csv", PEOPLE)
    _import(store, export)
    erase_customer(store, _id_of(store, PEOPLE[0][2]), suppression_key=KEY, purge=False)
    assert _import(store, export, key=b"another key of 16 bytes or more").suppressed == 0, "digests of another key"
    assert len(_holders(store, PEOPLE[0][2])) == 1, "imported again: the list is read only with its key"


def test_every_address_of_a_merged_person_is_suppressed(store: Store, tmp_path: Path) -> None:
    """A guest record merged into the account brought its own address: erasing the account suppresses both."""
    export = _export(tmp_path / "customers_export.csv", PEOPLE[:2])
    _import(store, export)
    account, other = _id_of(store, PEOPLE[0][2]), _id_of(store, PEOPLE[1][2])
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, account, [other], at=NOW), at=NOW)
        uow.commit()
    assert erase_customer(store, account, suppression_key=KEY, purge=False).suppressed == 2
    again = _import(store, export)
    assert (again.imported, again.suppressed) == (0, 2)
    assert _holders(store, PEOPLE[0][2]) == _holders(store, PEOPLE[1][2]) == []


def test_a_store_without_a_list_or_a_bad_key_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    export = _export(tmp_path / "customers_export.csv", PEOPLE)
    with pytest.raises(ValidationError) as raised:
        ImportOptions(suppression_key=b"short")
    assert raised.value.problems[0].path == "suppression_key"
    with pytest.raises(ValidationError) as raised:
        ImportOptions(suppression_key="a key as text, not bytes")  # type: ignore[arg-type]
    assert raised.value.problems[0].path == "suppression_key"
    assert KEY.decode() not in repr(ImportOptions(suppression_key=KEY)), "the key never shows in a repr"
    with NoListStore(open_store(f"sqlite:///{tmp_path / 'shop.db'}")) as bare:
        with pytest.raises(ValidationError) as raised:
            _import(bare, export)
        assert raised.value.problems[0].path == "suppression_key"
        with bare.unit_of_work() as uow:
            assert uow.customers.count() == 0


def _cli(*args: str, cwd: Path, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CUSTDATA_STORE", "CUSTDATA_SUPPRESSION_KEY"}}
    if key is not None:
        env["CUSTDATA_SUPPRESSION_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "custdata", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_commands_erase_and_import_share_the_key_from_the_environment(tmp_path: Path) -> None:
    _export(tmp_path / "customers_export.csv", PEOPLE)
    key = KEY.decode()
    first = _cli("import", "customers", "customers_export.csv", cwd=tmp_path, key=key)
    assert first.returncode == 0 and "3 imported" in first.stdout, first.stderr
    with open_store(f"sqlite:///{tmp_path / 'custdata.db'}") as store:
        customer_id = _id_of(store, PEOPLE[1][2])
    erased = _cli("erase", customer_id, "--yes", cwd=tmp_path, key=key)
    assert erased.returncode == 0 and "1 address(es) put on the suppression list" in erased.stdout, erased.stderr
    again = _cli("import", "customers", "customers_export.csv", cwd=tmp_path, key=key)
    assert again.returncode == 0, again.stderr
    assert "0 imported, 2 already in the store, 0 rejected" in again.stdout
    assert "1 not imported: erased on request" in again.stdout
    rejects = (tmp_path / "customers_export.csv.rejects.csv").read_text(encoding="utf-8")
    assert "suppressed" in rejects and "bart" not in rejects.lower()
    with open_store(f"sqlite:///{tmp_path / 'custdata.db'}") as store:
        assert _holders(store, PEOPLE[1][2]) == []
    short = _cli("import", "customers", "customers_export.csv", cwd=tmp_path, key="short")
    assert short.returncode == 2 and "CUSTDATA_SUPPRESSION_KEY must be at least 16 bytes long" in short.stderr


def test_the_digest_is_of_the_canonical_address() -> None:
    from custdata.storage.suppression import email_digest

    assert email_digest(KEY, "Zofia.W@Example.net") == email_digest(KEY, EmailAddress.parse("zofia.w@example.net"))
    assert email_digest(KEY, "zofia.w@example.net") != email_digest(b"k" * 16, "zofia.w@example.net")
