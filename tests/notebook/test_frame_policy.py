"""One personal-data policy for every record and DataFrame: ``personal="omit" | "mask" | "reveal"``, in
``custdata.analytics.frames`` and ``custdata.notebook`` alike, with the personal columns taken from the models'
marks. The sentinels of ``tests/domain`` fill every field marked personal, so a leak would be seen."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from personal_sentinels import Sentinels, leaks, with_sentinels

import custdata.analytics.frames as frames
from custdata import ActivityEvent, Address, CommunicationEvent, Customer, EmailAddress, Order, PhoneNumber
from custdata import ValidationError as CustdataValidationError
from custdata.analytics.policy import DEFAULT_POLICY, POLICIES, masked_value
from custdata.domain import personal_fields
from custdata.notebook import PII_FIELDS, result_html, to_pandas, to_records
from custdata.storage import Store, open_store
from custdata.storage.ports import Page
from custdata.storage.sqlite import SQLiteStore
from custdata.testing import strategies as cs

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

pd = pytest.importorskip("pandas")

#: The record of one model, from the analytics module, by the model's class.
RECORD: dict[type, Callable[..., dict[str, Any]]] = {
    Customer: frames.customer_record,
    Order: frames.order_record,
    CommunicationEvent: frames.communication_record,
    ActivityEvent: frames.activity_record,
}
#: The columns of each kind's personal fields.
PERSONAL_COLUMNS: dict[type, tuple[str, ...]] = {
    Customer: frames.PERSONAL_CUSTOMER_COLUMNS,
    Order: frames.PERSONAL_ORDER_COLUMNS,
    CommunicationEvent: frames.PERSONAL_COMMUNICATION_COLUMNS,
    ActivityEvent: frames.PERSONAL_ACTIVITY_COLUMNS,
}

models = st.one_of(cs.customers(), cs.orders(), cs.communication_events(), cs.activity_events())


def rows_of(frame: Any) -> list[dict[str, object]]:
    """The frame's rows as dicts, with pandas' missing values (NaN, NaT, NA) read back as None."""
    return [
        {k: None if pd.api.types.is_scalar(v) and pd.isna(v) else v for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def plain(value: object) -> object:
    """A domain value as a revealed cell holds it: email addresses and phone numbers as their text."""
    return str(value) if isinstance(value, (EmailAddress, PhoneNumber)) else value


@settings(max_examples=40)
@given(models)
def test_the_default_leaves_every_personal_value_out_of_both_modules(record: Any) -> None:
    model, needles = with_sentinels(record)
    kind = type(model)
    texts = [
        to_pandas([model]).to_csv(),
        repr(to_records([model])),
        repr(RECORD[kind](model)),
        repr(RECORD[kind](model, personal=DEFAULT_POLICY)),
    ]
    if kind is Order:
        texts.append(repr(list(frames.order_line_records_of(model))))
    assert not leaks(texts, needles)
    assert list(to_pandas([model]).columns) == list(frames.frame_columns(kind)) == list(to_records([model])[0])
    assert not set(PERSONAL_COLUMNS[kind]) & set(to_records([model])[0])


@settings(max_examples=40)
@given(models)
def test_mask_keeps_the_columns_and_masks_their_values(record: Any) -> None:
    model, needles = with_sentinels(record)
    kind = type(model)
    frame = to_pandas([model], personal="mask")
    (row,) = rows_of(frame)
    assert list(frame.columns) == list(frames.frame_columns(kind, "mask")) == list(frames.frame_columns(kind, "reveal"))
    assert row == RECORD[kind](model, personal="mask") == to_records([model], personal="mask")[0]
    for column in PERSONAL_COLUMNS[kind]:
        assert row[column] == masked_value(getattr(model, column)), column
    assert not leaks([frame.to_csv(), repr(row)], needles)


@settings(max_examples=40)
@given(models)
def test_reveal_shows_the_domain_values_and_only_marked_columns_are_personal(record: Any) -> None:
    model, needles = with_sentinels(record)
    kind = type(model)
    (revealed,) = to_records([model], personal="reveal")
    assert revealed == RECORD[kind](model, personal="reveal")
    assert list(revealed) == list(frames.frame_columns(kind, "reveal"))
    for column in PERSONAL_COLUMNS[kind]:
        assert revealed[column] == plain(getattr(model, column)), column
        # a personal column holds a field the sentinels filled (a message that was not suppressed has no reason)
        assert leaks([str(revealed[column])], needles) or getattr(model, column) is None, column
    for column, value in revealed.items():
        if column not in PERSONAL_COLUMNS[kind]:
            assert not leaks([str(value)], needles), column  # only the columns of marked fields hold their values
    omitted = to_records([model])[0]
    masked = to_records([model], personal="mask")[0]
    assert omitted == {k: v for k, v in revealed.items() if k in omitted} == {k: masked[k] for k in omitted}


# -- both modules give the same frames, from every kind of store -------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens fresh stores of one kind (a SQLite file, a schema of the PostgreSQL server); closed afterwards."""
    opened: list[Store] = []

    def make() -> Store:
        if request.param == "memory":
            store: Store = open_store("memory://")
        elif request.param == "sqlite":
            store = SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db")
        else:
            store = request.getfixturevalue("new_store")()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def seeded(data: st.DataObject, store: Store) -> list[str]:
    """A generated customer with orders, messages and activity, personal fields filled with sentinels, in ``store``."""
    s = Sentinels()
    customer, _ = with_sentinels(data.draw(cs.customers()), s)
    customer = attrs.evolve(customer, merged_into=None, redacted_at=None)
    orders = [
        with_sentinels(attrs.evolve(o, id=f"ord_{i}", customer_id=customer.id), s)[0]
        for i, o in enumerate(data.draw(st.lists(cs.orders(), max_size=2)))
    ]
    events = [
        with_sentinels(attrs.evolve(e, id=f"msg_{i}", customer_id=customer.id, order_id=None), s)[0]
        for i, e in enumerate(data.draw(st.lists(cs.communication_events(), min_size=1, max_size=2)))
    ]
    activity = [
        with_sentinels(attrs.evolve(a, id=f"act_{i}", customer_id=customer.id), s)[0]
        for i, a in enumerate(data.draw(st.lists(cs.activity_events(), max_size=2)))
    ]
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.orders.add_many(orders)
        uow.communications.add_many(events)
        uow.activity.add_many(activity)
        uow.commit()
    needles: list[str] = s.needles
    return needles


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_both_modules_build_the_same_frames_for_each_policy(
    make_store: Callable[[], Store], data: st.DataObject
) -> None:
    with make_store() as store:
        needles = seeded(data, store)
        with store.unit_of_work() as uow:
            stored: dict[type, Page[Any]] = {
                Customer: uow.customers.search(),
                Order: uow.orders.page(),
                CommunicationEvent: uow.communications.page(),
                ActivityEvent: uow.activity.page(),
            }
        built: dict[type, Callable[..., Any]] = {
            Customer: frames.customers_frame,
            Order: frames.orders_frame,
            CommunicationEvent: frames.communications_frame,
            ActivityEvent: frames.activities_frame,
        }
        for policy in POLICIES:
            for kind, page in stored.items():
                analytics = built[kind](store, personal=policy, page_size=1)
                assert list(analytics.columns) == list(frames.frame_columns(kind, policy)), (kind.__name__, policy)
                if page.items:  # (from no models at all, the notebook cannot tell which columns they would have)
                    notebook = to_pandas(page, personal=policy)
                    assert list(analytics.columns) == list(notebook.columns), (kind.__name__, policy)
                    assert rows_of(analytics) == rows_of(notebook), (kind.__name__, policy)
        default = [f(store).to_csv() for f in built.values()]
        default.append(frames.order_lines_frame(store).to_csv())
        assert not leaks(default, needles)
        revealed = frames.customers_frame(store, personal="reveal").to_csv()
        assert leaks([revealed], needles)  # the check above would see a leak


