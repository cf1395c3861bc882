"""A griffe extension for the documentation site: Sphinx cross-reference roles in docstrings become links.

The docstrings of custdata name other objects with Sphinx roles (``:class:`Customer```, ``:meth:`Store.unit```,
``:mod:`custdata.storage```). Python's ``help()`` and editors show them as they are, but Markdown does not know
them, so the API reference would print them raw. This extension rewrites every role, once the whole package is
loaded, into an optional cross-reference: the name, as code, links to its page of the API reference when that
object is documented there, and stays plain code when it is not (a standard-library name, a private helper).

Names resolve the way Sphinx resolves them: a full dotted path as written, a ``~`` prefix shows only the last part,
a leading ``.`` or a bare name is looked up in the scope of the documented object (its members, its imports, its
parents), and ``title <target>`` shows ``title``. Examples fenced as code blocks are left alone.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLES = ("class", "func", "meth", "data", "mod", "attr", "exc", "obj", "const", "type")

#: A Sphinx role, with or without the ``py`` domain, and its text between backquotes.
ROLE_RE = re.compile(r"(?::py)?:(?P<role>" + "|".join(ROLES) + r"):`(?P<text>[^`]+)`")
_TITLED_RE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")


def _resolve(target: str, scope: griffe.Object | None) -> str:
    """The full dotted path of ``target`` as seen from ``scope``; ``target`` itself when it cannot be resolved."""
    if scope is None:
        return target
    head, dot, rest = target.partition(".")
    if not head:
        return target
    try:
        resolved = scope.resolve(head)
    except (griffe.NameResolutionError, griffe.AliasResolutionError, griffe.CyclicAliasError, KeyError):
        return target
    return resolved + dot + rest


def convert_role(role: str, text: str, scope: griffe.Object | None = None) -> str:
    """The HTML that replaces ``:role:`text```: the name as code inside an optional cross-reference."""
    text = text.strip()
    titled = _TITLED_RE.match(text)
    if titled:
        title, target = titled["title"], titled["target"].strip()
    else:
        title, target = "", text
    short = target.startswith("~")
    target = target.lstrip("~!.")
    if not title:
        title = target.rsplit(".", 1)[-1] if short else target
        if role in ("func", "meth") and not title.endswith(")"):
            title += "()"
    identifier = _resolve(target, scope)
    return (
        f'<autoref identifier="{html.escape(identifier, quote=True)}" optional>'
        f"<code>{html.escape(title, quote=False)}</code></autoref>"
    )


def convert_roles(text: str, scope: griffe.Object | None = None) -> str:
    """``text`` with every Sphinx role outside fenced code blocks turned into an optional cross-reference."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opening = _FENCE_RE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None:
            line = ROLE_RE.sub(lambda m: convert_role(m["role"], m["text"], scope), line)
        out.append(line)
    return "\n".join(out)


def _convert_tree(obj: griffe.Object, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if obj.docstring is not None and ":" in obj.docstring.value:
        obj.docstring.value = convert_roles(obj.docstring.value, obj)
    for member in obj.members.values():
        if not member.is_alias and isinstance(member, griffe.Object):
            _convert_tree(member, seen)


class SphinxRoles(griffe.Extension):
    """Turn the Sphinx roles of every docstring of a loaded package into cross-references."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        _convert_tree(pkg, set())
