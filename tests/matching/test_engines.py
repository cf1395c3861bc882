"""The DuckDB and Spark engines find the same pairs as the Python engine, the reference: the same ids, levels,
weights, scores, decisions, reasons, notes, blocking figures and errors, on synthetic customers and on small
Hypothesis record sets full of edge cases (empty and placeholder fields, unicode, shared phones and emails,
one-letter typos, swapped names, tiny blocks that overflow)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator, Iterator
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata import Problem, ValidationError
from custdata.matching import CustomerRecord, Matcher, MatchResult, generate_customers, normalise, sources
from custdata.matching.engines import _columns, _sql
from custdata.matching.model import FIELDS, LEVELS, MISSING
from custdata.matching.records import to_record
from custdata.storage.aggregates import CustomerDocuments

GIVEN = ["John", "Jon", "Johnny", "Bill", "William", "José", "Jose", "Jürgen", "Juergen", "Anne", "Ann", "J.", "J"]
GIVEN += ["Zoë", "Łukasz", "李", "Martha", "Marhta", "Dr. Ana", "n/a", "Smith", "Jo Ann", "ß"]
FAMILY = ["Smith", "Smyth", "Schmidt", "Müller", "Mueller", "García López", "Garcia", "López García", "O'Brien"]
FAMILY += ["OBrien", "Dupont", "王", "王 李", "John", "Bill", "Smith Jr.", "-"]
EMAILS = ["john.smith@example.com", "jonh.smith@example.com", "john.smith1@example.com", "john.smith2@example.com"]
EMAILS += ["jsmith@example.com", "jsmit@example.com", "john.smith@example.org", "anne@exämple.de", "ánne.x@example.de"]
EMAILS += ["anne.x@example.de", "x@y", "JOHN.SMITH@example.com", "john.smíth@example.com", "a@b@example.com"]
PHONES = ["+49 30 1234567", "030 1234567", "+49 30 1234576", "+49 30 1234568", "(415) 555-0132", "+1 415 555 0123"]
PHONES += ["415 555 0132", "+44 7700 900123", "12", "n/a", "+1 415 555 0132"]
STREETS = ["Hauptstr. 5", "Hauptstraße 5", "Hauptstrasse 7", "Haupstr. 5", "12 Main St", "12 Main Street"]
STREETS += ["14 Main St", "Main St", "C/ Mayor, 5", "Calle Mayor 5", "3 rue de la Paix", "Flat 2, 9 Rd", "Straße 1"]
POSTAL = ["10115", "10151", "D-10115", "10116", "SW1A 1AA", "SW1A 1AB", "94043", "94034", "75001", "ß1234", "ä1234"]
CITIES = ["Berlin", "Berlín", "Berln", "Köln", "Koeln", "London", "Londn", "Paris", "Mountain View", "Montain View"]
COUNTRIES = ["DE", "GB", "US", "FR", "ES", "Atlantis", "Deutschland"]
BIRTHDAYS = ["1984-03-07", "1984-07-03", "1984-03-08", "1948-03-07", "07.03.1984", "1984-03-17", "31.02.1990", "?"]


def _field(values: list[str], text: bool = True) -> st.SearchStrategy[str | None]:
    choices: list[st.SearchStrategy[str | None]] = [st.none(), st.sampled_from(values)]
    if text:
        choices.append(st.text(st.characters(exclude_characters="\x00"), max_size=12))
    return st.one_of(*choices)


@st.composite
def record_sets(draw: st.DrawFn) -> list[CustomerRecord]:
    """A few records drawn from small pools, so that many share blocking keys and nearly agree."""
    size = draw(st.integers(min_value=0, max_value=24))
    return [
        CustomerRecord(
            f"r{index}",
            given_name=draw(_field(GIVEN)),
            family_name=draw(_field(FAMILY)),
            email=draw(_field(EMAILS)),
            phone=draw(_field(PHONES, text=False)),
            street=draw(_field(STREETS)),
            postal_code=draw(_field(POSTAL)),
            city=draw(_field(CITIES)),
            country=draw(st.one_of(st.none(), st.sampled_from(COUNTRIES))),
            birthday=draw(st.one_of(st.none(), st.sampled_from(BIRTHDAYS))),
            other_emails=tuple(draw(st.lists(st.sampled_from(EMAILS), max_size=2))),
            other_phones=tuple(draw(st.lists(st.sampled_from(PHONES), max_size=2))),
            is_guest=draw(st.sampled_from([None, True, False])),
        )
        for index in range(size)
    ]


def assert_same(expected: MatchResult, got: MatchResult) -> None:
    assert (got.records, got.compared, got.blocking) == (expected.records, expected.compared, expected.blocking)
    assert [pair.ids for pair in got.pairs] == [pair.ids for pair in expected.pairs]
    for mine, reference in zip(got.pairs, expected.pairs, strict=True):
        assert mine == reference, f"{mine.explain()}\n!=\n{reference.explain()}"


def _matcher(engine: str, **options: Any) -> Matcher:
    return Matcher(engine=engine, **options)


@pytest.fixture(scope="module")
def duckdb_engine() -> str:
    require("duckdb", "scale")
    require("pyarrow", "scale")
    return "duckdb"


# -- DuckDB ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "seed", "region"), [(3000, 11, None), (1500, 2, "US")])
def test_duckdb_finds_the_same_pairs_on_synthetic_customers(
    duckdb_engine: str, size: int, seed: int, region: str | None
) -> None:
    records = generate_customers(size, seed=seed).records
    expected = Matcher(default_region=region).find_duplicates(records)
    assert len(expected) > size // 10  # the data holds plenty of duplicates, sure ones and ones to review
    assert_same(expected, _matcher(duckdb_engine, default_region=region).find_duplicates(records))


def test_duckdb_leaves_out_pairs_marked_not_the_same_as_python_does(duckdb_engine: str) -> None:
    records = generate_customers(400, seed=4).records
    found = Matcher().find_duplicates(records)
    marked = [found.pairs[0].ids[::-1], found.pairs[-1].ids]  # either order names the pair
    expected = Matcher().find_duplicates(records, not_same=marked)
    assert len(expected) == len(found) - 2
    assert_same(expected, _matcher(duckdb_engine).find_duplicates(records, not_same=marked))


def test_a_model_with_term_frequencies_is_refused_by_the_other_engines(duckdb_engine: str) -> None:
    from custdata.matching import MatchModel

    records = generate_customers(600, seed=5).records
    model = MatchModel.fit(records, seed=1, min_count=2)
    assert model.term_frequencies, "the fit kept frequent values"
    with pytest.raises(ValidationError) as caught:
        _matcher(duckdb_engine, model=model).find_duplicates(records)
    assert caught.value.problems[0].path == "engine"
    plain = MatchModel.fit(records, seed=1, term_frequencies=False)
    assert_same(Matcher(plain).find_duplicates(records), _matcher(duckdb_engine, model=plain).find_duplicates(records))


_SWAPPED_YEARS = [
    CustomerRecord(f"s{i}", given_name="Ann", family_name="Lee", email="ann.lee@example.com", birthday=birthday)
    for i, birthday in enumerate(["1948-03-07", "1984-07-03"])
]


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@example(records=_SWAPPED_YEARS, block=50, window=8, blocking=True, review=-40.0)
@given(
    records=record_sets(),
    block=st.sampled_from([2, 3, 5, 50]),
    window=st.sampled_from([2, 3, 8]),
    blocking=st.booleans(),
    review=st.sampled_from([-40.0, 0.0, 16.0]),
)
def test_duckdb_finds_the_same_pairs_on_edge_cases(
    duckdb_engine: str, records: list[CustomerRecord], block: int, window: int, blocking: bool, review: float
) -> None:
    options = {"max_block_size": block, "window": window, "review": review, "default_region": "DE"}
    expected = Matcher(**options).find_duplicates(records, blocking=blocking)  # type: ignore[arg-type]
    got = _matcher(duckdb_engine, **options).find_duplicates(records, blocking=blocking)
    assert_same(expected, got)


def test_duckdb_reports_bad_rows_and_repeated_ids_as_python_does(duckdb_engine: str) -> None:
    rows: list[object] = [
        {"id": "a", "first_name": "Ann"},
        {"id": "b", "first_name": 5},
        {"id": "a", "first_name": "Anne"},
        "not a row",
        {"id": "c"},
        {"id": "a"},
        {"id": "c", "email": "x" * 600},
    ]
    with pytest.raises(ValidationError) as reference:
        Matcher().find_duplicates(rows)
    with pytest.raises(ValidationError) as raised:
        _matcher(duckdb_engine).find_duplicates(rows)
    assert raised.value.problems == reference.value.problems
    assert any(problem.path == "[5].id" for problem in raised.value.problems)


def test_duckdb_on_nothing_finds_nothing(duckdb_engine: str) -> None:
    assert_same(Matcher().find_duplicates([]), _matcher(duckdb_engine).find_duplicates([]))


@settings(deadline=None)
@given(
    a=st.text("abcdxyzéß😀 ", min_size=1, max_size=9),
    b=st.text("abcdxyzéß😀 ", min_size=1, max_size=9),
    threshold=st.sampled_from([0.805, 0.88, 0.9]),
)
def test_duckdb_similarity_thresholds_decide_as_rapidfuzz(duckdb_engine: str, a: str, b: str, threshold: float) -> None:
    # DuckDB's Jaro-Winkler can differ from rapidfuzz's in the last bit ("xdbb"/"xcdbz" is 0.805 in one and
    # 0.8049999999999999 in the other): near a threshold the comparators' own function decides
    import duckdb

    connection = duckdb.connect()
    connection.create_function("cd_jaro_winkler", _sql.jaro_winkler, ["VARCHAR", "VARCHAR"], "DOUBLE")
    query = f"SELECT {_sql.DUCKDB.jw_at_least('$a', '$b', threshold)}, {_sql.DUCKDB.one_edit.format(a='$a', b='$b')}"
    decided, one_edit = connection.execute(query, {"a": a, "b": b}).fetchone()  # type: ignore[misc]
    assert decided == (_sql.jaro_winkler(a, b) >= threshold)
    assert one_edit == _sql.one_edit(a, b)


def test_the_borderline_similarity_is_decided_by_rapidfuzz(duckdb_engine: str) -> None:
    import duckdb

    connection = duckdb.connect()
    connection.create_function("cd_jaro_winkler", _sql.jaro_winkler, ["VARCHAR", "VARCHAR"], "DOUBLE")
    own = connection.execute("SELECT jaro_winkler_similarity('xdbb', 'xcdbz')").fetchone()[0]  # type: ignore[index]
    assert own >= 0.805 > _sql.jaro_winkler("xdbb", "xcdbz")  # why the margin exists
    decided = connection.execute("SELECT " + _sql.DUCKDB.jw_at_least("'xdbb'", "'xcdbz'", 0.805)).fetchone()
    assert decided == (False,)


# -- choosing an engine ----------------------------------------------------------------------------------------


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        Matcher(engine="excel")
    assert raised.value.problems[0].path == "engine"
    assert "python, duckdb, spark" in raised.value.problems[0].message


@pytest.mark.parametrize(("blocked", "engine", "extra"), [("duckdb", "duckdb", "scale"), ("pyspark", "spark", "spark")])
def test_a_missing_engine_library_names_its_extra(blocked: str, engine: str, extra: str) -> None:
    script = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None\n"
        "from custdata import MissingExtraError\n"
        "from custdata.matching import Matcher\n"
        "try:\n"
        f"    Matcher(engine={engine!r}).find_duplicates([{{'id': 'a'}}])\n"
        "except MissingExtraError as exc:\n"
        "    print(exc.module, exc.extra)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [blocked, extra]


# -- Spark (its own CI step: pytest -m spark) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_engine() -> Iterator[str]:
    require("pyspark", "spark")
    from pyspark.sql import SparkSession

    from custdata.matching.engines.spark_engine import SparkSession as Engine

    Engine().close()  # starts the local session the tests share
    yield "spark"
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


@pytest.mark.spark
def test_spark_finds_the_same_pairs_on_synthetic_customers(spark_engine: str) -> None:
    records = generate_customers(1500, seed=11).records
    expected = Matcher().find_duplicates(records)
    assert len(expected) > 100
    assert_same(expected, _matcher(spark_engine).find_duplicates(records))


@pytest.mark.spark
@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(records=record_sets(), block=st.sampled_from([2, 3, 50]), blocking=st.booleans())
def test_spark_finds_the_same_pairs_on_edge_cases(
    spark_engine: str, records: list[CustomerRecord], block: int, blocking: bool
) -> None:
    options = {"max_block_size": block, "window": 2, "review": -40.0}
    expected = Matcher(**options).find_duplicates(records, blocking=blocking)  # type: ignore[arg-type]
    assert_same(expected, _matcher(spark_engine, **options).find_duplicates(records, blocking=blocking))


# The columns an engine is given are those of the reference: every record normalised by normalise() and added
# one by one (_columns.add). The engines build them another way (memoised per value, straight from a record's
# plain values or a store's documents), so these tests hold the two equal on generated records, on junk, and on
# stored documents with values a record refuses.


def _reference(records: list[object], region: str | None, size: int) -> list[Any]:
    """The batches as the reference builds them: normalise each record, then add it."""
    out: list[Any] = []
    batch = _columns.Batch()
    problems: list[tuple[int, Problem]] = []
    for position, item in enumerate(records):
        try:
            record = to_record(item, position)
        except ValidationError as exc:
            problems.extend((position, problem) for problem in exc.problems)
            continue
        _columns.add(batch, position, normalise(record, region))
        if batch.size >= size:
            out.append(batch)
            batch = _columns.Batch()
    if batch.size:
        out.append(batch)
    if problems:
        out.append(problems)
    return out


def _junk(values: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(values), st.text(max_size=14).filter(lambda t: "\x00" not in t))


@st.composite
def rows(draw: st.DrawFn) -> list[object]:
    """Records, and row mappings with junk anywhere (some of them bad rows)."""
    out: list[object] = list(draw(record_sets()))
    for index in range(draw(st.integers(0, 8))):
        row: dict[str, object] = {
            "id": draw(st.one_of(st.just(f"m{index}"), st.just(""), st.integers(0, 5))),
            "first_name": draw(_junk(GIVEN)),
            "last_name": draw(_junk(FAMILY)),
            "email": draw(_junk(EMAILS)),
            "phone": draw(_junk(PHONES)),
            "street": draw(_junk(STREETS)),
            "zip": draw(_junk(POSTAL)),
            "city": draw(_junk(CITIES)),
            "country": draw(_junk(COUNTRIES)),
            "birthday": draw(_junk(BIRTHDAYS)),
            "other_emails": draw(st.lists(_junk(EMAILS).filter(bool), max_size=2)),
            "other_phones": draw(st.lists(_junk(PHONES).filter(bool), max_size=2)),
            "is_guest": draw(st.sampled_from([None, True, False, "maybe"])),
        }
        out.insert(draw(st.integers(0, len(out))), row)
    return out


@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(records=rows(), region=st.sampled_from([None, "US", "DE"]), size=st.sampled_from([1, 3, 1000]))
def test_the_engine_columns_are_those_of_the_normalised_records(
    records: list[object], region: str | None, size: int
) -> None:
    expected = _reference(records, region, size)
    got = list(_columns.batches(records, region, size=size))
    assert [b if isinstance(b, list) else (b.size, b.columns) for b in got] == [
        b if isinstance(b, list) else (b.size, b.columns) for b in expected
    ]


_TEXT = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["", " ", "a\x00b", "x" * 513, "x" * 512, "Jane", "jane@example.com", "+4930123456"]),
    st.integers(0, 3),
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """Stored documents as plain data, with values a record refuses (too long, NUL, not text) anywhere."""
    addresses = [
        {
            name: draw(_TEXT)
            for name in ("street_address_1", "street_address_2", "postal_code", "city", "country_code", "first_name")
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    doc: dict[str, Any] = {
        "id": draw(st.one_of(st.sampled_from(["cus_1", " ", "x" * 513]), st.integers(1, 9))),
        "given_name": draw(_TEXT),
        "family_name": draw(_TEXT),
        "email": draw(_TEXT),
        "other_emails": draw(st.lists(_TEXT, max_size=2)),
        "phone": draw(st.one_of(st.none(), st.builds(lambda e: {"e164": e}, _TEXT))),
        "other_phones": draw(st.lists(st.builds(lambda e: {"e164": e}, _TEXT), max_size=2)),
        "addresses": addresses,
        "birthday": draw(_TEXT),
        "is_guest": draw(st.sampled_from([None, True, False, 1, "yes"])),
    }
    if addresses:
        doc["default_shipping_address"] = draw(st.one_of(st.none(), st.integers(0, len(addresses) - 1)))
        doc["default_billing_address"] = draw(st.one_of(st.none(), st.integers(0, len(addresses) - 1)))
    return doc


class _Documents(CustomerDocuments):
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def customer_documents(self, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        return iter(self.docs)


class _UnitOfWork:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.aggregates = _Documents(docs)


def _outcome(read: Any) -> Any:
    try:
        return list(read())
    except ValidationError as exc:
        return exc.problems
    except (TypeError, KeyError, IndexError, AttributeError) as exc:  # a document no store writes
        return type(exc), str(exc)


@settings(deadline=None)
@given(docs=st.lists(documents(), max_size=4))
def test_the_values_read_from_documents_are_those_of_the_records(docs: list[dict[str, Any]]) -> None:
    """Reading a store's documents for an engine gives each record's values, or the error reading the record
    raises."""
    uow = _UnitOfWork(docs)
    expected = _outcome(lambda: (sources.record_fields(r) for r in sources._records(uow, 1000, False)))  # type: ignore[arg-type]
    assert _outcome(lambda: sources._fields(uow, 1000, False)) == expected  # type: ignore[arg-type]


def test_a_record_refused_in_a_document_is_an_error_naming_the_field() -> None:
    uow = _UnitOfWork([{"id": "cus_1", "given_name": "x" * 513}])
    try:
        list(sources._fields(uow, 1000, False))  # type: ignore[arg-type]
    except ValidationError as exc:
        assert [p.path for p in exc.problems] == ["given_name"]
    else:
        raise AssertionError("a name longer than a record takes was read")


def test_records_being_read_are_not_read_again_as_values() -> None:
    from custdata.storage import open_store

    with open_store("memory://") as store:
        records = sources.store_records(store)
        assert list(records) == []
        try:
            records.fields()  # type: ignore[attr-defined]
        except RuntimeError:
            pass
        else:
            raise AssertionError("the values were read after the records")


def test_a_record_without_an_email_or_phone_has_no_values_for_them() -> None:
    record = CustomerRecord("r1", other_emails=("a@example.com",), other_phones=("+4930123456",))
    assert sources.record_fields(record)[3:5] == (("a@example.com",), ("+4930123456",))


# -- preparing batches in a second process ------------------------------------------------------------------------


def _rows_by_position(items: list[Any]) -> tuple[dict[str, list[Any]], list[Any]]:
    """Every table's rows of prepared batches (Arrow tables or batches), ordered by position, and the problems."""
    import pyarrow as pa

    from custdata.matching.engines._arrow import arrow_batch

    tables: dict[str, list[Any]] = {name: [] for name in _columns.TABLES}
    problems: list[Any] = []
    for item in items:
        if isinstance(item, list):
            problems.extend(item)
            continue
        converted = item[1] if isinstance(item, tuple) else arrow_batch(item)
        for name, table in converted.items():
            assert isinstance(table, pa.Table)
            tables[name].extend(tuple(row.values()) for row in table.to_pylist())
    return {name: sorted(rows, key=repr) for name, rows in tables.items()}, problems


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(records=rows(), region=st.sampled_from([None, "US"]), size=st.sampled_from([1, 2, 5]))
def test_batches_prepared_with_a_worker_process_hold_the_same_rows(
    duckdb_engine: str, records: list[object], region: str | None, size: int
) -> None:
    from custdata.matching.engines._arrow import arrow_batch

    serial = list(_columns.batches(records, region, size=size))
    got = list(_columns.prepared(records, region, arrow_batch, size=size, worker=True))
    assert _rows_by_position(got) == _rows_by_position(serial)
    counted = [item[0] for item in got if isinstance(item, tuple)]
    assert sum(counted) == sum(batch.size for batch in serial if isinstance(batch, _columns.Batch))


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The worker processes started, recorded as they start."""
    started: list[Any] = []
    original = _columns._Worker

    class Recorded(original):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            started.append(self)

    monkeypatch.setattr(_columns, "_Worker", Recorded)
    return started


def test_the_engine_finds_the_same_pairs_when_a_worker_prepares_batches(
    duckdb_engine: str, monkeypatch: pytest.MonkeyPatch, workers: list[Any]
) -> None:
    records = generate_customers(1500, seed=5).records
    expected = Matcher(default_region="US").find_duplicates(records)
    monkeypatch.setattr(_columns, "BATCH", 100)
    monkeypatch.setattr(_columns, "idle_core", lambda: True)
    assert_same(expected, _matcher(duckdb_engine, default_region="US").find_duplicates(records))
    assert len(workers) == 1
    assert workers[0]._process.poll() is not None  # the worker is gone once the run ends


def test_a_worker_is_stopped_when_the_run_stops_early(duckdb_engine: str, workers: list[Any]) -> None:
    from custdata.matching.engines._arrow import arrow_batch

    running = cast(
        Generator[Any, None, None],
        _columns.prepared(generate_customers(200, seed=5).records, None, arrow_batch, size=10, worker=True),
    )
    next(running)
    assert workers and workers[0]._process.poll() is None
    running.close()
    assert workers[0]._process.poll() is not None


def test_an_error_in_the_worker_is_raised_in_the_run(duckdb_engine: str) -> None:
    from custdata.matching.engines._arrow import arrow_batch

    worker = _columns._Worker()
    try:
        with pytest.raises(ValueError):
            worker.submit([(0, ("id",))], None, True, arrow_batch).result()  # not a record's fields
        worker._process.kill()
        worker._process.wait()
        with pytest.raises(RuntimeError, match="stopped"):
            worker.submit([(0, sources.record_fields(CustomerRecord("a")))], None, True, arrow_batch).result()
    finally:
        worker.close()


@settings(max_examples=60, deadline=None)
@example(  # a household's family name weighs more than the best one elsewhere
    levels=("typo", "exact", "exact", "exact", "exact", "exact", "exact"), swapped=False, household=[(0.99, 1e-4)] * 8
)
@given(
    levels=st.tuples(*(st.sampled_from([*LEVELS[field], MISSING]) for field in FIELDS)),
    swapped=st.booleans(),
    household=st.lists(st.tuples(st.floats(0.01, 0.99), st.floats(1e-4, 0.5)), min_size=8, max_size=8),
)
def test_no_pair_scores_above_the_bound_that_lets_it_be_weighed(
    duckdb_engine: str, levels: tuple[str, ...], swapped: bool, household: list[tuple[float, float]]
) -> None:
    import duckdb

    from custdata.matching import engines
    from custdata.matching.model import HOUSEHOLD_FIELDS, Level, MatchModel

    # household probabilities drawn freely, so that a household weight may be the larger one
    drawn = iter(household)
    same_address = {
        field: {level: Level(*next(drawn)) for level in list(LEVELS[field])[:4]} for field in HOUSEHOLD_FIELDS
    }
    model = MatchModel(MatchModel.default().probabilities, same_address=same_address)
    matcher = Matcher(model, review=-1000.0, auto_merge=1000.0)
    (pair,) = engines._finish(matcher, [("a", "b", True, True, *levels, swapped)])
    others = dict(zip(FIELDS[2:], levels[2:], strict=True))
    row = ", ".join(f"'{level}' AS {field}" for field, level in others.items())
    relation = duckdb.sql(f"SELECT {_sql._bound(matcher._tables, matcher._household)} FROM (SELECT {row}) AS l")
    assert relation is not None
    ((bound,),) = relation.fetchall()
    assert pair.score < bound + _sql._BOUND_MARGIN  # the score is rounded to four places, the bound is not


def test_no_worker_is_started_when_every_core_is_busy(
    duckdb_engine: str, monkeypatch: pytest.MonkeyPatch, workers: list[Any]
) -> None:
    from custdata.matching.engines._arrow import arrow_batch

    monkeypatch.setattr(os, "getloadavg", lambda: (float(os.cpu_count() or 1), 0.0, 0.0))
    records = generate_customers(200, seed=5).records
    got = list(_columns.prepared(records, None, arrow_batch, size=10))
    assert workers == [] and sum(item[0] for item in got if isinstance(item, tuple)) == 200
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert _columns.idle_core() == ((os.cpu_count() or 1) > 1)


@pytest.mark.parametrize(("setting", "busy", "expected"), [(True, True, 1), (False, False, 0), (None, True, 0)])
def test_the_engine_setting_decides_the_second_process(
    duckdb_engine: str,
    monkeypatch: pytest.MonkeyPatch,
    workers: list[Any],
    setting: bool | None,
    busy: bool,
    expected: int,
) -> None:
    """``DuckDBEngine(prepare_process=...)``: True starts the second process even with every core busy, False never
    starts it, None decides by the load; the pairs are the same."""
    from custdata.matching.engines.duckdb_engine import DuckDBEngine

    load = float(os.cpu_count() or 1) if busy else 0.0
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setattr(_columns, "BATCH", 50)
    records = generate_customers(300, seed=7).records
    expected_pairs = Matcher().find_duplicates(records)
    found = Matcher(engine=DuckDBEngine(prepare_process=setting)).find_duplicates(records)
    if (os.cpu_count() or 1) > 1:
        assert len(workers) == expected
    assert_same(expected_pairs, found)


def test_a_prepare_process_setting_that_is_no_boolean_is_refused(duckdb_engine: str) -> None:
    from custdata.matching.engines.duckdb_engine import DuckDBEngine

    with pytest.raises(ValidationError) as raised:
        DuckDBEngine(prepare_process="yes")  # type: ignore[arg-type]
    assert raised.value.problems[0].path == "prepare_process"


def test_batches_load_in_a_thread_of_their_own_one_at_a_time_and_a_failure_ends_the_run(
    duckdb_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB loads each batch in a thread of its own while the next is normalised: never two batches at once,
    every batch in before the blocking starts, and a batch that fails to load ends the run with its error,
    leaving no thread or temporary folder behind."""
    import threading
    import time

    from custdata.matching.engines import duckdb_engine as module

    monkeypatch.setattr(_columns, "BATCH", 40)
    records = generate_customers(300, seed=7).records
    original = module.DuckDBSession.load_tables
    threads: list[str] = []
    busy = threading.Lock()
    loaded: list[int] = []

    def load_tables(self: Any, tables: dict[str, Any]) -> None:
        assert busy.acquire(blocking=False), "two batches loaded at once"
        try:
            if tables["records"].num_rows:  # not the empty batch that makes sure every table exists
                threads.append(threading.current_thread().name)
            time.sleep(0.01)  # a slow insert: the next batch is handed over meanwhile
            original(self, tables)
            loaded.append(tables["records"].num_rows)
        finally:
            busy.release()

    monkeypatch.setattr(module.DuckDBSession, "load_tables", load_tables)
    expected = Matcher().find_duplicates(records)
    found = Matcher(engine=duckdb_engine).find_duplicates(records)
    assert_same(expected, found)
    assert sum(loaded) == 300
    assert threads and all(name.startswith("custdata-load") for name in threads)

    def failing(self: Any, tables: dict[str, Any]) -> None:
        if len(threads) >= 2:
            raise OSError("disk full")
        load_tables(self, tables)

    threads.clear()
    folders: list[str] = []
    opened = module.DuckDBSession.__init__

    def init(self: Any, *args: Any) -> None:
        opened(self, *args)
        folders.append(self.folder)

    monkeypatch.setattr(module.DuckDBSession, "__init__", init)
    monkeypatch.setattr(module.DuckDBSession, "load_tables", failing)
    with pytest.raises(OSError, match="disk full"):
        Matcher(engine=duckdb_engine).find_duplicates(records)
    assert not any(thread.name.startswith("custdata-load") for thread in threading.enumerate())
    assert folders and not os.path.exists(folders[0])
