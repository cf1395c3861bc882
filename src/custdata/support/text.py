"""Making text from outside (mail bodies and headers in any state) storable."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _valid_utf8(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8", "replace")


def clean_text(text: str, max_length: int = 1_000_000) -> str:
    """Multi-line text without NUL or other control characters (tabs and newlines stay), without lone surrogates,
    cut to ``max_length``."""
    return _CONTROL.sub("", _valid_utf8(text[: max_length * 2]).replace("\r\n", "\n").replace("\r", "\n"))[:max_length]


def clean_line(text: str, max_length: int) -> str:
    """One line: control characters become spaces, surrounding space goes, cut to ``max_length``."""
    return " ".join(_LINE_CONTROL.sub(" ", _valid_utf8(text[: max_length * 4])).split())[:max_length]
