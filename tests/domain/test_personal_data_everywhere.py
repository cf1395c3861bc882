"""One definition of personal data across the whole package: every attrs class of every custdata module is walked.

A class either carries a personal-data mark on every field (see :mod:`custdata.domain.personal`), or it is one of
the classes listed in :data:`UNMARKED` with exactly the fields it has today: a new class, or a field added to any
class, fails here until it is marked. A class with a field marked ``personal`` may not print it through attrs'
generated ``repr()``.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime

import attrs
import pytest

import custdata
from custdata.domain import Personal
from custdata.domain.personal import field_kind, unclassified_fields


def _classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(custdata.__path__, "custdata."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for obj in vars(module).values():
            if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


CLASSES = _classes()
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)

#: The attrs classes whose fields carry no marks, each with the fields it has: settings, statistics, schema and
#: run state, and the result classes of analytics, matching, imports, workflows and the notifiers.
UNMARKED: dict[str, tuple[str, ...]] = {
    "custdata._errors.Problem": ("path", "message", "code"),
    "custdata.commands._base.Ids": ("customer", "order"),
    "custdata.commands._fields.Choice": ("enum", "choices"),
    "custdata.commands._fields.Field": ("name", "kind", "required", "nullable", "description"),
    "custdata.commands._fields.Integer": ("minimum", "maximum"),
    "custdata.commands._fields.ListOf": ("item", "max_items", "min_items"),
    "custdata.commands._fields.Shape": ("fields", "forbidden"),
    "custdata.commands._fields.Text": ("max_length", "multiline", "blank"),
    "custdata.analytics._results.Table": ("rows",),
    "custdata.analytics.audience.Audience": ("name", "as_of", "customer_ids"),
    "custdata.analytics.cohorts.CohortCell": ("cohort", "period", "customers", "active", "retention"),
    "custdata.analytics.cohorts.CohortRetention": ("rows",),
    "custdata.analytics.facts.CustomerFacts": (
        "customer_id",
        "as_of",
        "orders",
        "cancelled_orders",
        "revenue",
        "refunds",
        "first_order_at",
        "last_order_at",
        "items",
        "items_returned",
        "countries",
        "last_cart_at",
        "last_purchase_at",
        "customer",
    ),
    "custdata.analytics.facts.CustomerFactsTable": ("rows",),
    "custdata.analytics.impact.ImpactEstimate": ("rows", "churn_effect", "ticket_effect", "total"),
    "custdata.analytics.impact.ImpactStep": ("name", "formula", "arithmetic", "value", "unit"),
    "custdata.analytics.lifetime.CustomerLifetime": ("customer_id", "currency", "orders", "spent", "basis"),
    "custdata.analytics.lifetime.LifetimeTotals": ("rows",),
    "custdata.analytics.metrics.Churn": (
        "start",
        "end",
        "customers_at_start",
        "churned",
        "retained",
        "new_customers",
        "rate",
    ),
    "custdata.analytics.metrics.CurrencyMetrics": ("currency", "orders", "customers", "revenue", "average_order_value"),
    "custdata.analytics.metrics.CustomerValue": (
        "customer_id",
        "currency",
        "orders",
        "revenue",
        "refunds",
        "clv",
        "first_order_at",
        "last_order_at",
    ),
    "custdata.analytics.metrics.HistoricClv": ("rows",),
    "custdata.analytics.metrics.OrderMetrics": (
        "rows",
        "orders",
        "cancelled_orders",
        "customers",
        "repeat_customers",
        "purchase_frequency",
        "repeat_purchase_rate",
    ),
    "custdata.analytics.predictive.betageo.BetaGeoParams": ("r", "alpha", "a", "b"),
    "custdata.analytics.predictive.clv.ClvPrediction": (
        "customer_id",
        "currency",
        "probability_alive",
        "expected_purchases",
        "expected_average_value",
        "clv",
    ),
    "custdata.analytics.predictive.clv.ClvPredictions": ("rows", "periods", "period", "discount_rate"),
    "custdata.analytics.predictive.gammagamma.GammaGammaParams": ("p", "q", "gamma"),
    "custdata.analytics.predictive.summary.ClvInput": (
        "customer_id",
        "currency",
        "frequency",
        "recency",
        "T",
        "monetary",
    ),
    "custdata.analytics.predictive.summary.ClvSummary": ("rows", "as_of", "unit", "currency"),
    "custdata.analytics.returns.AttributeReturnRates": ("rows",),
    "custdata.analytics.returns.AttributeReturns": ("attribute", "value", "sold", "returned", "return_rate", "reasons"),
    "custdata.analytics.returns.CustomerReturnRates": ("rows",),
    "custdata.analytics.returns.CustomerReturns": (
        "customer_id",
        "orders",
        "orders_with_returns",
        "items",
        "items_returned",
        "return_rate",
    ),
    "custdata.analytics.returns.ProductReturnRates": ("rows",),
    "custdata.analytics.returns.ProductReturns": (
        "sku",
        "variant",
        "product_name",
        "sold",
        "returned",
        "return_rate",
        "reasons",
    ),
    "custdata.analytics.rfm.RfmScore": (
        "customer_id",
        "currency",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "code",
        "segment",
    ),
    "custdata.analytics.rfm.RfmTable": ("rows", "as_of", "currency"),
    "custdata.analytics.segments.AllOf": ("parts",),
    "custdata.analytics.segments.AnyOf": ("parts",),
    "custdata.analytics.segments.Not": ("part",),
    "custdata.analytics.segments.Rule": ("name", "check"),
    "custdata.analytics.segments.Segment": ("name", "rule", "description"),
    "custdata.analytics.service.Nps": ("responses", "promoters", "passives", "detractors", "score"),
    "custdata.analytics.service.SupportLoad": (
        "orders",
        "contacts",
        "tickets",
        "contacts_per_order",
        "tickets_per_order",
    ),
    "custdata.customer360.figures.Figures": (
        "as_of",
        "order_count",
        "cancelled_orders",
        "total_spent",
        "refunded",
        "average_order_value",
        "first_order_at",
        "last_order_at",
        "days_since_last_order",
        "items_bought",
        "items_returned",
        "return_rate",
        "support_contacts",
        "support_tickets",
        "open_issues",
    ),
    "custdata.customer360.figures.OpenIssue": ("kind", "order_id", "ref", "since", "description"),
    "custdata.customer360.timeline.TimelineEntry": ("at", "kind", "description", "ref", "order_id", "record"),
    "custdata.customer360.view.Customer360": (
        "customer",
        "requested_id",
        "merged_ids",
        "orders",
        "communications",
        "activity",
        "timeline",
        "figures",
    ),
    "custdata.demo.people.DemoPeople": ("customers", "true_pairs"),
    "custdata.demo.report.DemoReport": (
        "reused",
        "counts",
        "sent_by_topic",
        "suppressed_by_reason",
        "outcomes",
        "segments",
        "rfm_segments",
        "return_reasons",
        "duplicates",
        "folder",
        "timings",
        "support",
        "commerce",
    ),
    "custdata.demo.support.SupportFigures": ("messages", "wismo", "answered", "correct"),
    "custdata.matching.engines._columns.Batch": ("columns", "size"),
    "custdata.matching.engines._sql.Dialect": (
        "overlap",
        "contains_all",
        "size",
        "jaro_winkler",
        "one_edit",
        "dl1",
        "numbering",
    ),
    "custdata.storage.outbox.status.OutboxStatus": (
        "at",
        "counts",
        "due",
        "scheduled",
        "retrying",
        "leased",
        "next_due_at",
        "oldest_due_at",
        "timers",
        "timers_due",
        "next_timer_at",
    ),
    "custdata.storage.outbox.status.PendingSummary": (
        "due",
        "scheduled",
        "retrying",
        "leased",
        "oldest_due_at",
        "next_due_at",
        "timers",
        "timers_due",
        "next_timer_at",
    ),
    "custdata.support.desk.SupportDesk": (
        "routing",
        "classifier",
        "min_confidence",
        "policy",
        "segments",
        "auto_answer",
    ),
    "custdata.support.intent.Classification": ("intent", "confidence"),
    "custdata.support.intent.KeywordClassifier": ("phrases", "words", "others"),
    "custdata.support.routing.RoutingFacts": ("intent", "order_status", "segments", "language"),
    "custdata.support.routing.RoutingRules": ("rules", "default_team"),
    "custdata.support.routing.Rule": ("team", "intents", "order_statuses", "segments", "languages"),
    "custdata.demo.run.DemoSettings": ("customers", "seed", "now", "days", "outbox_folder", "batch_size"),
    "custdata.demo.run.History": ("triggers", "last_orders"),
    "custdata.demo.shop.PlannedOrder": ("order", "steps"),
    "custdata.demo.shop.Product": ("sku", "name", "price", "sizes", "colours"),
    "custdata.importing.convert.CustomerFields": ("platform", "now", "currency", "format"),
    "custdata.importing.importer.ImportOptions": (
        "platform",
        "mapping",
        "batch_size",
        "now",
        "format",
        "currency",
        "on_bad_field",
        "suppression_key",
    ),
    "custdata.importing.importer.ImportReport": (
        "read",
        "imported",
        "skipped",
        "rejected",
        "customers_added",
        "batches",
        "same_email",
        "suppressed",
        "columns",
        "fields_dropped",
        "repairs",
    ),
    "custdata.importing.importer._Changes": ("dropped", "repairs"),
    "custdata.importing.importer._CustomerRun": ("store", "options", "report", "rejects", "seen"),
    "custdata.importing.importer._Known": ("key", "customer_id", "email", "guest"),
    "custdata.importing.importer._NewCustomer": ("line", "customer", "known", "changes", "columns", "rows"),
    "custdata.importing.importer._Batch": ("pending", "unreadable", "progress"),
    "custdata.importing.importer._Head": ("id", "email", "is_guest", "metadata"),
    "custdata.importing.importer._NewOrder": ("line", "order", "changes", "columns"),
    "custdata.importing.importer._OrderRun": (
        "store",
        "options",
        "report",
        "rejects",
        "id_field",
        "shopify",
        "seen",
        "records",
    ),
    "custdata.importing.importer._PendingOrder": ("lines", "columns", "reference", "convert", "problems", "values"),
    "custdata.importing.orders.ImportedOrder": ("order", "new_customer", "guest_email"),
    "custdata.importing.repair.Repair": ("field", "kind", "note"),
    "custdata.importing.sources.Row": ("line", "fields", "problem", "column"),
    "custdata.lifecycle.changes.AddShipment": ("shipment",),
    "custdata.lifecycle.changes.Cancel": ("at", "reason"),
    "custdata.lifecycle.changes.CarrierUpdate": ("shipment_id", "event"),
    "custdata.lifecycle.changes.Deliver": ("at", "shipment_id"),
    "custdata.lifecycle.changes.FlagAddressInvalid": ("at", "shipment_id", "detail"),
    "custdata.lifecycle.changes.Pack": ("at",),
    "custdata.lifecycle.changes.Pay": ("at",),
    "custdata.lifecycle.changes.Refund": ("return_id", "amount", "at"),
    "custdata.lifecycle.changes.RequestReturn": ("ret",),
    "custdata.lifecycle.changes.Ship": ("shipment", "at"),
    "custdata.lifecycle.changes.UpdateReturn": ("return_id", "status", "at"),
    "custdata.matching.blocking.BlockingStats": ("blocks", "oversized_blocks", "pairs"),
    "custdata.matching.engines.duckdb_engine.DuckDBEngine": ("memory_limit", "threads", "prepare_process"),
    "custdata.matching.evaluation.Accuracy": ("true_positives", "false_positives", "false_negatives"),
    "custdata.matching.matcher.MatchResult": ("pairs", "records", "compared", "blocking"),
    "custdata.matching.matcher.Matcher": (
        "model",
        "auto_merge",
        "review",
        "default_region",
        "max_block_size",
        "window",
        "engine",
        "_tables",
        "_household",
        "_frequent",
    ),
    "custdata.matching.model.CandidatePair": ("left", "right", "score", "decision", "evidence", "reason"),
    "custdata.matching.model.FieldEvidence": ("field", "outcome", "level", "weight", "note"),
    "custdata.matching.model.Level": ("m", "u"),
    "custdata.matching.model.FitSummary": (
        "converged",
        "iterations",
        "max_iterations",
        "match_share",
        "records",
        "candidate_pairs",
        "random_pairs",
        "seed",
        "kept_prior",
    ),
    "custdata.matching.model.MatchModel": ("probabilities", "same_address", "term_frequencies", "fit_summary"),
    "custdata.matching.model.ModelReport": ("rows", "notes", "converged"),
    "custdata.matching.records.CustomerRecord": (
        "id",
        "given_name",
        "family_name",
        "email",
        "phone",
        "street",
        "postal_code",
        "city",
        "country",
        "birthday",
        "other_emails",
        "other_phones",
        "is_guest",
    ),
    "custdata.matching.review.MergedPair": ("decision", "survivor", "merged", "merge_id"),
    "custdata.matching.review.Refusal": ("decision", "reason"),
    "custdata.matching.review.ReviewDecision": ("pair_id", "left", "right", "verdict"),
    "custdata.matching.review.ReviewReport": ("merged", "not_same", "skipped", "refused"),
    "custdata.matching.review._Item": ("pair", "pair_id", "left", "right"),
    "custdata.matching.synthetic.SyntheticData": ("records", "entity_of", "true_pairs"),
    "custdata.matching.synthetic._Person": (
        "country",
        "given",
        "family",
        "email",
        "phone",
        "street",
        "street_type",
        "house",
        "postal",
        "city",
        "birthday",
    ),
    "custdata.merge.model.MergePlan": (
        "survivor_id",
        "merged_ids",
        "before",
        "result",
        "provenance",
        "rules",
        "orders",
        "communications",
        "activity",
    ),
    "custdata.merge.model.MergeRecord": (
        "id",
        "survivor_id",
        "merged_ids",
        "merged_at",
        "before",
        "versions",
        "orders",
        "communications",
        "activity",
        "provenance",
        "undone_at",
    ),
    "custdata.merge.model.MovedRecord": ("id", "from_customer", "version"),
    "custdata.merge.rules.FieldProvenance": ("field", "rule", "sources"),
    "custdata.merge.rules.MergeRules": ("fields", "overrides"),
    "custdata.notebook.render.Html": ("html",),
    "custdata.notify._addresses.AddressPolicy": ("block", "allowed", "resolver"),
    "custdata.notify.mime.Envelope": ("mail_from", "rcpt_to", "message_id", "data", "smtputf8"),
    "custdata.notify.recording.Attempt": ("message", "result"),
    "custdata.notify.result.SendResult": ("outcome", "provider_id", "reason", "code", "retry_after"),
    "custdata.outbox.dispatcher.DrainReport": (
        "leased",
        "sent",
        "skipped",
        "retried",
        "failed",
        "dead",
        "lost",
        "waiting",
        "next_due_at",
        "waiting_by_reason",
        "dead_letters",
        "observed_at",
    ),
    "custdata.outbox.dispatcher.RetryPolicy": ("max_attempts", "base_delay", "max_delay", "jitter"),
    "custdata.outbox.service.Forgotten": ("cancelled", "entries", "timers"),
    "custdata.privacy.guests.Registration": (
        "customer_id",
        "address",
        "became_registered",
        "email_verified",
        "absorbed_guests",
        "attached_orders",
        "moved_communications",
        "moved_activity",
    ),
    "custdata.privacy.guests._History": ("records", "complete"),
    "custdata.privacy.retention.RetentionPolicy": (
        "activity",
        "communications",
        "delete_communications",
        "order_details",
        "guests_without_orders",
    ),
    "custdata.privacy.retention.RetentionReport": (
        "ran_at",
        "activity_deleted",
        "communications_scrubbed",
        "communications_deleted",
        "orders_pseudonymised",
        "guests_deleted",
        "purged",
        "outbox_entries_scrubbed",
        "timers_scrubbed",
    ),
    "custdata.storage.ports.CustomerQuery": (
        "name_prefix",
        "tag",
        "group",
        "country",
        "created_from",
        "created_to",
        "updated_from",
        "updated_to",
        "merged_into",
    ),
    "custdata.storage.ports.Page": ("items", "next_cursor"),
    "custdata.storage.records.Table": (
        "kind",
        "name",
        "cls",
        "columns",
        "values",
        "versioned",
        "time_column",
        "unique",
        "belongs_to_customer",
    ),
    "custdata.storage.sql.schema.Dialect": ("name", "placeholder", "tokens", "table_exists_sql", "max_params"),
    "custdata.storage.sql.schema.Migration": ("version", "description", "steps"),
    "custdata.storage.sql.schema.Schema": ("name", "migrations"),
    "custdata.testing.notifier_contract.Delivery": (
        "identity",
        "recipient",
        "text",
        "subject",
        "html",
        "unsubscribe_url",
    ),
    "custdata.testing.notifier_contract.NotifierHarness": (
        "notifier",
        "received",
        "channel",
        "recipient",
        "unreachable",
        "unserved_channel",
        "html",
        "wait",
        "close",
    ),
    "custdata.workflows.context.Shop": (
        "name",
        "url",
        "order_url",
        "review_url",
        "cart_url",
        "unsubscribe_url",
        "secret",
    ),
    "custdata.workflows.engine.Step": ("rule", "action", "key", "reason", "channel", "due_at"),
    "custdata.workflows.policy.Decision": ("channel", "recipient", "not_before", "reason"),
    "custdata.workflows.policy.FrequencyCap": ("limit", "period", "topics"),
    "custdata.workflows.policy.Policy": (
        "default_timezone",
        "default_quiet_hours",
        "quiet_channels",
        "caps",
        "contact",
    ),
    "custdata.workflows.rules.Due": ("uow", "customer", "trigger", "now"),
    "custdata.workflows.rules.Rule": (
        "name",
        "on",
        "topic",
        "channels",
        "all_channels",
        "delay",
        "reschedule",
        "when",
        "segment",
        "guard",
        "cancels",
        "variables",
        "provides",
    ),
    "custdata.workflows.templates.Rendered": ("template", "locale", "text", "subject", "html"),
    "custdata.workflows.templates.Template": ("topic", "channel", "locale", "text", "subject", "html"),
}


def test_the_walk_reaches_every_part_of_the_package() -> None:
    packages = {name.split(".")[1] for name in CLASSES}
    assert {"domain", "notify", "outbox", "merge", "lifecycle", "matching", "privacy", "workflows"} <= packages


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_field_of_every_class_is_marked_or_the_class_is_listed(name: str) -> None:
    cls = CLASSES[name]
    fields = tuple(f.name for f in attrs.fields(cls))
    if name in UNMARKED:
        assert fields == UNMARKED[name], f"{name} changed its fields: mark them (attrs.field(metadata=...))"
    else:
        assert unclassified_fields(cls) == (), f"{name} has fields without a personal-data mark"


def test_the_list_names_only_unmarked_classes_that_exist() -> None:
    assert sorted(set(UNMARKED) - set(CLASSES)) == []
    assert [name for name in UNMARKED if not unclassified_fields(CLASSES[name])] == []


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_no_class_prints_a_personal_field_through_the_generated_repr(name: str) -> None:
    cls = CLASSES[name]
    personal = [f.name for f in attrs.fields(cls) if field_kind(f) is Personal.PERSONAL and f.repr is not False]
    if personal:
        code = getattr(cls.__repr__, "__code__", None)
        assert code is None or not code.co_filename.startswith("<attrs generated"), (name, personal)


def test_an_order_event_prints_no_tracking_number() -> None:
    from custdata.lifecycle.events import DeliveryFailed, DeliveryProblem, OrderShipped

    shipped = OrderShipped(
        order_id="ord_1", customer_id="cus_1", occurred_at=T0, shipment_id="shp_1", carrier="dhl",
        tracking_number="JJD000390007", tracking_url="https://t.example/JJD000390007",
    )  # fmt: skip
    failed = DeliveryFailed(
        order_id="ord_1", customer_id="cus_1", occurred_at=T0, problem=DeliveryProblem.ADDRESS_INVALID,
        detail="no Jane Roe at Hauptstr. 5",
    )  # fmt: skip
    for text in (repr(shipped), repr(failed)):
        assert "JJD000390007" not in text and "Jane" not in text and "Hauptstr" not in text
    assert "ord_1" in repr(shipped) and "dhl" in repr(shipped)
