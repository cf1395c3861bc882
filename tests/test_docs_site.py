"""The documentation site builds with MkDocs in strict mode: no broken links, no page left out, no bad reference,
and the pages read as a reader sees them (no raw Sphinx roles in the API reference, the example notebook as a page)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import griffe
import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
ROLE_NAMES = ("class", "func", "meth", "data", "mod", "attr", "exc", "obj", "const", "type")
#: A Sphinx role as it shows in the text of a page once the HTML tags are gone, e.g. ``:meth:Store.unit``.
RAW_ROLE = re.compile(r"(?<![\w:]):(?:py:)?(?:" + "|".join(ROLE_NAMES) + r"):[`\w.~!]")
TAG = re.compile(r"<[^>]+>")


def _load_sphinx_roles() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_docs_sphinx_roles", ROOT / "docs_tools" / "sphinx_roles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sphinx_roles = _load_sphinx_roles()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return site_dir


def test_site_builds_without_warnings(site: Path) -> None:
    assert (site / "reference" / "custdata" / "index.html").is_file()


def raw_roles(html: str) -> list[str]:
    """The raw Sphinx roles left in the text of an HTML page, with a little context each."""
    text = TAG.sub("", html)
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in RAW_ROLE.finditer(text)]


def test_no_page_shows_raw_sphinx_roles(site: Path) -> None:
    pages = sorted(site.glob("**/*.html"))
    assert len([page for page in pages if page.is_relative_to(site / "reference")]) >= 15
    found = {page.relative_to(site).as_posix(): raw_roles(page.read_text(encoding="utf-8")) for page in pages}
    found = {page: roles for page, roles in found.items() if roles}
    assert not found, f"raw Sphinx roles in the built site: {found}"


def test_roles_become_links_to_the_objects_they_name(site: Path) -> None:
    pages = "".join(page.read_text(encoding="utf-8") for page in (site / "reference").glob("**/*.html"))
    links = re.findall(r'<a class="autorefs autorefs-internal"[^>]*href="([^"]*)"[^>]*><code>([^<]*)</code></a>', pages)
    assert len(links) >= 50
    assert all(href.split("#")[-1].startswith("custdata") for href, _ in links)


def test_the_example_notebook_is_a_page_of_the_site(site: Path) -> None:
    page = site / "example" / "index.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    text = TAG.sub("", html)
    assert "jp-Cell" in html and "custdata in a notebook" in text and "customer_360(" in text


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    docs = ROOT / "docs"
    pages = sorted(
        p.relative_to(docs).as_posix()
        for p in [*docs.glob("**/*.md"), *docs.glob("**/*.ipynb")]
        if ".ipynb_checkpoints" not in p.parts
    )
    missing = [page for page in pages if f" {page}\n" not in config]
    assert not missing, f"add these pages to the nav in mkdocs.yml: {missing}"


# The conversion itself, on a small package loaded by griffe.


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> griffe.Module:
    root = tmp_path_factory.mktemp("pkg")
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text(
        '"""The shop; see :class:`~shop.model.Customer` and :mod:`shop.model`."""\n'
        "from shop.model import Customer\n"
        '__all__ = ["Customer"]\n',
        encoding="utf-8",
    )
    (root / "shop" / "model.py").write_text(
        "class Customer:\n"
        '    """A customer; :meth:`rename` changes the name, :attr:`.name` holds it.\n\n'
        "    ```python\n"
        "    text = ':class:`Kept`'\n"
        "    ```\n"
        '    """\n\n'
        "    name: str\n\n"
        "    def rename(self, name: str) -> None:\n"
        '        """Rename; raises :exc:`ValueError`, see :class:`the customer <Customer>`."""\n',
        encoding="utf-8",
    )
    loader = griffe.GriffeLoader(
        search_paths=[str(root)], extensions=griffe.load_extensions(sphinx_roles.SphinxRoles())
    )
    return loader.load("shop")  # type: ignore[return-value]


def _refs(text: str) -> list[tuple[str, str]]:
    return re.findall(r'<autoref identifier="([^"]*)" optional><code>([^<]*)</code></autoref>', text)


def test_roles_resolve_in_the_scope_of_the_documented_object(package: griffe.Module) -> None:
    assert package.docstring is not None
    assert _refs(package.docstring.value) == [("shop.model.Customer", "Customer"), ("shop.model", "shop.model")]
    customer = package["model"]["Customer"]
    assert _refs(customer.docstring.value) == [
        ("shop.model.Customer.rename", "rename()"),
        ("shop.model.Customer.name", "name"),
    ]
    assert "text = ':class:`Kept`'" in customer.docstring.value
    rename = customer["rename"]
    assert _refs(rename.docstring.value) == [("ValueError", "ValueError"), ("shop.model.Customer", "the customer")]


names = st.from_regex(r"[~.]?[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,8}){0,3}", fullmatch=True)


@given(
    role=st.sampled_from(ROLE_NAMES),
    name=names,
    before=st.text(alphabet=st.characters(blacklist_characters="`:~"), max_size=20),
    after=st.text(alphabet=st.characters(blacklist_characters="`:~"), max_size=20),
)
def test_no_role_survives_the_conversion(role: str, name: str, before: str, after: str) -> None:
    converted = sphinx_roles.convert_roles(f"{before}:{role}:`{name}`{after}")
    assert not raw_roles(converted)
    ((identifier, title),) = _refs(converted)
    assert identifier == name.lstrip("~.")
    assert title.removesuffix("()") in name
