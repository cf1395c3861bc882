"""The DuckDB engine's memory: a limit it is given is the limit DuckDB runs under, a tiny one still gives the same
pairs (what does not fit spills to the run's own folder), a limit that is no size is refused naming the option,
and the folder is gone afterwards, after a failed run too."""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata import ValidationError
from custdata.matching import CustomerRecord, Matcher, generate_customers
from custdata.matching.engines import DuckDBEngine
from custdata.matching.engines import duckdb_engine as engine_module


@pytest.fixture(autouse=True)
def _duckdb() -> None:
    require("duckdb", "scale")


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """What each DuckDB session of the test saw: its folder and its settings."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[dict[str, Any]] = []
    original_init = engine_module.DuckDBSession.__init__

    def init(self: Any, settings: DuckDBEngine | None = None) -> None:
        original_init(self, settings)
        seen.append(
            {
                "folder": self.folder,
                "memory_limit": self.setting("memory_limit"),
                "temp_directory": self.setting("temp_directory"),
                "preserve_insertion_order": self.setting("preserve_insertion_order"),
                "threads": self.setting("threads"),
            }
        )

    monkeypatch.setattr(engine_module.DuckDBSession, "__init__", init)
    return seen


def test_a_tiny_limit_gives_the_same_pairs_under_that_limit(sessions: list[dict[str, Any]]) -> None:
    records = generate_customers(4000, seed=8).records
    expected = Matcher().find_duplicates(records)
    found = Matcher(engine=DuckDBEngine(memory_limit="64MiB", threads=1)).find_duplicates(records)
    assert found == expected and len(found.pairs) > 500
    (seen,) = sessions
    assert seen["memory_limit"] == "64.0 MiB"
    assert seen["temp_directory"] == f"{seen['folder']}/spill"
    assert seen["preserve_insertion_order"] is False and seen["threads"] == 1
    assert not os.path.exists(seen["folder"])


def test_the_default_is_one_gigabyte_and_the_folder_goes_after_a_failed_run(sessions: list[dict[str, Any]]) -> None:
    Matcher(engine="duckdb").find_duplicates([CustomerRecord("a", given_name="Ana")])
    with pytest.raises(ValidationError):
        Matcher(engine=DuckDBEngine()).find_duplicates([{"id": "a"}, {"id": "a"}])
    assert [s["memory_limit"] for s in sessions] == ["953.6 MiB", "953.6 MiB"]  # 1GB = 10**9 bytes
    assert all(not os.path.exists(s["folder"]) for s in sessions)
    assert not glob.glob(f"{tempfile.gettempdir()}/custdata-duckdb-*")


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(["1", "GB", "-1GB", "1 XB", "1e3MB", "0.5 KB", "63MiB", "1GB; DROP TABLE x"]),
        st.integers(),
        st.none(),
    )
)
def test_a_limit_that_is_no_size_or_too_small_is_refused_naming_the_option(limit: object) -> None:
    try:
        DuckDBEngine(memory_limit=limit)  # type: ignore[arg-type]
    except ValidationError as exc:
        assert [p.path for p in exc.problems] == ["memory_limit"]
    else:
        assert isinstance(limit, str) and engine_module.memory_bytes(limit) >= engine_module.MIN_MEMORY


@pytest.mark.parametrize("threads", [0, -1, True, 1.5, "2"])
def test_threads_must_be_a_positive_integer(threads: object) -> None:
    with pytest.raises(ValidationError) as raised:
        DuckDBEngine(threads=threads)  # type: ignore[arg-type]
    assert raised.value.problems[0].path == "threads"


def test_a_matcher_takes_a_duckdb_engine_and_nothing_else() -> None:
    assert Matcher(engine=DuckDBEngine(memory_limit="512MB")).engine == DuckDBEngine(memory_limit="512MB")
    with pytest.raises(ValidationError) as raised:
        Matcher(engine=object())  # type: ignore[arg-type]
    assert raised.value.problems[0].path == "engine"