# -- the former keywords ----------------------------------------------------------------------------------------


def customers() -> list[Customer]:
    return [
        Customer(
            "cus_ann",
            T0,
            given_name="Ann",
            email=EmailAddress.parse("ann.roe@example.com"),
            phone=PhoneNumber.parse("+4930123456"),
        )
    ]


@pytest.fixture
def store() -> Iterator[Store]:
    with open_store("memory://") as opened:
        with opened.unit_of_work() as uow:
            uow.customers.add_many(customers())
            uow.commit()
        yield opened


def _deprecated(call: Callable[[], Any], replacement: str) -> Any:
    with pytest.warns(DeprecationWarning, match=f"use {replacement}") as caught:
        result = call()
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name]  # points at the caller
    return result


@pytest.mark.parametrize(("old", "new"), [(True, "reveal"), (False, "omit")])
def test_the_former_personal_flag_maps_to_a_policy(store: Store, old: Any, new: Any) -> None:
    replacement = f'personal="{new}"'
    ann = customers()[0]
    records = _deprecated(lambda: list(frames.customer_records(store, personal=old)), replacement)
    assert records == list(frames.customer_records(store, personal=new))
    assert _deprecated(lambda: frames.customer_record(ann, personal=old), replacement) == frames.customer_record(
        ann, personal=new
    )
    frame = _deprecated(lambda: frames.customers_frame(store, personal=old), replacement)
    assert rows_of(frame) == rows_of(frames.customers_frame(store, personal=new))
    columns = _deprecated(lambda: frames.frame_columns(Customer, old), replacement)
    assert columns == frames.frame_columns(Customer, new)
    assert ("given_name" in records[0]) is old


