"""Shopify's documented customer export columns, as a shop's file has them, for the import tests' fixtures."""

from __future__ import annotations

#: The customer export's columns, without the ``Customer ID`` column that newer exports put first.
SHOPIFY_CUSTOMER_COLUMNS = (
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
)
