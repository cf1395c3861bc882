"""The converter the stores write and read documents with: custdata's trusted converter, with JSON objects kept
as they are.

Documents are fresh objects from ``json.loads``, so their JSON objects (metadata, properties) need no copy.
The documents written are the same as :func:`custdata.to_json`'s (a test checks it on generated entities), and
documents are read on the trusted path (no re-validation).
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

import cattrs

from custdata.serialization import make_converter


def _is_json_object(t: Any) -> bool:
    return get_origin(t) is dict and get_args(t) == (str, Any)


def storage_converter() -> cattrs.Converter:
    """A converter like ``make_converter(trusted=True)`` that keeps the JSON objects of a document as they are."""
    c = make_converter(trusted=True)
    c.register_structure_hook_func(_is_json_object, lambda value, _: value)
    return c
