"""The review page in a real browser (Debian's chromium, headless, driven by selenium): it renders the pairs from a
``file://`` URL with no script error, shows no personal value unless it was made with ``--reveal`` and asked to,
and the decisions it saves are a file that ``custdata dedupe --apply-decisions`` carries out.

In CI a missing browser fails these tests (``.ci/install-browser`` installs it); elsewhere they are skipped."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli
from required_extras import require
from test_dedupe_review import _person, shop

from custdata.storage import open_store

__all__ = ["shop"]

webdriver = require("selenium.webdriver", "test")
By = require("selenium.webdriver.common.by", "test").By

PERSONAL = ("Adelheid", "Quenstedt", "adelheid.q", "other@example", "4930901820", "Kastanienallee", "10435", "Berlin")
HOSTILE = "</script><img src=x onerror=\"document.title='owned'\">"


def _programs() -> tuple[str, str]:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        reason = "chromium and chromedriver are not installed (run .ci/install-browser)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the browser, but {reason}", pytrace=False)
        pytest.skip(reason)
    return browser, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """A headless chromium with a fresh profile that downloads into its own folder, and that folder."""
    binary, driver_path = _programs()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver, downloads
    finally:
        driver.quit()


def _severe(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def _wait_for_file(folder: Path, name: str, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    target = folder / name
    while time.monotonic() < deadline:
        if target.exists() and not list(folder.glob("*.crdownload")) and target.stat().st_size > 0:
            return target
        time.sleep(0.1)
    raise AssertionError(f"no {name} in {folder}: {sorted(p.name for p in folder.iterdir())}")


def _card(driver: Any, left: str) -> Any:
    for section in driver.find_elements(By.CSS_SELECTOR, "section.pair"):
        if section.find_element(By.TAG_NAME, "h2").text.split(". ", 1)[1].startswith(left + " "):
            return section
    raise AssertionError(f"no pair of {left} on the page")


def test_the_masked_page_decides_pairs_and_its_file_is_applied(
    shop: Path, tmp_path: Path, browser: tuple[Any, Path]
) -> None:
    driver, downloads = browser
    made = run_cli("dedupe", "--store", str(shop), "--review-file", "queue.html", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    page = tmp_path / "queue.html"
    source = page.read_text(encoding="utf-8")
    for value in PERSONAL:
        assert value.lower() not in source.lower(), value
    driver.get(page.as_uri())
    pairs = driver.find_elements(By.CSS_SELECTOR, "section.pair")
    assert len(pairs) == 2
    text = driver.find_element(By.TAG_NAME, "body").text
    assert "cus_account ~ cus_copy" in text and "cus_john ~ cus_jon" in text
    assert "registered account" in text and "phone" in text
    for value in PERSONAL:
        assert value.lower() not in text.lower(), value
    assert not driver.find_elements(By.CSS_SELECTOR, "button.show")  # nothing to show

    _card(driver, "cus_account").find_element(By.CSS_SELECTOR, "button[data-decision='same']").click()
    _card(driver, "cus_john").find_element(By.CSS_SELECTOR, "button[data-decision='not_same']").click()
    assert "2 of 2 pairs decided" in driver.find_element(By.ID, "progress").text
    driver.find_element(By.ID, "save").click()
    saved = _wait_for_file(downloads, "custdata-decisions.json")
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert {(d["left"], d["decision"]) for d in document["decisions"]} == {
        ("cus_account", "same"),
        ("cus_john", "not_same"),
    }
    assert _severe(driver) == []

    applied = run_cli("dedupe", "--store", str(shop), "--apply-decisions", str(saved), cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "merged 1, marked not the same 1, skipped 0, refused 0" in applied.stdout
    listed = run_cli("dedupe", "--json", "--store", str(shop), cwd=tmp_path)
    assert listed.stdout.strip() == ""


def test_the_revealed_page_shows_values_only_when_asked_and_only_as_text(
    tmp_path: Path, browser: tuple[Any, Path]
) -> None:
    driver, downloads = browser
    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(
            [
                _person("cus_a", "Adelheid", "Quenstedt", "adelheid.q@example.org", "+4930901820", days=0),
                _person("cus_b", "Adelheid", "Quenstedt", "other@example.net", "+4930901820", days=1, street=HOSTILE),
            ]
        )
        uow.commit()
    made = run_cli(
        "dedupe", "--store", str(path), "--auto-merge", "60", "--review-file", "q.html", "--reveal", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    driver.get((tmp_path / "q.html").as_uri())
    card = _card(driver, "cus_a")
    assert "Adelheid" not in card.text  # behind the button until asked
    card.find_element(By.CSS_SELECTOR, "button.show").click()
    assert "Adelheid" in card.text and "adelheid.q@example.org" in card.text
    assert HOSTILE in card.text  # shown as text, never run as markup
    assert driver.title != "owned" and not driver.find_elements(By.CSS_SELECTOR, "img")
    card.find_element(By.CSS_SELECTOR, "button.show").click()
    assert "Adelheid" not in card.text
    driver.find_element(By.ID, "save").click()
    saved = _wait_for_file(downloads, "custdata-decisions.json")
    assert [d["decision"] for d in json.loads(saved.read_text(encoding="utf-8"))["decisions"]] == ["skip"]
    assert _severe(driver) == []
