"""A small shop service on custdata: registration, guest checkout, orders, a carrier webhook, the customer's own
export and erasure, and the dispatcher as a background task.

Settings come from the environment (never from code):

================================  ==================================================================================
``SHOP_SECRET``                   required; at least 32 characters. Signs the customers' bearer tokens and the
                                  unsubscribe links of the messages
``SHOP_CARRIER_SECRET``           required; the carrier's Standard Webhooks secret (``whsec_...``)
``SHOP_STORE_URL``                the store (``sqlite:///shop.db`` by default; ``postgresql://...`` too)
``SHOP_NOTIFIER``                 ``folder:PATH`` (default ``folder:outgoing``), ``webhook:URL`` (signed with
                                  ``SHOP_NOTIFIER_SECRET``) or ``smtp:HOST:PORT`` (sender ``SHOP_MAIL_FROM``)
``SHOP_NAME``, ``SHOP_URL``       who sends the messages, and the links they carry
``SHOP_CURRENCY``                 the shop's currency (``EUR``)
================================  ==================================================================================

Each request runs in one unit of work of the async store: the commands, the workflows and the privacy services
are sync code, run inside it with ``uow.run_sync``, and the request commits once at its end. Errors are RFC 9457
problem documents (``application/problem+json``) with custdata's error codes.

Authentication is a bearer token per customer: the customer's id and an expiry time, signed with a key derived
from ``SHOP_SECRET``. A registration answers the same whether the address has an account or not, and mails the
token (a sign-in link) to the address; a guest checkout returns the guest's token at once. A token opens only a
live customer: one that was erased, or merged into another (a guest absorbed into a verified account), is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

import custdata
from custdata import (
    ActivityEvent,
    Channel,
    CustdataError,
    ErrorCode,
    NotFoundError,
    Problem,
    Topic,
    TrackingEvent,
    TrackingStatus,
    ValidationError,
)
from custdata.aio import AsyncDispatcher, AsyncStore, ThreadedNotifier, open_async_store
from custdata.commands import CreateGuest, PlaceOrder, RegisterCustomer, UpdateProfile, openapi_schemas
from custdata.domain import Shipment
from custdata.lifecycle import AddShipment, CarrierUpdate
from custdata.notify import FolderNotifier, Message
from custdata.notify.typing import AsyncNotifier
from custdata.notify.webhook import verify
from custdata.outbox.service import enqueue
from custdata.privacy import erase_customer, export_customer
from custdata.storage.outbox.ports import OutboxUnitOfWork
from custdata.storage.ports import Store
from custdata.workflows import Shop, Workflows

T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"
TOKEN_LIFETIME = timedelta(days=30)


# --- settings ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the service needs to run; :meth:`from_env` reads it from the environment."""

    secret: bytes = field(repr=False)
    carrier_secret: str = field(repr=False)
    store_url: str = "sqlite:///shop.db"
    notifier: str = "folder:outgoing"
    notifier_secret: str | None = field(default=None, repr=False)
    mail_from: str = "shop@example.com"
    shop_name: str = "Example Shop"
    shop_url: str = "https://shop.example"
    currency: str = "EUR"
    dispatch_idle: float = 1.0
    timers_every: float = 60.0
    token_lifetime: timedelta = TOKEN_LIFETIME

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise RuntimeError("SHOP_SECRET must hold at least 32 characters (for example: openssl rand -hex 32)")
        if not self.carrier_secret:
            raise RuntimeError("SHOP_CARRIER_SECRET must be set to the carrier's webhook secret")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        secret = environ.get("SHOP_SECRET", "")
        return cls(
            secret=secret.encode(),
            carrier_secret=environ.get("SHOP_CARRIER_SECRET", ""),
            store_url=environ.get("SHOP_STORE_URL", "sqlite:///shop.db"),
            notifier=environ.get("SHOP_NOTIFIER", "folder:outgoing"),
            notifier_secret=environ.get("SHOP_NOTIFIER_SECRET"),
            mail_from=environ.get("SHOP_MAIL_FROM", "shop@example.com"),
            shop_name=environ.get("SHOP_NAME", "Example Shop"),
            shop_url=environ.get("SHOP_URL", "https://shop.example"),
            currency=environ.get("SHOP_CURRENCY", "EUR"),
            dispatch_idle=float(environ.get("SHOP_DISPATCH_IDLE", "1.0")),
            timers_every=float(environ.get("SHOP_TIMERS_EVERY", "60")),
        )


