"""The example shop service (examples/fastapi_shop) over httpx's ASGI transport, on a SQLite file and on PostgreSQL:
every endpoint's answer and refusals, its problem documents, its OpenAPI document, and the dispatcher that runs
beside it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from required_extras import require

require("fastapi", "example")
httpx = require("httpx", "test")

from fastapi_shop.app import Settings, Tokens, create_app  # noqa: E402

import custdata  # noqa: E402
from custdata.aio import AsyncRecordingNotifier  # noqa: E402
from custdata.commands import openapi_schemas  # noqa: E402
from custdata.merge import merge, preview  # noqa: E402
from custdata.notify import WebhookNotifier  # noqa: E402

SECRET = b"test shop secret: 32 random bytes.."
CARRIER = WebhookNotifier.generate_secret()
LINE = {"sku": "MUG-1", "product_name": "Mug", "quantity": 2, "unit_price": "9.50"}
ORDER = {"currency": "EUR", "lines": [LINE]}


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shop.db"
    pg_url: str = request.getfixturevalue("pg_url")
    return f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_{uuid.uuid4().hex[:16]}"


class Shop:
    """A running app, its client and the messages its dispatcher sent."""

    def __init__(self, client: Any, notifier: AsyncRecordingNotifier, url: str) -> None:
        self.client = client
        self.notifier = notifier
        self.url = url

    async def sent(self, key_part: str, timeout: float = 10.0) -> custdata.notify.Message:
        """The first message sent whose idempotency key contains ``key_part`` (waiting for the dispatcher)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in notifier_messages(self.notifier):
                if key_part in message.idempotency_key:
                    return message
            await asyncio.sleep(0.02)
        raise AssertionError(f"no message with {key_part!r} was sent: {notifier_messages(self.notifier)}")

    async def register(self, email: str, **fields: Any) -> dict[str, str]:
        answer = await self.client.post("/customers", json={"email": email, **fields})
        assert answer.status_code == 202, answer.text
        return dict(answer.json())

    async def sign_in_token(self, email: str, nth: int = 0) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            mails = [m for m in notifier_messages(self.notifier) if ":sign_in:" in m.idempotency_key]
            mails = [m for m in mails if m.recipient == email]
            if len(mails) > nth:
                return mails[nth].text.split("#token=")[1].split()[0]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no sign-in mail #{nth} for {email}")

    async def guest(self, email: str) -> dict[str, Any]:
        answer = await self.client.post("/guest-checkout", json={"customer": {"email": email}, "order": ORDER})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def sync_store(self) -> custdata.storage.ports.Store:
        return custdata.open_store(self.url)


def notifier_messages(notifier: AsyncRecordingNotifier) -> list[custdata.notify.Message]:
    return list(notifier.messages)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def run(url: str, scenario: Callable[[Shop], Awaitable[None]]) -> None:
    async def main() -> None:
        notifier = AsyncRecordingNotifier()
        settings = Settings(secret=SECRET, carrier_secret=CARRIER, store_url=url, dispatch_idle=0.02)
        app = create_app(settings, notifier=notifier)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
                await scenario(Shop(client, notifier, url))

    asyncio.run(main())


def assert_problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    document = dict(answer.json())
    assert document["status"] == status and document["code"] == code, document
    assert document["type"] == f"https://custdata.dev/problems/{code}"
    return document


# --- registration, sign-in, orders ------------------------------------------------------------------------------


