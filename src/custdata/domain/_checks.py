"""The former name of :mod:`custdata.domain.checks`, kept so that existing imports go on working."""

from __future__ import annotations

from custdata.domain.checks import _CONTROL as _CONTROL
from custdata.domain.checks import _STR_OR_NONE as _STR_OR_NONE
from custdata.domain.checks import _TRUSTED as _TRUSTED
from custdata.domain.checks import MAX_JSON_DEPTH as MAX_JSON_DEPTH
from custdata.domain.checks import MAX_LONG_TEXT as MAX_LONG_TEXT
from custdata.domain.checks import MAX_TEXT as MAX_TEXT
from custdata.domain.checks import Checker as Checker
from custdata.domain.checks import E as E
from custdata.domain.checks import _check_json as _check_json
from custdata.domain.checks import _is_json as _is_json
from custdata.domain.checks import enum_value as enum_value
from custdata.domain.checks import is_json as is_json
from custdata.domain.checks import plain_tag as plain_tag
from custdata.domain.checks import plain_text as plain_text
from custdata.domain.checks import plain_texts as plain_texts
from custdata.domain.checks import trusted as trusted
from custdata.domain.checks import trusting as trusting