def notifier_from(settings: Settings) -> AsyncNotifier:
    """The notifier ``SHOP_NOTIFIER`` names."""
    kind, _, where = settings.notifier.partition(":")
    if kind == "folder":
        return ThreadedNotifier(FolderNotifier(where or "outgoing"))
    if kind == "webhook":
        from custdata.notify import AsyncWebhookNotifier

        if not settings.notifier_secret:
            raise RuntimeError("SHOP_NOTIFIER_SECRET must be set for a webhook notifier")
        return AsyncWebhookNotifier(settings.notifier_secret, endpoint=where)
    if kind == "smtp":
        from custdata.notify import SMTPNotifier

        host, _, port = where.partition(":")
        return ThreadedNotifier(SMTPNotifier(host, int(port or 587), sender=settings.mail_from))
    raise RuntimeError(f"SHOP_NOTIFIER: unknown notifier {kind!r} (folder:PATH, webhook:URL or smtp:HOST:PORT)")


# --- bearer tokens ----------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Tokens:
    """Bearer tokens: ``customer id . expiry . HMAC-SHA256`` under a key derived from the shop secret."""

    def __init__(self, secret: bytes, lifetime: timedelta) -> None:
        self._key = hmac.new(secret, b"custdata example shop: bearer tokens", hashlib.sha256).digest()
        self._lifetime = lifetime

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, customer_id: str, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self._lifetime.total_seconds())
        body = f"{customer_id}.{expires}"
        return f"{body}.{self._sign(body)}"

    def read(self, token: str, *, now: float | None = None) -> str | None:
        """The customer id ``token`` was issued for, or None when it is forged, altered or expired."""
        if not token.isascii():  # ids, digits and base64: a token is ASCII
            return None
        body, _, signature = token.rpartition(".")
        customer_id, _, expires = body.rpartition(".")
        if not customer_id or not expires.isdigit() or not hmac.compare_digest(self._sign(body), signature):
            return None
        if int(expires) < (time.time() if now is None else now):
            return None
        return customer_id


# --- one unit of work per request -------------------------------------------------------------------------------


class _Nested:
    """The request's sync unit of work as the commands and services see it: ``commit`` waits for the request's
    end; an exception rolls the request's work back."""

    def __init__(self, uow: OutboxUnitOfWork) -> None:
        self._uow = uow

    @property
    def customers(self) -> Any:
        return self._uow.customers

    @property
    def orders(self) -> Any:
        return self._uow.orders

    @property
    def communications(self) -> Any:
        return self._uow.communications

    @property
    def activity(self) -> Any:
        return self._uow.activity

    @property
    def outbox(self) -> Any:
        return self._uow.outbox

    @property
    def timers(self) -> Any:
        return self._uow.timers

    def commit(self) -> None:
        """The request commits once, when it is done."""

    def rollback(self) -> None:
        self._uow.rollback()

    def __enter__(self) -> _Nested:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._uow.rollback()


class RequestStore:
    """A store whose every unit of work is the request's: hand it to a command's ``apply``, to ``Workflows`` or to
    the privacy services, and their work joins the request's transaction."""

    def __init__(self, uow: OutboxUnitOfWork) -> None:
        self.uow = uow

    @property
    def url(self) -> str:
        return "request://"

    def unit_of_work(self) -> _Nested:
        return _Nested(self.uow)

    def as_store(self) -> Store:
        return cast(Store, self)


async def in_request(store: AsyncStore, work: Callable[[RequestStore], T]) -> T:
    """``work`` in one unit of work of ``store``, committed when it returns; nothing is written when it raises."""
    async with store.unit_of_work() as uow:
        result = await uow.run_sync(lambda sync: work(RequestStore(sync)))
        await uow.commit()
        return result


# --- problems ---------------------------------------------------------------------------------------------------


def problem_response(error: CustdataError, request: Request, *, status: int | None = None) -> JSONResponse:
    document = error.to_problem_details(instance=request.url.path)
    if status is not None:
        document["status"] = status
    headers = {"WWW-Authenticate": "Bearer"} if document["status"] == 401 else None
    return JSONResponse(document, status_code=document["status"], media_type=PROBLEM_JSON, headers=headers)


class Unauthorized(CustdataError):
    """No valid credentials: a missing, forged or expired token, or one whose customer is gone."""

    error_code = ErrorCode.INVALID_TOKEN


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError([Problem("", "is not valid JSON", code=ErrorCode.INVALID_FORMAT)]) from None


