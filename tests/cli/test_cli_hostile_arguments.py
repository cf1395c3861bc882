"""Arguments of the commands other than import and dedupe, in any shape: a message and a documented exit code,
never an internal error (exit 70); and the library calls behind them refuse the same values by name."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from custdata import ProgrammingError, ValidationError
from custdata.analytics.segments import inactive_for
from custdata.cli import ExitCode, main
from custdata.commerce.demand import regional_demand_report
from custdata.storage import open_store

DOCUMENTED = {int(code) for code in ExitCode} - {int(ExitCode.INTERNAL)}


def call(*argv: str) -> tuple[int, str]:
    """The exit code and standard error of ``custdata ARGV``, run in this process."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refusing the command line
            code = int(exc.code or 0)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("shop") / "shop.db"
    with contextlib.chdir(path.parent):  # the demo writes its messages into the current folder
        code, err = call("demo", "--store", str(path), "--customers", "40", "--days", "1", "--seed", "3")
    assert code == 0, err
    yield str(path)


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.one_of(
    st.datetimes(timezones=st.none() | offsets).map(datetime.isoformat),
    st.sampled_from(["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]),
    st.text(max_size=30),
)


@settings(max_examples=40)
@given(st.sampled_from(["segments", "demand"]), moments)
def test_any_as_of_gets_a_message_and_a_documented_exit_code(shop: str, command: str, when: str) -> None:
    code, err = call(command, "--store", shop, "--as-of", when)
    assert code in DOCUMENTED and "internal error" not in err
    if code != 0:
        assert "as-of" in err or "as_of" in err


@settings(max_examples=25)
@given(st.integers(-10, 10**30))
def test_any_number_of_inactive_days_gets_a_message_and_a_documented_exit_code(shop: str, days: int) -> None:
    code, err = call("segments", "--store", shop, "--inactive-days", str(days))
    assert code in DOCUMENTED and "internal error" not in err
    if code != 0:
        assert "days" in err


stores = st.tuples(
    st.sampled_from(["", "sqlite:///", "sqlite://", "SQLITE:///", "memory://", "ftp://", "postgresql://[", "/"]),
    st.text(st.characters(blacklist_characters="]"), max_size=20),
).map("".join)


@settings(max_examples=40)
@given(st.sampled_from(["export", "segments", "dead-letters", "demand", "erase"]), stores)
def test_any_store_argument_gets_a_message_and_a_documented_exit_code(shop: str, command: str, store: str) -> None:
    extra = {"export": ["customers"], "erase": ["--yes", "cus_nobody"]}.get(command, [])
    with contextlib.chdir(Path(shop).parent):  # a relative path names a file beside the shop, never created
        code, err = call(command, "--store", store, *extra)
    assert code in DOCUMENTED and "internal error" not in err


@pytest.mark.parametrize("url", ["sqlite:///shop\x00.db", "memory://\n", "postgresql://[::1/x", "sqlite://[/x"])
def test_open_store_refuses_a_url_it_cannot_read_as_a_programming_error(url: str) -> None:
    with pytest.raises(ProgrammingError):
        open_store(url)


@settings(max_examples=60)
@given(st.datetimes(timezones=offsets), st.integers(1, 520))
@example(datetime(1, 1, 1, tzinfo=UTC), 1)
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), 1)
@example(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))), 1)
@example(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), 520)
def test_a_demand_report_at_any_moment_is_made_or_refused_at_as_of(as_of: datetime, weeks: int) -> None:
    with open_store("memory://") as store:
        try:
            report = regional_demand_report(store, as_of=as_of, weeks=weeks)
        except ValidationError as exc:
            assert [p.path for p in exc.problems] == ["as_of"]
            return
        assert len(report.weeks) in (weeks, weeks + 1) and report.weeks[-1].startswith(
            str(as_of.astimezone(UTC).isocalendar().year).zfill(4)
        )


def test_a_report_in_the_last_week_of_the_calendar_is_made() -> None:
    with open_store("memory://") as store:
        report = regional_demand_report(store, as_of=datetime(9999, 12, 31, 23, 59, tzinfo=UTC), weeks=2)
    assert report.weeks == ("9999-W51", "9999-W52")


@given(st.integers(timedelta.max.days + 1, 10**40))
def test_inactive_for_refuses_more_days_than_a_time_span_holds(days: int) -> None:
    with pytest.raises(ValidationError, match="days"):
        inactive_for(days)


@settings(max_examples=30)
@given(
    st.sampled_from(
        [
            ("export", "--store", "{shop}", "customers", "-o", "{path}"),
            ("dispatch", "--store", "{shop}", "--folder", "{path}"),
            ("demo", "--store", "{path}", "--customers", "5"),
            ("segments", "--store", "{path}"),
        ]
    ),
    # a path, never an option: text after "p" (argparse reads an argument starting with "-" as an option)
    st.tuples(st.text(max_size=8), st.text(max_size=8)).map(lambda t: f"p{t[0]}\x00{t[1]}"),
)
def test_a_path_with_a_nul_character_gets_a_message_and_a_documented_exit_code(
    shop: str, argv: tuple[str, ...], path: str
) -> None:
    with contextlib.chdir(Path(shop).parent):
        code, err = call(*(a.format(shop=shop, path=path) for a in argv))
    assert code in DOCUMENTED and "internal error" not in err
    assert code != 0 and "NUL" in err
