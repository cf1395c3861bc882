"""PostgreSQL's own messages quote stored values; the errors custdata raises from them must not."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest
from privacy_builders import customer, message

from custdata import IntegrityError


def test_a_duplicate_key_error_message_quotes_no_value(new_store: Callable[..., Any]) -> None:
    with pytest.raises(IntegrityError) as exc:
        _duplicate_key(new_store())
    assert "adelheid" not in str(exc.value).lower() and "adelheid" not in repr(exc.value).lower()


def test_a_printed_duplicate_key_traceback_quotes_no_value(new_store: Callable[..., Any]) -> None:
    with pytest.raises(IntegrityError) as exc:
        _duplicate_key(new_store())
    printed = "".join(traceback.format_exception(exc.value))
    assert "adelheid" not in printed.lower()


def _duplicate_key(store: Any) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        first = message("msg_1", "cus_ada", "hello")
        first.idempotency_key = "welcome:adelheid.quenstedt@example.org"
        uow.communications.add(first)
        uow.commit()
    with store.unit_of_work() as uow:
        second = message("msg_2", "cus_ada", "hello")
        second.idempotency_key = "welcome:adelheid.quenstedt@example.org"
        uow.communications.add(second)
