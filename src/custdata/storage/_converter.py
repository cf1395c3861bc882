"""The converter the stores write and read documents with: custdata's trusted converter, with JSON objects kept
as they are.

Documents are fresh objects from ``json.loads``, so their JSON objects (metadata, properties) need no copy.
The documents written are the same as :func:`custdata.to_json`'s (a test checks it on generated entities), and
documents are read on the trusted path (no re-validation).
"""

from __future__ import annotations

import cattrs

from custdata.serialization import make_converter
from custdata.serialization._hooks import is_json_object


def storage_converter() -> cattrs.Converter:
    """A converter like ``make_converter(trusted=True)`` that keeps the JSON objects of a document as they are."""
    c = make_converter(trusted=True)
    c.register_structure_hook_func(is_json_object, lambda value, _: value)
    return c
