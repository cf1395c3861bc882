"""Every optional dependency that is missing raises one error, ``custdata.MissingExtraError``, naming the extra."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from custdata import MissingExtraError


def _in_a_fresh_interpreter(blocked: str, code: str) -> str:
    script = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None  # as if it were not installed\n"
        "import custdata\n"
        "try:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except custdata.MissingExtraError as exc:\n"
        "    print(type(exc).__name__, exc.module, exc.extra, isinstance(exc, ImportError), '|', exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("blocked", "code", "expected"),
    [
        ("rapidfuzz", "import custdata.matching", "rapidfuzz matching True | custdata.matching needs"),
        (
            "nicknames",
            "from custdata.matching import generate_customers\ngenerate_customers(50, seed=1)",
            "nicknames matching True | the synthetic customer generator needs",
        ),
        (
            "jinja2",
            "from custdata.workflows import TemplateRegistry, default_templates\n"
            "TemplateRegistry(default_templates()).render('order_confirmation', 'email', 'en', {})",
            "jinja2 workflows True | custdata's message templates need",
        ),
        (
            "psycopg",
            "custdata.open_store('postgresql://u@127.0.0.1:1/db')",
            "psycopg postgres True | the PostgreSQL store needs",
        ),
        (
            "pandas",
            "import custdata.analytics as a\na.historic_clv([]).to_pandas()",
            "pandas notebook True | this needs",
        ),
    ],
)
def test_a_missing_extra_is_named_with_its_install_command(blocked: str, code: str, expected: str) -> None:
    out = _in_a_fresh_interpreter(blocked, code)
    head, _, message = out.partition(" ")
    assert head == "MissingExtraError"
    assert message.startswith(expected.split(" | ")[0])
    assert expected.split(" | ")[1] in message
    assert message.endswith(f"pip install 'custdata[{expected.split()[1]}]'")


def test_the_error_is_one_class_that_survives_pickling() -> None:
    import custdata.analytics

    assert custdata.analytics.MissingExtraError is MissingExtraError
    assert issubclass(MissingExtraError, custdata.CustdataError) and issubclass(MissingExtraError, ImportError)
    error = MissingExtraError("psycopg", "postgres", "the PostgreSQL store")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.module, copy.extra, copy.name) == (
        MissingExtraError,
        str(error),
        "psycopg",
        "postgres",
        "psycopg",
    )
