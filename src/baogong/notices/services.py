"""Queue a notice to a household and hand it to the adapter once the change that caused it is committed."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from baogong.regions.models import Household

from .adapters import OutgoingMessage, notice_adapter, notice_adapter_path
from .models import NoticeStatus, Notification

# Residents are addressed in Chinese whatever language the courier's phone uses.
NOTICE_LANGUAGE = "zh-hans"
# A run of 7 or more digits could be a phone or ID number; a masked one (138****5678) never is.
_UNMASKED_NUMBER = re.compile(r"\d{7,}|\d{6}(19|20)\d{6}[\dXx]{3,4}")


def notice_validate_body(body: str) -> str:
    if _UNMASKED_NUMBER.search(body):
        # A programming error, never user input: refuse rather than send a resident's number around.
        raise ValueError("a notice body must not contain an unmasked phone or ID number")
    return body


def notice_send(
    *,
    household: Household,
    kind: str,
    dedup_key: str,
    template: Any,
    params: dict[str, Any],
    order_id: int | None = None,
) -> Notification | None:
    """Record a notice and send it after commit; the same `dedup_key` twice sends once (returns None).

    `template` is a lazily translated string with %(name)s placeholders; `params`
    may hold lazily translated labels, rendered under the same language.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notice_send must run inside the transaction of the change it reports")
    if Notification.objects.filter(dedup_key=dedup_key).exists():
        return None
    with translation.override(NOTICE_LANGUAGE):
        body = str(template) % {name: str(value) for name, value in params.items()}
    notification = Notification.objects.create(
        household=household,
        compound_id=household.compound_id,
        order_id=order_id,
        kind=kind,
        language=NOTICE_LANGUAGE,
        body=notice_validate_body(body)[:500],
        dedup_key=dedup_key,
        adapter=notice_adapter_path(),
    )
    message = OutgoingMessage(
        notification_id=notification.pk,
        household_id=household.pk,
        phone=household.phone,
        kind=kind,
        language=NOTICE_LANGUAGE,
        body=notification.body,
    )
    transaction.on_commit(lambda: notice_deliver(message=message))
    return notification


def notice_deliver(*, message: OutgoingMessage) -> None:
    """Hand one message to the adapter and record what it said (runs after the commit)."""
    try:
        result = notice_adapter().send(message)
    # A gateway failure must not break the caller (the change is committed); it is recorded instead.
    except Exception as error:
        Notification.objects.filter(pk=message.notification_id).update(
            status=NoticeStatus.FAILED, error=type(error).__name__[:255]
        )
        return
    Notification.objects.filter(pk=message.notification_id).update(
        status=NoticeStatus.SENT if result.sent else NoticeStatus.FAILED,
        reference=result.reference[:128],
        error=result.error[:255],
        sent_at=timezone.now() if result.sent else None,
    )
