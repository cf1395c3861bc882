"""The consent records an import makes of marketing answers are shared between its customers (they are immutable),
and each is the record the customer's own answer and the import's time give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Channel, ConsentState, OptInLevel
from custdata.importing.convert import CustomerFields, consent_source, customer_from_fields

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
#: the same instant written in other zones: equal times, other documents
ZONES = [NOW, NOW.astimezone(timezone(timedelta(hours=2))), NOW.astimezone(ZoneInfo("America/New_York"))]
ANSWERS = st.sampled_from(["", "yes", "no", "YES", "0", "1"])


@settings(max_examples=40)
@given(
    st.lists(st.tuples(ANSWERS, ANSWERS, st.sampled_from(["", "2025-01-02T03:04:05+01:00"])), min_size=1, max_size=6),
    st.sampled_from(ZONES),
    st.sampled_from(["shopify", "woo"]),
)
def test_each_customer_gets_the_consent_records_of_its_own_answers(
    rows: list[tuple[str, str, str]], now: datetime, platform: str
) -> None:
    context = CustomerFields(platform, now, format="csv")
    for n, (email_answer, sms_answer, created) in enumerate(rows):
        values = {"id": f"c{n}", "accepts_marketing": email_answer, "accepts_sms_marketing": sms_answer}
        customer = customer_from_fields({**values, "created_at": created}, context)
        expected = []
        for channel, answer in ((Channel.EMAIL, email_answer), (Channel.SMS, sms_answer)):
            if answer:
                yes = answer.lower() in ("yes", "1")
                expected.append(
                    (
                        channel,
                        ConsentState.SUBSCRIBED if yes else ConsentState.NOT_SUBSCRIBED,
                        OptInLevel.SINGLE if yes else OptInLevel.UNKNOWN,
                        (datetime.fromisoformat(created) if created else now).isoformat(),
                        consent_source(context),
                    )
                )
        found = [(c.channel, c.state, c.opt_in_level, c.recorded_at.isoformat(), c.source) for c in customer.consents]
        assert found == expected
