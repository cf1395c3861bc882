"""Contact points: email addresses and phone numbers, validated by email-validator and phonenumbers."""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property, lru_cache
from typing import Any

import attrs
import email_validator
import phonenumbers

from custdata._errors import ErrorCode, ValidationError
from custdata.domain.checks import trusted
from custdata.domain.personal import NOT_PERSONAL, PERSONAL


def mask(text: str, keep: int = 1) -> str:
    """``'jane'`` -> ``'j***'``: enough to tell records apart in a log, not enough to identify anyone."""
    return text[:keep] + "***" if text else ""


@attrs.frozen(repr=False)
class EmailAddress:
    """A syntactically valid email address (no DNS look-up).

    ``value`` is the normalised form (Unicode NFC, domain lower-cased and IDNA-checked, local part as
    given); ``canonical`` is the form used for matching (the local part case-folded too).

    >>> EmailAddress.parse(" Jane.Doe@Example.COM ").value
    'Jane.Doe@example.com'
    >>> EmailAddress.parse("Jane.Doe@Example.COM").canonical
    'jane.doe@example.com'
    """

    value: str = attrs.field(metadata=PERSONAL)

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        object.__setattr__(self, "value", _normalise_email(self.value))

    @classmethod
    def parse(cls, text: str) -> EmailAddress:
        """Validate and normalise ``text``; raises :class:`custdata.ValidationError`."""
        address = object.__new__(cls)  # checked here: skip the constructor's own check
        object.__setattr__(address, "value", _normalise_email(text))
        return address

    @cached_property
    def canonical(self) -> str:
        local, _, domain = self.value.rpartition("@")
        return f"{unicodedata.normalize('NFKC', local).casefold()}@{domain.lower()}"

    @property
    def local_part(self) -> str:
        return self.value.rpartition("@")[0]

    @property
    def domain(self) -> str:
        return self.value.rpartition("@")[2]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"EmailAddress('{mask(self.local_part)}@{mask(self.domain)}')"