def live_customer(store: RequestStore, customer_id: str) -> custdata.Customer:
    """The authenticated customer, read in the request's unit of work; a token of an erased customer, or of one
    merged into another, opens nothing."""
    try:
        customer = store.uow.customers.get(customer_id)
    except NotFoundError:
        raise Unauthorized("the token's customer does not exist") from None
    if customer.merged_into is not None or customer.redacted_at is not None:
        raise Unauthorized("the token's customer does not exist")
    return customer


def profile(customer: custdata.Customer) -> dict[str, Any]:
    document = custdata.to_dict(customer)
    document.pop("private_metadata", None)
    return document


def _split(payload: Any, parts: dict[str, type[Any]]) -> dict[str, Any]:
    """Read an object made of several commands' payloads; every problem of every part at once."""
    if not isinstance(payload, dict):
        raise ValidationError([Problem("", "must be a JSON object", code=ErrorCode.INVALID_TYPE)])
    problems = [
        Problem(key, "is not a known field", code=ErrorCode.UNKNOWN_FIELD) for key in payload if key not in parts
    ]
    commands: dict[str, Any] = {}
    for key, command in parts.items():
        if key not in payload:
            problems.append(Problem(key, "is required", code=ErrorCode.REQUIRED))
            continue
        try:
            commands[key] = command.from_payload(payload[key])
        except ValidationError as exc:
            problems.extend(exc.prefixed(key).problems)
    if problems:
        raise ValidationError(problems)
    return commands


_CARRIER_FIELDS = {"order_id", "shipment_id", "carrier", "status", "happened_at", "estimated_delivery_at"}