@pytest.mark.parametrize(("old", "new"), [(True, "reveal"), (False, "mask")])
def test_the_former_reveal_flag_maps_to_a_policy(old: bool, new: Any) -> None:
    replacement = f'personal="{new}"'
    records = _deprecated(lambda: to_records(customers(), reveal=old), replacement)
    assert records == to_records(customers(), personal=new)
    frame = _deprecated(lambda: to_pandas(customers(), reveal=old), replacement)
    assert rows_of(frame) == rows_of(to_pandas(customers(), personal=new))
    assert ("Ann" in repr(records)) is old and "given_name" in records[0]


def test_the_new_keyword_gives_no_warning(store: Store) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for policy in POLICIES:
            to_records(customers(), personal=policy)
            list(frames.customer_records(store, personal=policy))


def test_bad_policies_name_the_keyword(store: Store) -> None:
    calls: list[Callable[[object], object]] = [
        lambda p: frames.customer_record(customers()[0], personal=p),  # type: ignore[arg-type]
        lambda p: frames.customer_records(store, personal=p),  # type: ignore[arg-type]
        lambda p: frames.order_records(store, personal=p),  # type: ignore[arg-type]
        lambda p: frames.order_line_records(store, personal=p),  # type: ignore[arg-type]
        lambda p: frames.communication_records(store, personal=p),  # type: ignore[arg-type]
        lambda p: frames.activity_records(store, personal=p),  # type: ignore[arg-type]
        lambda p: frames.customers_frame(store, personal=p),  # type: ignore[arg-type]
        lambda p: frames.frame_columns(Customer, p),  # type: ignore[arg-type]
        lambda p: to_records(customers(), personal=p),  # type: ignore[arg-type]
        lambda p: to_pandas(customers(), personal=p),  # type: ignore[arg-type]
    ]
    for call in calls:
        for bad in ("hide", "OMIT", None, 1, ["omit"]):
            with pytest.raises(CustdataValidationError) as caught:
                call(bad)
            assert caught.value.problems[0].path == "personal", (call, bad)
    for conflicting in ({"reveal": "yes"}, {"reveal": True, "personal": "mask"}):
        with pytest.raises(CustdataValidationError) as caught:
            to_records(customers(), **conflicting)
        assert caught.value.problems[0].path == "reveal"
    with pytest.raises(CustdataValidationError) as caught:
        frames.frame_columns(dict)
    assert caught.value.problems[0].path == "kind"


# -- result tables: names of personal fields ---------------------------------------------------------------------


def test_result_fields_named_like_a_personal_field_of_a_customer_or_address_are_masked() -> None:
    names = sorted(set(personal_fields(Customer)) | set(personal_fields(Address)))
    assert set(names) <= PII_FIELDS
    secret = {name: f"Qz secret{i}x" for i, name in enumerate(names)}
    result_type = attrs.make_class("Result", {name: attrs.field() for name in names}, frozen=True)
    result = result_type(**secret)
    masked = result_html(result, reveal=False)
    assert not [name for name, value in secret.items() if value.split()[1] in masked]
    revealed = result_html(result, reveal=True)
    assert all(value.split()[1] in revealed for value in secret.values())