def _normalise_email(text: object) -> str:
    if not isinstance(text, str):
        raise ValidationError.single("", f"must be a string, not {type(text).__name__}", ErrorCode.INVALID_TYPE)
    stripped = text.strip()
    if len(stripped) > 320:
        raise ValidationError.single(
            "", "is not a valid email address: it is longer than 320 characters", ErrorCode.INVALID_EMAIL
        )
    quick = _plain_email(stripped)
    if quick is not None:
        return quick
    try:
        result = email_validator.validate_email(stripped, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        message = f"is not a valid email address: {_without(str(exc), stripped)}"
        raise ValidationError.single("", message, ErrorCode.INVALID_EMAIL) from None
    return str(result.normalized)


#: A dot-atom local part of ASCII characters (RFC 5322), as email-validator reads one.
_DOT_ATOM = re.compile(r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+)*")


def _plain_email(text: str) -> str | None:
    """The quick path of :func:`_normalise_email` for the common address: ASCII, a dot-atom local part of at most
    64 characters that is no role name email-validator lower-cases, at most 254 characters in all, at a domain
    email-validator has accepted before (checked once per domain). None for any other text: the library decides.
    The answer is email-validator's own, tested against it in ``tests/domain/test_email_quick_path.py``."""
    local, _, domain = text.partition("@")
    if (
        len(text) > _EMAIL_MAX
        or len(local) > _LOCAL_MAX
        or not text.isascii()
        or not _DOT_ATOM.fullmatch(local)
        or local.lower() in _ROLE_NAMES
    ):
        return None
    normalised = _plain_domain(domain)
    if normalised is None or len(local) + 1 + len(normalised) > _EMAIL_MAX:
        return None
    return f"{local}@{normalised}"


_EMAIL_MAX, _LOCAL_MAX = 254, 64
#: The mailbox names of RFC 2142, which email-validator lower-cases (left to it).
_ROLE_NAMES = frozenset(
    {
        *("info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster", "hostmaster"),
        *("usenet", "news", "webmaster", "www", "uucp", "ftp"),
    }
)


@lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> str | None:
    """The normalised form email-validator gives ``domain`` when it is an ASCII domain name it accepts, else None
    (the result depends on the domain alone: shops' customers share a few hundred domains)."""
    if not domain or "@" in domain:
        return None
    try:
        result = email_validator.validate_email(f"a@{domain}", check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    if result.domain != result.ascii_domain or not result.domain.isascii():
        return None
    return str(result.domain)


def _without(message: str, value: str) -> str:
    """Remove the offending value from a library's message so that errors carry no personal data."""
    for part in (value, *value.split("@")):
        if part and len(part) > 2:
            message = message.replace(part, "…")
    return message


@attrs.frozen(repr=False)
class PhoneNumber:
    """A phone number kept in E.164 with its region.

    ``parse`` accepts national or international notation; ``strict`` (the default) also requires the
    number to be valid (assigned ranges), not merely possible (plausible length).

    >>> n = PhoneNumber.parse("030 1234567", region="DE")
    >>> n.e164, n.region
    ('+49301234567', 'DE')
    >>> n.international
    '+49 30 1234567'
    """

    e164: str = attrs.field(metadata=PERSONAL)
    region: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        if not isinstance(self.e164, str):
            raise ValidationError.single(
                "e164", f"must be a string, not {type(self.e164).__name__}", ErrorCode.INVALID_TYPE
            )
        if not self.e164.startswith("+"):
            raise ValidationError.single(
                "e164", "must start with + and the country calling code", ErrorCode.INVALID_PHONE
            )
        if self.region is not None and not isinstance(self.region, str):
            raise ValidationError.single("region", "must be a two-letter region code", ErrorCode.COUNTRY_CODE)
        parsed, region = _parse_number(self.e164, None, "e164", strict=False)
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 != self.e164:
            raise ValidationError.single("e164", "is not in E.164 form (+ and digits only)", ErrorCode.INVALID_PHONE)
        if self.region is None:
            object.__setattr__(self, "region", region)
        elif self.region.upper() != region and self.region.upper() not in _regions(parsed):
            raise ValidationError.single(
                "region", "does not match the number's country calling code", ErrorCode.COUNTRY_CODE
            )
        else:
            object.__setattr__(self, "region", self.region.upper())

    @classmethod
    def parse(cls, text: str, region: str | None = None, *, strict: bool = True) -> PhoneNumber:
        """Parse ``text``, in national form when ``region`` (ISO 3166 alpha-2) is given."""
        if not isinstance(text, str):
            raise ValidationError.single("", f"must be a string, not {type(text).__name__}", ErrorCode.INVALID_TYPE)
        wanted = region.upper() if isinstance(region, str) else None
        digits = text.translate(_SEPARATORS) if len(text) <= 64 and _GROUPED_DIGITS.fullmatch(text) else ""
        if len(digits) > 3 or (len(digits) == 3 and digits[0] != "+"):
            e164, found = _read_digits(digits, wanted, strict)
        else:
            e164, found = _read(text, wanted, strict)
        number = object.__new__(cls)  # already checked: skip the constructor's second parse
        object.__setattr__(number, "e164", e164)
        object.__setattr__(number, "region", found)
        return number

    @cached_property
    def _parsed(self) -> phonenumbers.PhoneNumber:
        return phonenumbers.parse(self.e164, None)

    @property
    def national(self) -> str:
        return phonenumbers.format_number(self._parsed, phonenumbers.PhoneNumberFormat.NATIONAL)

    @property
    def international(self) -> str:
        return phonenumbers.format_number(self._parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    @property
    def is_valid(self) -> bool:
        """True when the number is in an assigned range, not merely of a possible length."""
        return bool(phonenumbers.is_valid_number(self._parsed))

    @property
    def country_code(self) -> int:
        return int(self._parsed.country_code or 0)

    def __str__(self) -> str:
        return self.e164

    def __repr__(self) -> str:
        return f"PhoneNumber('{self.e164[:3]}***{self.e164[-2:]}', region={self.region!r})"


def _read(text: str, wanted: str | None, strict: bool) -> tuple[str, str | None]:
    """What :meth:`PhoneNumber.parse` answers for ``text`` read in the region ``wanted``: E.164 and region."""
    parsed, found = _parse_number(text, wanted, "", strict=strict)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if wanted and wanted != found and wanted in _regions(parsed):
        found = wanted
    return e164, found


#: A number as people write it: groups of digits parted by one space, hyphen or dot, after an optional ``+``.
#: With three digits or more, phonenumbers reads it as it reads the digits alone (the separators are punctuation
#: to it; with two, spaced digits are no number to it, and joined ones are).
_GROUPED_DIGITS = re.compile(r"\+?[0-9]+(?:[ .\-][0-9]+)*")
_SEPARATORS = str.maketrans("", "", " .-")
#: :func:`_read` of a number's digits (and its ``+``) alone, remembered: the answer depends on the digits, the
#: region and ``strict`` alone, and a record often gives the same number twice (the customer's and the address's,
#: as Shopify exports them), a household the same number for each of its members. Only the last few hundred numbers
#: are kept, in this process's memory, never written anywhere. Refusals are not remembered (each raises afresh).
_read_digits = lru_cache(maxsize=512)(_read)


def _regions(parsed: phonenumbers.PhoneNumber) -> list[str]:
    return list(phonenumbers.region_codes_for_country_code(parsed.country_code or 0))


@lru_cache(maxsize=512)
def _first_region(country_code: int, region: str) -> bool:
    """True when phonenumbers' ``region_code_for_number`` tries ``region`` first among the regions of
    ``country_code`` and picks it by validity alone (no leading digits): a number valid for ``region`` then
    belongs to it, without trying the other regions (the United States for +1, the United Kingdom for +44)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if not regions or regions[0] != region:
        return False
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    return len(regions) == 1 or (metadata is not None and metadata.leading_digits is None)


def _parse_number(text: str, region: str | None, path: str, *, strict: bool) -> tuple[Any, str | None]:
    """The parsed number and its region (None for numbers of no single region, such as +800)."""
    if len(text) > 64:
        raise ValidationError.single(
            path, "is not a phone number: it is longer than 64 characters", ErrorCode.INVALID_PHONE
        )
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        reason = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
                "has no valid country calling code (give a region or start with +)"
            ),
            phonenumbers.NumberParseException.NOT_A_NUMBER: "is not a phone number",
            phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short",
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
            phonenumbers.NumberParseException.TOO_LONG: "is too long",
        }.get(exc.error_type, "is not a phone number")
        raise ValidationError.single(path, reason, ErrorCode.INVALID_PHONE) from None
    if (
        strict
        and region is not None
        and _first_region(parsed.country_code or 0, region)
        and phonenumbers.is_valid_number_for_region(parsed, region)
    ):
        # region_code_for_number would try ``region`` first and, the number being valid there, answer it
        return parsed, region
    region = phonenumbers.region_code_for_number(parsed)
    if strict and region is not None and phonenumbers.is_valid_number_for_region(parsed, region):
        return parsed, region  # a valid number is a possible one: no length check needed
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError.single(path, "is not a possible phone number (wrong length)", ErrorCode.INVALID_PHONE)
    if strict:
        raise ValidationError.single(path, "is not a valid phone number for its region", ErrorCode.INVALID_PHONE)
    return parsed, region
