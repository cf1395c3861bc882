"""Erasure after any short history of merges, undos, queued messages, timers and crashed dispatchers: nothing of
the erased person stays in the outbox, nor in any other customer's export or timeline, and no later undo brings
it back."""

from __future__ import annotations

from datetime import timedelta

from erasure_checks import found, outbox_text, person, shipped_message, views_of_others
from hypothesis import example, given, settings
from hypothesis import strategies as st
from privacy_builders import T0, message, order

from custdata import Topic
from custdata.merge import MERGE_EVENT, UndoRefusedError, merge, preview, resolve, undo
from custdata.outbox import OutboxState, Timer, enqueue
from custdata.outbox.ports import has_outbox
from custdata.privacy.erasure import erase_customer
from custdata.privacy.export import export_customer_json
from custdata.storage import Store, open_store, walk

TAGS = ("Alderney", "Brixworth", "Cirencester", "Dunstable")
IDS = tuple(f"cus_{t.lower()}" for t in TAGS)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("merge"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("undo"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("lease"), st.integers(0, 0), st.just(0)),
        st.tuples(st.just("queue"), st.integers(0, 3), st.integers(0, 1)),
    ),
    max_size=7,
)


def _setup(store: Store) -> dict[str, tuple[str, ...]]:
    needles = {}
    with store.unit_of_work() as uow:
        for cid, tag in zip(IDS, TAGS, strict=True):
            c, needles[cid] = person(cid, tag)
            uow.customers.add(c)
            uow.orders.add(order(f"ord_{tag}", cid, address=c.addresses[0]))
            uow.communications.add(message(f"msg_{tag}", cid, f"Dear {c.given_name}"))
            name = f"{c.given_name} {c.family_name}"
            assert has_outbox(uow)
            enqueue(
                uow, shipped_message(f"ship-{tag}", str(c.email), name, order_id=f"ord_{tag}"), customer_id=cid, now=T0
            )
            uow.timers.schedule(
                Timer(
                    key=f"cart-{tag}",
                    rule="cart_reminder",
                    topic=Topic.CART_REMINDER,
                    customer_id=cid,
                    due_at=T0 + timedelta(days=3),
                    created_at=T0,
                    trigger={"email": str(c.email)},
                )
            )
        uow.commit()
    return needles


def _play(store: Store, history: list[tuple[str, int, int]]) -> list[str]:
    merges: list[str] = []
    for n, (kind, i, j) in enumerate(history):
        with store.unit_of_work() as uow:
            if kind == "merge":
                a, b = uow.customers.get(IDS[i]), uow.customers.get(IDS[j])
                if i == j or a.merged_into is not None or b.merged_into is not None:
                    continue
                merges.append(str(merge(uow, preview(uow, IDS[i], [IDS[j]], at=T0), at=T0).id))
            elif kind == "undo" and merges:
                try:
                    undo(uow, merges[i % len(merges)], at=T0 + timedelta(hours=1))
                except UndoRefusedError:
                    continue
            elif kind == "lease":  # a dispatcher takes everything pending and dies
                uow.outbox.lease(f"crashed-{n}", now=T0, limit=100, duration=timedelta(days=1))  # type: ignore[attr-defined]
            elif kind == "queue":
                tag = TAGS[i]
                c = uow.customers.get(IDS[i])
                text = shipped_message(f"again-{n}-{tag}", f"mail.{tag.lower()}@example.org", f"Given{tag}")
                if j:
                    text = shipped_message(
                        f"again-{n}-{tag}", f"mail.{tag.lower()}@example.org", f"Given{tag}", order_id=f"ord_{tag}"
                    )
                enqueue(uow, text, customer_id=c.id, now=T0)  # type: ignore[arg-type]
            uow.commit()
    return merges


def _merge_events(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return [
            str(e.id)
            for cid in IDS
            for e in walk(lambda c, i=cid: uow.activity.for_customer(i, cursor=c))  # type: ignore[misc]
            if e.event == MERGE_EVENT
        ]


@settings(max_examples=40)
@given(history=steps, target=st.integers(0, 3))
@example(history=[("merge", 0, 1), ("undo", 0, 0)], target=1)  # the merged side of an undone merge
@example(history=[("queue", 1, 1), ("lease", 0, 0), ("merge", 0, 1), ("merge", 2, 0)], target=1)
def test_nothing_of_the_erased_person_is_left_whatever_came_before(
    history: list[tuple[str, int, int]], target: int
) -> None:
    with open_store("memory://") as store:
        needles = _setup(store)
        _play(store, history)
        with store.unit_of_work() as uow:
            survivor = resolve(uow, IDS[target]).id
            group = [cid for cid in IDS if resolve(uow, cid).id == survivor]
        gone = tuple(n for cid in group for n in needles[cid])
        kept = tuple(n for cid in IDS if cid not in group for n in needles[cid])
        erase_customer(store, IDS[target], clock=lambda: T0 + timedelta(days=2))
        for event_id in _merge_events(store):  # no undo brings anything back
            with store.unit_of_work() as uow:
                try:
                    undo(uow, event_id, at=T0 + timedelta(days=3))
                except UndoRefusedError:
                    continue
                uow.commit()
        outbox = outbox_text(store)
        assert found(outbox, gone) == set()
        others = views_of_others(store, IDS[target])
        assert found(others, gone) == set()
        for cid in IDS:
            if cid not in group:  # everybody else keeps their own data
                assert found(export_customer_json(store, cid), needles[cid]) == set(needles[cid])
        with store.unit_of_work() as uow:
            pending = walk(lambda c: uow.outbox.with_state(OutboxState.PENDING, cursor=c))  # type: ignore[attr-defined]
            assert all(str(e.customer_id) not in group for e in pending)
        assert kept == () or found(outbox + others, kept)
