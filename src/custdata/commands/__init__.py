"""Input commands: the way untrusted payloads (a storefront's or an API client's JSON) come into custdata.

Each command has an explicit allow-list of fields. ``Command.from_payload(payload)`` reads a JSON object and
raises one :class:`custdata.ValidationError` listing every problem with its path and :class:`custdata.ErrorCode`:
a field the server manages (ids, timestamps, verification, version, merge and erasure marks, tags, groups, private
metadata, consent levels) is ``forbidden_field``, any other field not listed is ``unknown_field``, so a typo
never drops data silently. ``apply`` runs the command in one unit of work of a store, with the server's clock and
id factory, and with optimistic concurrency (``expected_version``) for changes. ``json_schema()`` describes the
payloads a command accepts as JSON Schema (draft 2020-12), for OpenAPI.

- customers: :class:`RegisterCustomer`, :class:`CreateGuest`, :class:`UpdateProfile`, :class:`SetConsent`;
- the address book: :class:`AddAddress`, :class:`UpdateAddress`, :class:`RemoveAddress`,
  :class:`SetDefaultAddress`;
- orders: :class:`PlaceOrder`.

:func:`custdata.from_dict` is for trusted documents (your own stored data); payloads go through these commands.
"""

from __future__ import annotations

from typing import Any

from custdata.commands._base import DIALECT, Command, Ids
from custdata.commands.addresses import MAX_ADDRESSES, AddAddress, RemoveAddress, SetDefaultAddress, UpdateAddress
from custdata.commands.customers import CreateGuest, RegisterCustomer, Registered, SetConsent, UpdateProfile
from custdata.commands.orders import MAX_LINES, Placed, PlaceOrder

#: Every input command, by name.
COMMANDS: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        RegisterCustomer,
        CreateGuest,
        UpdateProfile,
        SetConsent,
        AddAddress,
        UpdateAddress,
        RemoveAddress,
        SetDefaultAddress,
        PlaceOrder,
    )
}


def openapi_schemas() -> dict[str, dict[str, Any]]:
    """The schema of every command's payload by command name, for ``components.schemas`` of an OpenAPI 3.1
    document (whose schemas are JSON Schema draft 2020-12)."""
    schemas = {}
    for name, cls in COMMANDS.items():
        schema = cls.json_schema()
        del schema["$schema"]
        schemas[name] = schema
    return schemas


__all__ = [
    "COMMANDS",
    "DIALECT",
    "MAX_ADDRESSES",
    "MAX_LINES",
    "AddAddress",
    "Command",
    "CreateGuest",
    "Ids",
    "PlaceOrder",
    "Placed",
    "RegisterCustomer",
    "Registered",
    "RemoveAddress",
    "SetConsent",
    "SetDefaultAddress",
    "UpdateAddress",
    "UpdateProfile",
    "openapi_schemas",
]
