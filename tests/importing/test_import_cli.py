"""``custdata import`` end to end: the real command on real files and a real SQLite store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CUSTDATA_STORE"}
    return subprocess.run(
        [sys.executable, "-m", "custdata", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_shopify_customers_then_orders_then_again(tmp_path: Path) -> None:
    for name in ("shopify_customers.csv", "shopify_orders.json"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    first = run_cli("import", "customers", "shopify_customers.csv", "--format", "shopify-csv", cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    assert "4 read, 3 imported, 0 already in the store, 1 rejected" in first.stdout
    rejects = (tmp_path / "shopify_customers.csv.rejects.csv").read_text().splitlines()
    assert rejects[0] == "line,field,reason,outcome" and rejects[1].startswith("4,Email,")
    orders = run_cli("import", "orders", "shopify_orders.json", cwd=tmp_path)
    assert orders.returncode == 1 and "2 imported" in orders.stdout and "1 customers added" in orders.stdout
    again = run_cli("import", "orders", "shopify_orders.json", cwd=tmp_path)
    assert "0 imported, 2 already in the store" in again.stdout
    assert (tmp_path / "custdata.db").exists()


def test_clean_file_exits_zero_and_removes_old_rejects(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"Kundennummer": "k1", "Mail": "k1@example.com"}\n')
    stale = tmp_path / "c.jsonl.rejects.csv"
    stale.write_text("line,field,reason\n")
    result = run_cli(
        "import",
        "customers",
        "c.jsonl",
        "--map",
        "id=Kundennummer",
        "--map",
        "email=Mail",
        "--store",
        "s.db",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "1 imported" in result.stdout and not stale.exists()


def test_huge_numbers_are_rejects_not_a_crash_nor_a_wrong_total(tmp_path: Path) -> None:
    huge = "1" + "0" * 29
    (tmp_path / "c.csv").write_text("id,email\nc1,jo@example.com\n")
    (tmp_path / "o.csv").write_text(
        "order_id,customer_id,currency,placed_at,sku,quantity,unit_price\n"
        f"o1,c1,EUR,2025-06-01,A,{huge},99.99\n"
        f"o2,c1,EUR,2025-06-01,A,1,{huge}\n"
        "o3,c1,EUR,2025-06-01,A,2,99.99\n"
    )
    assert run_cli("import", "customers", "c.csv", cwd=tmp_path).returncode == 0
    result = run_cli("import", "orders", "o.csv", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "3 read, 1 imported, 0 already in the store, 2 rejected" in result.stdout
    rejects = (tmp_path / "o.csv.rejects.csv").read_text().splitlines()
    assert [line.split(",")[:2] for line in rejects[1:]] == [["2", "quantity"], ["3", "unit_price"]]
    assert all("too large" in line for line in rejects[1:])


def test_a_registered_customer_after_a_guest_checkout_is_stored_and_reported(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text(
        "order_id,customer_email,currency,placed_at,sku,quantity,unit_price\no1,bo@example.com,EUR,2025-06-01,A,1,9\n"
    )
    (tmp_path / "c.csv").write_text("email,given_name\nbo@example.com,Bo\n")
    orders = run_cli("import", "orders", "o.csv", cwd=tmp_path)
    assert orders.returncode == 0 and "1 customers added with their orders" in orders.stdout
    customers = run_cli("import", "customers", "c.csv", cwd=tmp_path)
    assert customers.returncode == 0, customers.stderr
    assert (
        "1 imported" in customers.stdout and "1 added beside a customer record with the same email" in customers.stdout
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("import", "customers", "missing.csv"), 3, "no such file"),
        (("import", "customers", "c.csv", "--map", "mail=x"), 3, "is not a field"),
        (("import", "customers", "c.csv", "--map", "email=Nope"), 3, "is not in the file"),
        (("import", "customers", "o.json"), 2, "use 'custdata import orders'"),
        (("import", "orders", "c.csv", "--format", "shopify-csv"), 2, "use 'custdata import customers'"),
        (("import", "customers", "c.csv", "--source", "Bad Name"), 3, "platform"),
        (("import", "customers", "bad.csv"), 3, "not UTF-8"),
        (("import", "things", "c.csv"), 2, "invalid choice"),
    ],
)
def test_errors_are_messages_with_exit_codes(tmp_path: Path, args: tuple[str, ...], code: int, message: str) -> None:
    (tmp_path / "c.csv").write_text("id,email\n1,a@example.com\n")
    (tmp_path / "o.json").write_text('{"orders": []}')
    (tmp_path / "bad.csv").write_bytes("id,email\n1,a@example.com\n".encode("utf-16"))
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_help(tmp_path: Path) -> None:
    result = run_cli("import", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "rejects" in result.stdout and "--map" in result.stdout


def test_customers_with_worker_processes_give_the_outcome_of_one(tmp_path: Path) -> None:
    (tmp_path / "shopify_customers.csv").write_bytes((DATA / "shopify_customers.csv").read_bytes())
    outcome = []
    for jobs in ("1", "2"):
        done = run_cli(
            "import",
            "customers",
            "shopify_customers.csv",
            "--store",
            f"sqlite:///shop{jobs}.db",
            "--jobs",
            jobs,
            "-q",
            cwd=tmp_path,
        )
        outcome.append((done.returncode, done.stdout, (tmp_path / "shopify_customers.csv.rejects.csv").read_bytes()))
    assert outcome[1] == outcome[0]
    assert outcome[0][0] == 1 and "3 imported" in outcome[0][1]


@pytest.mark.parametrize(("kind", "jobs"), [("orders", "2"), ("customers", "-1")])
def test_jobs_is_for_customers_and_counts_processes(tmp_path: Path, kind: str, jobs: str) -> None:
    name = "shopify_orders.json" if kind == "orders" else "shopify_customers.csv"
    (tmp_path / name).write_bytes((DATA / name).read_bytes())
    done = run_cli("import", kind, name, "--jobs", jobs, cwd=tmp_path)
    assert done.returncode == 2 and "--jobs" in done.stderr
