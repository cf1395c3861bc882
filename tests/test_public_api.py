"""The public surface is curated: ``__all__`` is sorted, complete and every name is documented."""

from __future__ import annotations

import custdata
import custdata.domain

EXPECTED = {
    "ActivityEvent",
    "ActivityId",
    "Address",
    "Channel",
    "CommunicationEvent",
    "CommunicationId",
    "CommunicationStatus",
    "Company",
    "CompanyId",
    "CompanyMembership",
    "CompanyRole",
    "ConflictError",
    "ConsentPurpose",
    "ConsentRecord",
    "ConsentState",
    "CurrencyMismatchError",
    "CustdataError",
    "Customer",
    "CustomerId",
    "DeliveryPreferences",
    "Direction",
    "EmailAddress",
    "ErrorCode",
    "ExternalRef",
    "Identifier",
    "IntegrityError",
    "InvalidTransitionError",
    "MissingExtraError",
    "Money",
    "NotFoundError",
    "ORDER_TRANSITIONS",
    "OperationalError",
    "OptInLevel",
    "Order",
    "OrderId",
    "OrderLine",
    "OrderStatus",
    "PhoneNumber",
    "Preferences",
    "Problem",
    "ProgrammingError",
    "Return",
    "ReturnLine",
    "ReturnReason",
    "ReturnStatus",
    "SCHEMA_VERSION",
    "Shipment",
    "StatusChange",
    "StoreError",
    "TokenError",
    "Topic",
    "TrackingEvent",
    "TrackingStatus",
    "ValidationError",
    "from_dict",
    "from_json",
    "make_converter",
    "open_store",
    "to_dict",
    "to_json",
}


def test_all_is_sorted_and_unique() -> None:
    assert list(custdata.__all__) == sorted(set(custdata.__all__))


def test_all_matches_the_curated_surface() -> None:
    # Adding or removing a public name is a deliberate act: update EXPECTED, the docs and the changelog.
    assert set(custdata.__all__) == EXPECTED


def test_every_public_name_exists_and_is_documented() -> None:
    for name in custdata.__all__:
        obj = getattr(custdata, name)
        if callable(obj) and not name.isupper():
            assert obj.__doc__, f"custdata.{name} has no docstring"


def test_public_names_come_from_custdata() -> None:
    for name in custdata.__all__:
        module = getattr(getattr(custdata, name), "__module__", "custdata")
        assert module.startswith("custdata"), name


def test_importing_custdata_does_not_import_optional_dependencies() -> None:
    import subprocess
    import sys

    code = (
        "import sys, custdata, custdata.domain, custdata.serialization\n"
        "heavy = {'psycopg', 'numpy', 'scipy', 'pandas', 'matplotlib', 'rapidfuzz', 'jellyfish', 'hypothesis', 'sqlite3'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_domain_package_has_no_io_imports() -> None:
    import ast
    from pathlib import Path

    forbidden = {"sqlite3", "psycopg", "smtplib", "socket", "urllib", "http", "requests", "os", "subprocess"}
    allowed = {("custdata.domain.ids", "os")}  # os.urandom for generated ids, no I/O
    for path in Path(custdata.domain.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        module = f"custdata.domain.{path.stem}"
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            for name in names:
                assert name not in forbidden or (module, name) in allowed, f"{module} imports {name}"


def test_every_public_name_is_mentioned_in_the_docs() -> None:
    from pathlib import Path

    docs = "\n".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "docs").glob("*.md"))
    missing = [
        name
        for name in custdata.__all__
        if f"`{name}" not in docs and f"{name}(" not in docs and f".{name}" not in docs
    ]
    assert not missing, f"not documented in docs/: {missing}"
