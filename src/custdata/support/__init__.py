"""Support conversations: inbound messages from any channel grouped into conversations, routed to teams, and
"where is my order?" answered from the order's tracking (see ``docs/support.md``)."""

from __future__ import annotations

from .desk import Received, SupportDesk, SupportError, all_conversations
from .intent import WISMO, Classification, Classifier, KeywordClassifier, detect_language
from .mailbox import MailboxImport, MailMessage, UnmatchedThread, import_mailbox, read_mailbox, threads
from .model import Conversation, ConversationState, build_conversations
from .routing import RoutingFacts, RoutingRules, Rule
from .wismo import OrderLookup, TrackingAnswer, find_order, tracking_answer

__all__ = [
    "WISMO",
    "all_conversations",
    "Classification",
    "Classifier",
    "Conversation",
    "ConversationState",
    "KeywordClassifier",
    "MailMessage",
    "MailboxImport",
    "OrderLookup",
    "Received",
    "RoutingFacts",
    "RoutingRules",
    "Rule",
    "SupportDesk",
    "SupportError",
    "TrackingAnswer",
    "UnmatchedThread",
    "build_conversations",
    "detect_language",
    "find_order",
    "import_mailbox",
    "read_mailbox",
    "threads",
    "tracking_answer",
]