def carrier_update(payload: Any) -> dict[str, Any]:
    """The carrier's report, checked: every problem at once, each with its path and code."""
    if not isinstance(payload, dict):
        raise ValidationError([Problem("", "must be a JSON object", code=ErrorCode.INVALID_TYPE)])
    problems = [
        Problem(key, "is not a known field", code=ErrorCode.UNKNOWN_FIELD)
        for key in payload
        if key not in _CARRIER_FIELDS
    ]
    read: dict[str, Any] = {}
    for key in ("order_id", "shipment_id", "carrier", "status", "happened_at"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            code = ErrorCode.REQUIRED if key not in payload else ErrorCode.INVALID_TYPE
            problems.append(Problem(key, "must be a non-empty string", code=code))
    status = happened_at = estimated = None
    if isinstance(payload.get("status"), str):
        try:
            status = TrackingStatus(payload["status"])
        except ValueError:
            problems.append(Problem("status", "is not a tracking status", code=ErrorCode.INVALID_CHOICE))
    for key in ("happened_at", "estimated_delivery_at"):
        try:
            moment = _timestamp(payload.get(key), key)
        except ValidationError as exc:
            problems.extend(exc.problems)
        else:
            happened_at, estimated = (moment, estimated) if key == "happened_at" else (happened_at, moment)
    if not problems and status is not None and happened_at is not None:
        try:
            read["event"] = TrackingEvent(status, happened_at, estimated_delivery_at=estimated)
            read["shipment"] = Shipment(payload["shipment_id"], payload["carrier"])
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    read["order_id"] = payload["order_id"]
    return read


def _timestamp(value: Any, path: str) -> datetime | None:
    if value is None or (path == "happened_at" and not isinstance(value, str)):
        return None  # missing: reported as such
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError([Problem(path, "must be an ISO 8601 timestamp", code=ErrorCode.INVALID_FORMAT)]) from None
    if moment.tzinfo is None:
        raise ValidationError([Problem(path, "must have a UTC offset", code=ErrorCode.INVALID_FORMAT)])
    return moment


def _webhook_record_id(webhook_id: str) -> str:
    return "act_whk" + hashlib.sha256(webhook_id.encode()).hexdigest()[:40]


# --- the app ----------------------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, *, notifier: AsyncNotifier | None = None) -> FastAPI:
    """The service. Without arguments it reads its settings from the environment; ``uvicorn
    fastapi_shop.app:create_app --factory`` runs it that way."""
    settings = settings or Settings.from_env()
    tokens = Tokens(settings.secret, settings.token_lifetime)
    shop = Shop(
        name=settings.shop_name,
        url=settings.shop_url,
        secret=hmac.new(settings.secret, b"custdata example shop: links", hashlib.sha256).digest(),
    )
    flows = Workflows(shop=shop)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await open_async_store(settings.store_url)
        sender = notifier if notifier is not None else notifier_from(settings)
        stop = asyncio.Event()
        state["store"] = store
        workers = [
            asyncio.create_task(AsyncDispatcher(store, sender).run_forever(stop, idle=settings.dispatch_idle)),
            asyncio.create_task(run_timers(store, stop)),
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
            close = getattr(sender, "aclose", None)
            if close is not None and notifier is None:
                await close()
            await store.close()

    async def run_timers(store: AsyncStore, stop: asyncio.Event) -> None:
        """Fire the workflow timers that fell due (review requests, reminders), every ``timers_every`` seconds."""
        while not stop.is_set():
            with contextlib.suppress(CustdataError):
                await in_request(store, lambda s: flows.run_due(s.as_store()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.timers_every)

    app = FastAPI(title=settings.shop_name, version="1.0", lifespan=lifespan)

    def store() -> AsyncStore:
        return cast(AsyncStore, state["store"])

    def authenticated(request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        customer_id = tokens.read(token.strip()) if scheme.lower() == "bearer" else None
        if customer_id is None:
            raise Unauthorized("a valid bearer token is required")
        return customer_id

    @app.exception_handler(CustdataError)
    async def custdata_error(request: Request, exc: CustdataError) -> JSONResponse:
        return problem_response(exc, request, status=401 if isinstance(exc, Unauthorized) else None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(custdata.ProgrammingError("the service failed"), request)

    def body_of(name: str) -> dict[str, Any]:
        schema = {"$ref": f"#/components/schemas/{name}"}
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    @app.post("/customers", status_code=202, openapi_extra=body_of("RegisterCustomer"))
    async def register(request: Request) -> dict[str, str]:
        """Open an account. The answer is the same whether the address has an account or not; the address gets
        a sign-in link (a new account's, or the existing account's)."""
        command = RegisterCustomer.from_payload(await json_body(request))

        def work(s: RequestStore) -> None:
            registered = command.apply(s.as_store())
            holder = registered.customer.id if registered.customer is not None else registered.existing
            assert holder is not None
            token = tokens.issue(holder)
            intro = (
                f"welcome to {settings.shop_name}."
                if registered.customer is not None
                else "someone asked to open an account with this address, which has one already. If it was you:"
            )
            sign_in = Message(
                idempotency_key=f"{holder}:sign_in:{os.urandom(12).hex()}",  # each request its own mail
                channel=Channel.EMAIL,
                topic=Topic.ACCOUNT,
                recipient=str(command.email),
                subject=f"Sign in to {settings.shop_name}",
                text=f"Hello,\n\n{intro}\nSign in: {settings.shop_url}/sign-in#token={token}\n",
            )
            enqueue(s.uow, sign_in, customer_id=holder, now=datetime.now(UTC))

        await in_request(store(), work)
        return {"status": "accepted", "detail": "Check your inbox to continue."}

    @app.post("/guest-checkout", status_code=201, openapi_extra=body_of("GuestCheckout"))
    async def guest_checkout(request: Request) -> dict[str, Any]:
        """A guest record and its order, in one unit of work; the answer carries the guest's token."""
        commands = _split(await json_body(request), {"customer": CreateGuest, "order": PlaceOrder})

        def work(s: RequestStore) -> dict[str, Any]:
            guest = commands["customer"].apply(s.as_store())
            placed = commands["order"].apply(s.as_store(), guest.id, currency=settings.currency, workflows=flows)
            return {"customer_id": guest.id, "token": tokens.issue(guest.id), **_order(placed.order)}

        return await in_request(store(), work)

    @app.post("/orders", status_code=201, openapi_extra=body_of("PlaceOrder"))
    async def place_order(request: Request) -> dict[str, Any]:
        customer_id = authenticated(request)
        command = PlaceOrder.from_payload(await json_body(request))

        def work(s: RequestStore) -> dict[str, Any]:
            # the command reads the customer and refuses one that is gone, erased or merged into another: that
            # read is the token's check too (one read less per order); the workflows are handed the customer and
            # the order the command holds, and read neither again
            try:
                placed = command.apply(s.as_store(), customer_id, currency=settings.currency, workflows=flows)
            except NotFoundError as exc:
                if exc.kind == "customer" and exc.key == customer_id:
                    raise Unauthorized("the token's customer does not exist") from None
                raise
            return _order(placed.order)

        return await in_request(store(), work)

    @app.get("/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> dict[str, Any]:
        """One of the customer's own orders; another customer's order is not found."""
        customer_id = authenticated(request)

        def work(s: RequestStore) -> dict[str, Any]:
            live_customer(s, customer_id)
            try:
                order = s.uow.orders.get(order_id)
            except (NotFoundError, ValidationError):
                order = None
            if order is None or order.customer_id != customer_id:
                raise NotFoundError("order", order_id)
            return custdata.to_dict(order)

        return await in_request(store(), work)

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        customer_id = authenticated(request)
        return await in_request(store(), lambda s: profile(live_customer(s, customer_id)))

    @app.patch("/me", openapi_extra=body_of("UpdateProfile"))
    async def update_me(request: Request) -> dict[str, Any]:
        customer_id = authenticated(request)
        command = UpdateProfile.from_payload(await json_body(request))

        def work(s: RequestStore) -> dict[str, Any]:
            live_customer(s, customer_id)
            return profile(command.apply(s.as_store(), customer_id))

        return await in_request(store(), work)

    @app.get("/me/export")
    async def export_me(request: Request) -> dict[str, Any]:
        """Everything the shop holds about the authenticated customer (right of access)."""
        customer_id = authenticated(request)

        def work(s: RequestStore) -> dict[str, Any]:
            live_customer(s, customer_id)
            return export_customer(s.as_store(), customer_id)

        return await in_request(store(), work)

    @app.delete("/me", status_code=204)
    async def erase_me(request: Request) -> Response:
        """Erase the authenticated customer (right to erasure); its token opens nothing afterwards."""
        customer_id = authenticated(request)

        def work(s: RequestStore) -> None:
            live_customer(s, customer_id)
            erase_customer(s.as_store(), customer_id, purge=False)

        await in_request(store(), work)
        purge = getattr(store(), "purge_residue", None)
        if purge is not None:  # the old values leave the files now: SQLite's log and free pages, PostgreSQL's tables
            await purge()
        return Response(status_code=204)

    @app.post("/carrier/webhook", status_code=204, openapi_extra=body_of("CarrierUpdate"))
    async def carrier_webhook(request: Request) -> Response:
        """A carrier's tracking update, signed the Standard Webhooks way with ``SHOP_CARRIER_SECRET``. A bad or
        stale signature is refused (401) before the body is read; a delivery id seen before (a replay) is
        refused (409) and changes nothing."""
        body = await request.body()
        if not verify(settings.carrier_secret, body, list(request.headers.items())):
            raise Unauthorized("the webhook signature is missing, wrong or too old")
        webhook_id = request.headers["webhook-id"]
        report = carrier_update(await json_body(request))

        def work(s: RequestStore) -> None:
            # the delivery id is recorded with the change, in the same transaction: a replay is a duplicate key
            s.uow.activity.add(
                ActivityEvent(
                    id=_webhook_record_id(webhook_id),
                    event="Carrier Webhook Received",
                    occurred_at=datetime.now(UTC),
                    anonymous_id="carrier",
                )
            )
            order = s.uow.orders.get(report["order_id"])
            shipment: Shipment = report["shipment"]
            if all(known.id != shipment.id for known in order.shipments):
                flows.change(s.as_store(), order.id, AddShipment(shipment))
            flows.change(s.as_store(), order.id, CarrierUpdate(shipment.id, report["event"]))

        await in_request(store(), work)
        return Response(status_code=204)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(openapi_schemas())
            schemas["GuestCheckout"] = {
                "type": "object",
                "properties": {
                    "customer": {"$ref": "#/components/schemas/CreateGuest"},
                    "order": {"$ref": "#/components/schemas/PlaceOrder"},
                },
                "required": ["customer", "order"],
                "additionalProperties": False,
            }
            schemas["CarrierUpdate"] = {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string"},
                    "shipment_id": {"type": "string"},
                    "carrier": {"type": "string"},
                    "status": {"enum": [s.value for s in TrackingStatus]},
                    "happened_at": {"type": "string", "format": "date-time"},
                    "estimated_delivery_at": {"type": ["string", "null"], "format": "date-time"},
                },
                "required": ["order_id", "shipment_id", "carrier", "status", "happened_at"],
                "additionalProperties": False,
            }
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _order(order: custdata.Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "status": order.status.value,
        "total": {"amount": str(order.total.amount), "currency": order.total.currency},
        "placed_at": order.placed_at.isoformat(),
    }
