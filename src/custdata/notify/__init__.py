"""Delivering messages to customers: the message, the notifier protocol, results, and the notifiers.

Importing it costs nothing extra: everything here uses only the standard library, except the webhook notifiers,
which load httpx (the ``webhooks`` extra) when one is built, and the Apprise notifier, which loads apprise (the
``apprise`` extra) when one is built.
"""

from custdata.notify.apprise import AppriseNotifier
from custdata.notify.folder import FolderNotifier
from custdata.notify.message import Message
from custdata.notify.recording import Attempt, RecordingNotifier
from custdata.notify.result import Outcome, SendResult
from custdata.notify.routing import ChannelRouter
from custdata.notify.smtp import SMTPNotifier, SMTPSecurity
from custdata.notify.typing import ClosableNotifier, Notifier
from custdata.notify.webhook import AsyncWebhookNotifier, WebhookNotifier

__all__ = [
    "AppriseNotifier",
    "AsyncWebhookNotifier",
    "Attempt",
    "ChannelRouter",
    "ClosableNotifier",
    "FolderNotifier",
    "Message",
    "Notifier",
    "Outcome",
    "RecordingNotifier",
    "SMTPNotifier",
    "SMTPSecurity",
    "SendResult",
    "WebhookNotifier",
]
