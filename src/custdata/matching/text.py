"""Text folding shared by normalisation, the nickname table and the synthetic data: one definition of
"the same letters", so that every table and every record is compared in the same form."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from custdata.matching._extra import jellyfish

# Letters that NFKD does not decompose, and apostrophes (ASCII, typographic U+2019, backtick).
_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",
        "'": "",
        "\u2019": "",
        "`": "",
    }
)
_NOT_WORD = re.compile(r"[\W_]+")
_JUNK = frozenset(("", "na", "n/a", "none", "null", "nil", "unknown", "-", "--", "?", "x", "xx", "xxx", "tbd"))


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case form for comparison: diacritics removed, ``ß`` -> ``ss``, the German ``ue``/``oe``/``ae``
    spellings made equal to the umlaut-less form, apostrophes dropped, other punctuation turned into spaces.

    >>> fold("  Müller-Lüdenscheidt "), fold("Mueller"), fold("Łódź"), fold("O\u2019Brien")
    ('muller ludenscheidt', 'muller', 'lodz', 'obrien')
    """
    text = unicodedata.normalize("NFKD", text.casefold().translate(_TRANSLIT))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("ue", "u").replace("oe", "o").replace("ae", "a")
    return " ".join(_NOT_WORD.sub(" ", text).split())


def present(text: str | None) -> str | None:
    """``None`` for empty and placeholder values (``n/a``, ``none``, ``-``...), else the stripped text.

    >>> present("  N/A "), present(" Ada ")
    (None, 'Ada')
    """
    if text is None:
        return None
    stripped = text.strip()
    return None if stripped.casefold() in _JUNK else stripped


@lru_cache(maxsize=65536)
def phonetic(folded: str) -> str:
    """Metaphone code of a folded word, or the word itself when metaphone has nothing to say about it
    (non-Latin scripts, digits).

    >>> phonetic("smith") == phonetic("smyth"), phonetic("")
    (True, '')
    """
    if not folded:
        return ""
    if folded.isascii() and folded.isalpha():
        return str(jellyfish.metaphone(folded)) or folded
    return folded
