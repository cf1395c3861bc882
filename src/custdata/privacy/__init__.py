"""Privacy: the consent ledger, verified guest registration, the customer's data export and erasure.

- :mod:`custdata.privacy.consent`: record grants, double opt-in and withdrawals; the state in force, the history;
- :mod:`custdata.privacy.tokens`: :class:`VerificationTokens`, signed single-use tokens proving an address;
- :mod:`custdata.privacy.guests`: :func:`start_verification` and :func:`complete_verification`, which register
  a guest and attach earlier guest orders only once the address is proven;
- :mod:`custdata.privacy.export`: :func:`export_customer`, everything held about one customer as versioned JSON;
- :mod:`custdata.privacy.erasure`: :func:`erase_customer`, personal data removed, order financials kept, the
  store's files purged;
- :mod:`custdata.privacy.retention`: :class:`RetentionPolicy` and :func:`sweep`, data removed once it is too old.
"""

from custdata._errors import TokenError
from custdata.privacy import consent
from custdata.privacy.erasure import ErasureReport, erase_customer
from custdata.privacy.export import EXPORT_VERSION, export_customer, export_customer_json
from custdata.privacy.guests import Registration, complete_verification, start_verification
from custdata.privacy.retention import RetentionPolicy, RetentionReport, sweep
from custdata.privacy.tokens import VerificationTokens

__all__ = [
    "EXPORT_VERSION",
    "ErasureReport",
    "Registration",
    "RetentionPolicy",
    "RetentionReport",
    "TokenError",
    "VerificationTokens",
    "complete_verification",
    "consent",
    "erase_customer",
    "export_customer",
    "export_customer_json",
    "start_verification",
    "sweep",
]
