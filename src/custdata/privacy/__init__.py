"""Privacy: the consent ledger, verified guest registration, the customer's data export and erasure.

- :mod:`custdata.privacy.consent`: record grants, double opt-in and withdrawals; the state in force, the history;
- :mod:`custdata.privacy.tokens`: :class:`VerificationTokens`, signed single-use tokens proving an address;
- :mod:`custdata.privacy.guests`: :func:`start_verification` and :func:`complete_verification`, which register
  a guest and attach earlier guest orders only once the address is proven.
"""

from custdata._errors import TokenError
from custdata.privacy import consent
from custdata.privacy.guests import Registration, complete_verification, start_verification
from custdata.privacy.tokens import VerificationTokens

__all__ = [
    "Registration",
    "TokenError",
    "VerificationTokens",
    "complete_verification",
    "consent",
    "start_verification",
]
