"""What an inbound message is about: rules and keywords in English, German, French and Spanish, and the
:class:`Classifier` protocol for a classifier of your own.

A classifier is any callable ``classify(text, language) -> Classification``; the built-in
:class:`KeywordClassifier` scores phrases ("where is my order", "wo bleibt meine Bestellung", "où est ma
commande", "dónde está mi pedido") and words ("tracking", "Paket", "colis", "envío"), and lowers its confidence
when the message also speaks of returns, refunds, invoices or cancelling.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from custdata._errors import ValidationError

#: The intent of a "where is my order?" question.
WISMO = "wismo"
RETURNS = "returns"
BILLING = "billing"
CANCELLATION = "cancellation"
OTHER = "other"
#: Languages the keyword rules know.
LANGUAGES = ("en", "de", "fr", "es")


@attrs.frozen
class Classification:
    """An intent and how sure the classifier is of it (0 to 1)."""

    intent: str
    confidence: float

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.intent, str) or not self.intent.strip() or len(self.intent) > 64:
            raise ValidationError.single("intent", "must be a non-empty name of at most 64 characters")
        confidence = self.confidence
        if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            raise ValidationError.single("confidence", "must be a number from 0 to 1")


@runtime_checkable
class Classifier(Protocol):
    """A classifier of your own: the intent of ``text`` (``language`` is a two-letter code or None)."""

    def __call__(self, text: str, language: str | None) -> Classification: ...


def fold(text: str) -> str:
    """Lower case without accents and with single spaces: what the keyword rules compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")
    return " ".join(re.sub(r"[^\w#-]+", " ", plain).split())


_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "where is my order",
        "where s my order",
        "where is my parcel",
        "where is my package",
        "where is my delivery",
        "has my order shipped",
        "has my order been shipped",
        "not arrived",
        "hasn t arrived",
        "has not arrived",
        "not received",
        "haven t received",
        "have not received",
        "when will my order",
        "when will it arrive",
        "when will i get",
        "delivery status",
        "order status",
        "still waiting for my order",
        "track my order",
    ),
    "de": (
        "wo ist meine bestellung",
        "wo bleibt meine bestellung",
        "wo ist mein paket",
        "wo bleibt mein paket",
        "noch nicht angekommen",
        "nicht angekommen",
        "noch nicht erhalten",
        "nicht erhalten",
        "wann kommt",
        "wann wird meine bestellung",
        "lieferstatus",
        "bestellstatus",
        "status meiner bestellung",
        "warte noch auf meine bestellung",
    ),
    "fr": (
        "ou est ma commande",
        "ou en est ma commande",
        "ou est mon colis",
        "pas encore recu",
        "pas recu",
        "toujours pas recu",
        "quand vais-je recevoir",
        "quand vais je recevoir",
        "statut de ma commande",
        "suivi de ma commande",
        "suivi de commande",
        "pas encore arrive",
        "pas encore arrivee",
        "pas arrive",
        "pas arrivee",
        "n est pas arrive",
    ),
    "es": (
        "donde esta mi pedido",
        "donde esta mi paquete",
        "no ha llegado",
        "no me ha llegado",
        "no he recibido",
        "todavia no he recibido",
        "cuando llega",
        "cuando llegara",
        "estado de mi pedido",
        "seguimiento de mi pedido",
        "sigo esperando mi pedido",
    ),
}
_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("tracking", "parcel", "package", "shipped", "shipping", "delivery", "arrive", "courier"),
    "de": ("sendungsverfolgung", "paket", "lieferung", "versand", "sendung", "zustellung", "geliefert"),
    "fr": ("suivi", "colis", "livraison", "expedie", "expedition", "livre"),
    "es": ("seguimiento", "paquete", "envio", "entrega", "enviado", "llegar"),
}
_OTHER: dict[str, tuple[str, ...]] = {
    RETURNS: (
        "return",
        "send back",
        "exchange",
        "rucksendung",
        "rucksenden",
        "zuruckschicken",
        "umtausch",
        "retour",
        "renvoyer",
        "echanger",
        "devolucion",
        "devolver",
        "cambiar",
    ),
    BILLING: (
        "refund",
        "invoice",
        "charged twice",
        "payment",
        "erstattung",
        "rechnung",
        "zahlung",
        "rembourse",
        "facture",
        "paiement",
        "reembolso",
        "factura",
        "pago",
    ),
    CANCELLATION: ("cancel", "stornieren", "storno", "annuler", "annulation", "cancelar", "anular"),
}
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "is",
            "my",
            "and",
            "where",
            "have",
            "not",
            "it",
            "i",
            "you",
            "when",
            "was",
            "of",
            "to",
            "order",
            "please",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "ist",
            "und",
            "meine",
            "mein",
            "nicht",
            "ich",
            "wo",
            "noch",
            "wann",
            "bestellung",
            "bitte",
            "habe",
            "ein",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "est",
            "et",
            "ma",
            "mon",
            "pas",
            "je",
            "ou",
            "de",
            "commande",
            "quand",
            "encore",
            "bonjour",
            "un",
            "une",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "es",
            "y",
            "mi",
            "no",
            "yo",
            "donde",
            "de",
            "pedido",
            "cuando",
            "todavia",
            "hola",
            "un",
            "una",
            "por",
            "me",
            "que",
            "las",
            "tienen",
            "pueden",
            "esta",
        ]
    ),
}


def _has(folded: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded) is not None


def detect_language(text: str, default: str | None = None) -> str | None:
    """The language of ``text`` among English, German, French and Spanish (by common words), or ``default``."""
    words = fold(text).split()[:400]
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(LANGUAGES, key=lambda lang: scores[lang])
    return best if scores[best] > 0 else default


@attrs.frozen
class KeywordClassifier:
    """The built-in rules: a "where is my order?" phrase gives confidence 0.9, each further phrase or word adds
    to it; words alone (``tracking``, ``Paket``) give less; returns, refunds, invoices or cancelling in the same
    message take confidence away and, when they outweigh it, give their own intent."""

    phrases: Mapping[str, tuple[str, ...]] = _PHRASES
    words: Mapping[str, tuple[str, ...]] = _WORDS
    others: Mapping[str, tuple[str, ...]] = _OTHER

    def __call__(self, text: str, language: str | None = None) -> Classification:
        folded = fold(text[:20_000])
        langs = [language] if language is not None and language in self.phrases else list(self.phrases)
        phrases = sum(_has(folded, p) for lang in langs for p in self.phrases[lang])
        words = sum(_has(folded, w) for lang in langs for w in self.words.get(lang, ()))
        others = {intent: sum(_has(folded, w) for w in ws) for intent, ws in self.others.items()}
        other_intent, other_hits = max(others.items(), key=lambda kv: kv[1])
        wismo = (
            (0.9 if phrases else 0.0) + 0.05 * max(phrases - 1, 0) + (0.3 if words else 0.0) + 0.1 * max(words - 1, 0)
        )
        wismo = min(wismo, 1.0) - 0.35 * other_hits
        if wismo >= 0.3 and wismo >= 0.3 * other_hits:
            return Classification(WISMO, round(min(max(wismo, 0.0), 1.0), 3))
        if other_hits:
            return Classification(other_intent, round(min(0.5 + 0.2 * other_hits, 1.0), 3))
        return Classification(OTHER, 0.5)