def test_register_sign_in_and_order_with_the_confirmation_sent(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        answer = await shop.register("ada@example.com", given_name="Ada", locale="en_gb")
        assert answer == {"status": "accepted", "detail": "Check your inbox to continue."}
        token = await shop.sign_in_token("ada@example.com")
        me = await shop.client.get("/me", headers=bearer(token))
        assert me.status_code == 200 and me.json()["given_name"] == "Ada" and me.json()["locale"] == "en-GB"
        assert me.json()["email_verified_at"] is None and "private_metadata" not in me.json()

        placed = await shop.client.post("/orders", headers=bearer(token), json=ORDER)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert order["order_id"].startswith("ord_") and order["status"] == "placed"
        assert order["total"] == {"amount": "19.00", "currency": "EUR"}
        assert datetime.fromisoformat(order["placed_at"]).tzinfo is not None
        confirmation = await shop.sent(f"{order['order_id']}:placed:order_confirmation")
        assert confirmation.recipient == "ada@example.com"

        read = await shop.client.get(f"/orders/{order['order_id']}", headers=bearer(token))
        assert read.status_code == 200 and read.json()["customer_id"] == me.json()["id"]

    run(store_url, scenario)


def test_a_taken_address_gets_the_same_answer_and_no_second_account(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        first = await shop.register("ada@example.com", given_name="Ada")
        again = await shop.register("ada@example.com", given_name="Mallory")
        assert first == again
        tokens = Tokens(SECRET, timedelta(days=1))
        owner = tokens.read(await shop.sign_in_token("ada@example.com", 0))
        second = await shop.sign_in_token("ada@example.com", 1)  # the sign-in link goes to the address only
        assert tokens.read(second) == owner
        with shop.sync_store().unit_of_work() as uow:
            accounts = uow.customers.find_by_email("ada@example.com")
        assert [c.id for c in accounts] == [owner] and accounts[0].given_name == "Ada"

    run(store_url, scenario)


def test_guest_checkout_places_the_order_and_returns_the_guests_token(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        checkout = await shop.guest("guest@example.com")
        await shop.sent(f"{checkout['order_id']}:placed:order_confirmation")
        me = await shop.client.get("/me", headers=bearer(checkout["token"]))
        assert me.json()["is_guest"] is True and me.json()["id"] == checkout["customer_id"]

        # the guest and its order are one unit of work: a bad order writes no guest either
        bad = await shop.client.post(
            "/guest-checkout", json={"customer": {"email": "other@example.com"}, "order": {**ORDER, "currency": "USD"}}
        )
        assert_problem(bad, 422, "currency_mismatch")
        with shop.sync_store().unit_of_work() as uow:
            assert uow.customers.find_by_email("other@example.com") == []

    run(store_url, scenario)


# --- refusals ---------------------------------------------------------------------------------------------------


def test_fields_the_server_sets_are_refused_with_forbidden_field(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        answer = await shop.client.post("/customers", json={"email": "a@example.com", "id": "cus_mine"})
        document = assert_problem(answer, 422, "forbidden_field")
        assert document["errors"] == [
            {"code": "forbidden_field", "path": "/id", "message": "is assigned by the server"}
        ]
        answer = await shop.client.post(
            "/guest-checkout",
            json={"customer": {"email": "g@example.com", "email_verified_at": "2024-01-01T00:00:00Z"}, "order": ORDER},
        )
        assert [e["path"] for e in assert_problem(answer, 422, "forbidden_field")["errors"]] == [
            "/customer/email_verified_at"
        ]
        checkout = await shop.guest("g@example.com")
        answer = await shop.client.post("/orders", headers=bearer(checkout["token"]), json={**ORDER, "status": "paid"})
        assert_problem(answer, 422, "forbidden_field")
        answer = await shop.client.patch(
            "/me", headers=bearer(checkout["token"]), json={"expected_version": 0, "tags": ["vip"]}
        )
        assert_problem(answer, 422, "forbidden_field")
        answer = await shop.client.post("/customers", content=b"{not json")
        assert_problem(answer, 422, "invalid_format")
        with shop.sync_store().unit_of_work() as uow:
            assert uow.customers.find_by_email("a@example.com") == []
            assert uow.customers.get(checkout["customer_id"]).tags == frozenset()

    run(store_url, scenario)


def test_a_stale_version_is_a_conflict_and_writes_nothing(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        token = (await shop.guest("g@example.com"))["token"]
        changed = await shop.client.patch(
            "/me", headers=bearer(token), json={"expected_version": 0, "given_name": "Gia"}
        )
        assert changed.status_code == 200 and changed.json()["version"] == 1
        stale = await shop.client.patch("/me", headers=bearer(token), json={"expected_version": 0, "given_name": "Eve"})
        assert_problem(stale, 409, "version_conflict")
        assert (await shop.client.get("/me", headers=bearer(token))).json()["given_name"] == "Gia"

    run(store_url, scenario)


def test_no_endpoint_shows_another_customers_data(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        alice = await shop.guest("alice@example.com")
        bob = await shop.guest("bob@example.com")
        other = await shop.client.get(f"/orders/{alice['order_id']}", headers=bearer(bob["token"]))
        assert_problem(other, 404, "not_found")
        export = await shop.client.get("/me/export", headers=bearer(bob["token"]))
        assert export.status_code == 200 and export.json()["customer_id"] == bob["customer_id"]
        assert "alice" not in export.text and alice["order_id"] not in export.text
        assert [o["id"] for o in export.json()["orders"]] == [bob["order_id"]]

        # a token names its customer and is signed: another id with a valid signature, altered or expired fails
        forged = f"{alice['customer_id']}.{bob['token'].split('.', 1)[1]}"
        tokens = Tokens(SECRET, timedelta(seconds=-1))
        expired = tokens.issue(alice["customer_id"])
        foreign = Tokens(b"another shop's secret, 32 bytes long", timedelta(days=1)).issue(alice["customer_id"])
        for token in (forged, bob["token"] + "x", expired, foreign, "", alice["customer_id"]):
            for method, path in (("GET", "/me"), ("GET", "/me/export"), ("DELETE", "/me"), ("POST", "/orders")):
                answer = await shop.client.request(method, path, headers=bearer(token), json=ORDER)
                assert_problem(answer, 401, "invalid_token")
                assert answer.headers["www-authenticate"] == "Bearer"
        answer = await shop.client.get("/me/export")
        assert_problem(answer, 401, "invalid_token")
        me = await shop.client.get("/me", headers=bearer(alice["token"]))  # alice is untouched
        assert me.status_code == 200 and me.json()["email"] == "alice@example.com"

    run(store_url, scenario)


def test_a_token_of_a_merged_or_erased_customer_opens_nothing(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        await shop.register("ada@example.com", given_name="Ada")
        account = await shop.sign_in_token("ada@example.com")
        guest = await shop.guest("ada@example.com")  # a guest order, later absorbed into the account
        owner = Tokens(SECRET, timedelta(days=1)).read(account)
        assert owner is not None
        with shop.sync_store().unit_of_work() as uow:
            merge(uow, preview(uow, owner, [guest["customer_id"]]))
            uow.commit()
        for path in ("/me", "/me/export"):
            assert_problem(await shop.client.get(path, headers=bearer(guest["token"])), 401, "invalid_token")
        merged_order = await shop.client.post("/orders", json=ORDER, headers=bearer(guest["token"]))
        assert_problem(merged_order, 401, "invalid_token")
        export = await shop.client.get("/me/export", headers=bearer(account))
        assert guest["order_id"] in export.text  # the account holder sees the order that is now theirs

        erased = await shop.client.delete("/me", headers=bearer(account))
        assert erased.status_code == 204
        for path in ("/me", "/me/export"):
            assert_problem(await shop.client.get(path, headers=bearer(account)), 401, "invalid_token")
        assert_problem(await shop.client.post("/orders", json=ORDER, headers=bearer(account)), 401, "invalid_token")
        with shop.sync_store().unit_of_work() as uow:
            assert uow.orders.count(customer_id=owner) == 1  # the guest's order only: nothing placed since
            assert uow.orders.count(customer_id=guest["customer_id"]) == 0
            assert uow.customers.get(owner).redacted_at is not None
            assert uow.customers.find_by_email("ada@example.com") == []

    run(store_url, scenario)


# --- the carrier webhook ----------------------------------------------------------------------------------------


def signed(body: bytes, *, msg_id: str, secret: str = CARRIER, at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return dict(WebhookNotifier.signature_headers(secret, body, msg_id=msg_id, timestamp=stamp))


def test_the_carrier_webhook_applies_signed_updates_once(store_url: str) -> None:
    async def scenario(shop: Shop) -> None:
        checkout = await shop.guest("g@example.com")
        order_id = checkout["order_id"]
        now = datetime.now(UTC)
        store = shop.sync_store()
        with store.unit_of_work() as uow:  # the payment provider's part, which this example leaves out
            order = uow.orders.get(order_id)
            order.pay(now)
            uow.orders.update(order)
            uow.commit()
        report = {"order_id": order_id, "shipment_id": "shp_1", "carrier": "DHL", "status": "in_transit"}
        body = json.dumps({**report, "happened_at": now.isoformat()}).encode()
        headers = signed(body, msg_id="msg_carrier_1")

        for bad in (
            signed(body, msg_id="msg_carrier_1", secret=WebhookNotifier.generate_secret()),
            signed(body, msg_id="msg_carrier_1", at=time.time() - 3600),
            {k: v for k, v in headers.items() if k != "webhook-signature"},
            {},
        ):
            assert_problem(await shop.client.post("/carrier/webhook", content=body, headers=bad), 401, "invalid_token")
        tampered = body.replace(b"in_transit", b"delivered")
        answer = await shop.client.post("/carrier/webhook", content=tampered, headers=headers)
        assert_problem(answer, 401, "invalid_token")
        with store.unit_of_work() as uow:
            assert uow.orders.get(order_id).status.value == "paid"

        answer = await shop.client.post("/carrier/webhook", content=body, headers=headers)
        assert answer.status_code == 204, answer.text
        await shop.sent(f"{order_id}:shipped:shp_1:order_shipped")
        replay = await shop.client.post("/carrier/webhook", content=body, headers=headers)
        assert_problem(replay, 409, "duplicate")
        with store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
            assert order.status.value == "shipped" and len(order.shipments[0].events) == 1

        unknown = json.dumps({**report, "order_id": "ord_unknown", "happened_at": now.isoformat()}).encode()
        answer = await shop.client.post("/carrier/webhook", content=unknown, headers=signed(unknown, msg_id="msg_2"))
        assert_problem(answer, 404, "not_found")
        junk = json.dumps({**report, "status": "teleported", "happened_at": "yesterday", "extra": 1}).encode()
        answer = await shop.client.post("/carrier/webhook", content=junk, headers=signed(junk, msg_id="msg_3"))
        assert sorted(e["path"] for e in assert_problem(answer, 422, "invalid")["errors"]) == [
            "/extra",
            "/happened_at",
            "/status",
        ]

    run(store_url, scenario)


# --- OpenAPI and tokens -----------------------------------------------------------------------------------------


def test_the_openapi_document_holds_the_command_schemas(tmp_path: Any) -> None:
    async def scenario(shop: Shop) -> None:
        document = (await shop.client.get("/openapi.json")).json()
        schemas = document["components"]["schemas"]
        for name, schema in openapi_schemas().items():
            assert schemas[name] == schema
        ref = {"$ref": "#/components/schemas/RegisterCustomer"}
        body = document["paths"]["/customers"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == ref
        assert document["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/PlaceOrder"
        }
        guest = schemas["GuestCheckout"]["properties"]
        assert guest["customer"] == {"$ref": "#/components/schemas/CreateGuest"}

    run(f"sqlite:///{tmp_path}/shop.db", scenario)


TOKENS = Tokens(SECRET, timedelta(days=1))


@given(st.text(max_size=120))
def test_a_token_reader_takes_any_text_and_opens_only_issued_tokens(text: str) -> None:
    assert TOKENS.read(text) is None


@given(st.from_regex(r"cus_[0-9a-f]{8,28}", fullmatch=True), st.integers(0, 200), st.characters())
def test_any_change_to_an_issued_token_is_refused(customer_id: str, where: int, replacement: str) -> None:
    token = TOKENS.issue(customer_id)
    assert TOKENS.read(token) == customer_id
    position = where % len(token)
    changed = token[:position] + replacement + token[position + 1 :]
    if changed != token:
        assert TOKENS.read(changed) is None
