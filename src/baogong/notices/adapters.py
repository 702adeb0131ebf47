"""Sending a notice: an adapter takes a message dataclass and returns a result dataclass.

The adapter is named by the dotted path in the `BAOGONG_NOTICE_ADAPTER`
setting (read at send time), so a deployment plugs in its SMS gateway or
WeChat template messages without touching the services. The default writes
the message to the log; the `Notification` row the service keeps is the page
a demo shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from baogong.core.masking import mask_phone

DEFAULT_ADAPTER = "baogong.notices.adapters.LogAdapter"
logger = logging.getLogger("baogong.notices")


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: int
    household_id: int
    # The real number is for the gateway only; adapters must not log or store it unmasked.
    phone: str
    kind: str
    language: str
    body: str


@dataclass(frozen=True)
class SendResult:
    sent: bool
    reference: str = ""
    error: str = ""


class NoticeAdapter(Protocol):
    def send(self, message: OutgoingMessage) -> SendResult: ...


class LogAdapter:
    """Writes each message to the `baogong.notices` log (phone masked)."""

    def send(self, message: OutgoingMessage) -> SendResult:
        logger.info(
            "notice %s (%s) to household %s at %s: %s",
            message.notification_id,
            message.kind,
            message.household_id,
            mask_phone(message.phone),
            message.body,
        )
        return SendResult(sent=True, reference=f"log-{message.notification_id}")


def notice_adapter_path() -> str:
    return str(getattr(settings, "BAOGONG_NOTICE_ADAPTER", DEFAULT_ADAPTER))


def notice_adapter() -> NoticeAdapter:
    adapter_class = import_string(notice_adapter_path())
    adapter: NoticeAdapter = adapter_class()
    return adapter
