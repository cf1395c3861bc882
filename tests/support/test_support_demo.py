"""The demo's inbound messages and its support line: figures measured against the messages' known truth."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from custdata import Direction, Topic
from custdata.demo import DemoSettings, demo_customers, run_demo
from custdata.demo.run import load_shop
from custdata.demo.support import plan_inbound, run_support
from custdata.storage import open_store, walk
from custdata.support import SupportDesk

LINE = re.compile(
    r"(\d+) inbound messages \((\d+) asking where an order is\): (\d+)% answered automatically, "
    r"(\d+)% of those correctly"
)


def test_the_demo_report_has_a_support_line_with_measured_figures(tmp_path: Path) -> None:
    settings = DemoSettings(customers=150, days=2, seed=5, outbox_folder=tmp_path / "out")
    with open_store("memory://") as store:
        report = run_demo(store, settings)
        text = report.render()
        assert "Support" in text
        found = LINE.search(text)
        assert found is not None
        again = run_support(store, seed=settings.seed, now=settings.now)  # recorded once: the same figures
        assert report.support == again.line()
        assert int(found[1]) == again.messages > 50 and int(found[2]) == again.wismo
        assert 0 < again.answered < again.messages and again.correct <= again.answered
        with store.unit_of_work() as uow:
            languages = {
                m.metadata["conversation"]["language"]
                for m in walk(lambda c: uow.communications.page(cursor=c))
                if "conversation" in m.metadata
            }
        assert languages == {"en", "de", "fr", "es"}


def test_the_figures_follow_what_the_desk_does(tmp_path: Path) -> None:
    settings = DemoSettings(customers=150, days=2, seed=6, outbox_folder=tmp_path / "out")
    people = demo_customers(settings.customers, seed=settings.seed, now=settings.now)
    with open_store("memory://") as quiet, open_store("memory://") as eager:
        for store in (quiet, eager):
            load_shop(store, people, settings)
        off = run_support(quiet, seed=settings.seed, now=settings.now, desk=SupportDesk(auto_answer=False))
        assert off.answered == 0 and off.messages > 0
        measured = run_support(eager, seed=settings.seed, now=settings.now)
        assert 0 < measured.correct == measured.answered
        with eager.unit_of_work() as uow:  # a reply about the wrong order counts as wrong
            reply = next(
                m
                for m in walk(lambda c: uow.communications.page(cursor=c))
                if m.direction is Direction.OUTBOUND and m.topic is Topic.SUPPORT
            )
            uow.communications.update(attrs.evolve(reply, order_id=None))
            uow.commit()
        remeasured = run_support(eager, seed=settings.seed, now=settings.now)
        assert (remeasured.answered, remeasured.correct) == (measured.answered, measured.correct - 1)
        with eager.unit_of_work() as uow:
            customers = list(walk(lambda c: uow.customers.search(cursor=c)))
            orders = list(walk(lambda c: uow.orders.page(cursor=c)))
        plans = plan_inbound(customers, orders, seed=settings.seed, now=settings.now)
        assert measured.messages == len(plans) and measured.wismo == sum(p.wismo for p in plans)
        assert {p.language for p in plans} == {"en", "de", "fr", "es"}
