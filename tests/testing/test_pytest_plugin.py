"""custdata's pytest plugin, proven on small projects of their own run by pytest in a fresh interpreter.

A store or notifier with one deliberate defect runs its contract: the failure shows the values the kit compared
(its assertions are rewritten by pytest) and the promise that broke. The plugin loads without the test extra and
leaves such a project's other tests alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import custdata

pytest_plugins = ["pytester"]

#: The folder that holds the custdata package under test: the projects below import this copy of it.
SOURCE = str(Path(custdata.__file__).resolve().parent.parent)
#: Load the plugin by its module, and not a second time through the entry point of an installed custdata.
WITH_PLUGIN = ("-p", "no:custdata", "-p", "custdata.pytest_plugin")
WITHOUT_PLUGIN = ("-p", "no:custdata")

BROKEN_STORES = """
from custdata.storage.memory import MemoryCustomerRepository, MemoryStore
from custdata.testing import StoreContract


class DropsOne(MemoryCustomerRepository):
    def get_many(self, ids):
        found = super().get_many(ids)
        if len(found) > 1:
            del found[max(found)]
        return found


class CaseSensitive(MemoryCustomerRepository):
    def find_by_email(self, email):
        wanted = str(email).strip()
        return [c for c in super().find_by_email(email) if wanted in {str(e) for e in (c.email, *c.other_emails)}]


class BrokenStore(MemoryStore):
    repository = MemoryCustomerRepository

    def unit_of_work(self):
        uow = super().unit_of_work()
        uow.customers = self.repository(uow)
        return uow


class TestDropsOne(StoreContract):
    def make_store(self):
        store = BrokenStore()
        store.repository = DropsOne
        return store


class TestCaseSensitive(StoreContract):
    def make_store(self):
        store = BrokenStore()
        store.repository = CaseSensitive
        return store
"""

BROKEN_NOTIFIER = """
from custdata.notify import RecordingNotifier, SendResult
from custdata.testing import Delivery, NotifierContract, NotifierHarness


class DropsTheUnsubscribeLink:
    def __init__(self):
        self.far_side = []

    def send(self, message):
        self.far_side.append(
            Delivery(identity=message.delivery_id, recipient=message.recipient, text=message.text,
                     subject=message.subject, html=message.html)
        )
        return SendResult.sent(message.delivery_id)


class TestDropsTheUnsubscribeLink(NotifierContract):
    def make_notifier(self):
        notifier = DropsTheUnsubscribeLink()
        return NotifierHarness(notifier=notifier, received=lambda: notifier.far_side)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytest project in a temporary folder whose runs import the custdata under test."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    return pytester


def test_a_broken_store_shows_the_values_compared_and_the_promise_it_broke(project: pytest.Pytester) -> None:
    project.makepyfile(test_my_store=BROKEN_STORES)
    result = project.runpytest_subprocess(
        *WITH_PLUGIN, "-k", "get_many_returns_what_exists or find_by_email_uses_the_canonical_form", timeout=300
    )
    result.assert_outcomes(passed=2, failed=2)  # each store breaks one of the two promises
    out = result.stdout.str()
    # get_many() dropped one of two customers: pytest's own comparison of the two dictionaries
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: get_many() must return every existing entity asked for, and only those",
            "*assert {*} == {*}",
            "*Right contains 1 more item:*",
        ]
    )
    # find_by_email() ignored the canonical form: the probe and the empty result are shown
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the email 'jane.doe@example.com' must find its customer whatever its case or spaces",
            "*assert [] == [Customer(*",
        ]
    )
    # and each failure names the kit, the check and the promise
    result.stdout.fnmatch_lines(
        [
            "*- custdata contract -*",
            "StoreContract.test_get_many_returns_what_exists_keyed_by_id found this promise broken:",
            "get_many() returns exactly the entities that exist among the ids asked for, keyed by id;*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*- custdata contract -*",
            "StoreContract.test_find_by_email_uses_the_canonical_form found this promise broken:",
            "find_by_email() matches the canonical form (case-folded, trimmed) of the primary and other emails,*",
        ]
    )
    assert out.count("- custdata contract -") == 2


def test_a_broken_notifier_shows_the_values_compared_and_the_promise_it_broke(project: pytest.Pytester) -> None:
    stricter = """
class TestStricter(TestDropsTheUnsubscribeLink):
    def test_marketing_message_carries_its_unsubscribe_url(self):
        assert "own check" == "of the project"
"""
    project.makepyfile(test_my_notifier=BROKEN_NOTIFIER + stricter)
    result = project.runpytest_subprocess(*WITH_PLUGIN, "-k", "unsubscribe_url", timeout=300)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: a marketing message must carry its unsubscribe URL",
            "*assert None == 'https://shop.example/unsubscribe?token=abc123'",
            "*- custdata contract -*",
            "NotifierContract.test_marketing_message_carries_its_unsubscribe_url found this promise broken:",
            "A marketing message arrives with its unsubscribe URL.",
        ]
    )
    # a check the project overrides is its own: its failure names no promise of the kit
    assert result.stdout.str().count("- custdata contract -") == 1


def test_the_kits_are_rewritten_even_with_the_plugin_turned_off(project: pytest.Pytester) -> None:
    """The kit registers its modules for rewriting itself, ahead of importing them; the plugin adds the promise."""
    project.makepyfile(test_my_notifier=BROKEN_NOTIFIER)
    result = project.runpytest_subprocess(*WITHOUT_PLUGIN, "-k", "marketing", timeout=300)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert None == 'https://shop.example/unsubscribe?token=abc123'"])
    assert "custdata contract" not in result.stdout.str()


def test_without_the_test_extra_the_plugin_loads_and_only_the_kits_fail(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project with pytest but without Hypothesis keeps running its own tests with custdata installed; a module
    that imports the kits fails to import with the command that installs them."""
    project.makepyfile(
        test_plain="def test_mine():\n    assert 1 + 1 == 2\n",
        test_kits="from custdata.testing import StoreContract\n",
    )
    # Without Hypothesis installed there is no entry point of its own to load: only the plugins named below load.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    script = (
        "import sys\n"
        "sys.modules['hypothesis'] = None  # as if it were not installed\n"
        "import pytest\n"
        f"raise SystemExit(pytest.main([*{WITH_PLUGIN!r}, '-p', 'no:cacheprovider', '--continue-on-collection-errors']))\n"
    )
    result = project.run(sys.executable, "-c", script, timeout=300)
    result.assert_outcomes(passed=1, errors=1)
    assert (
        "MissingExtraError: custdata.testing needs the optional dependency 'hypothesis'; "
        "install it with: pip install 'custdata[test]'"
    ) in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the collection error, not a crash of pytest
