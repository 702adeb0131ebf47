"""Messages sent to residents (placed at the door, not reached, pickup ready).

Every message is kept here whatever adapter sends it, so staff can answer
"was I told?" and a demo shows each message; the body never holds an unmasked
phone or ID number.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    DELIVERED = "delivered", _("placed at the door")
    NOT_REACHED = "not_reached", _("not reached")
    PICKUP_READY = "pickup_ready", _("ready for pickup")


class NoticeStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Notification(models.Model):
    household = models.ForeignKey("regions.Household", on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    language = models.CharField(max_length=16)
    body = models.CharField(_("message"), max_length=500)
    # One notice per reason and package: a replayed action never messages the resident twice.
    dedup_key = models.CharField(max_length=96, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.QUEUED)
    adapter = models.CharField(max_length=128, blank=True)
    reference = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["compound", "created_at"]), models.Index(fields=["household", "created_at"])]

    def __str__(self) -> str:
        return f"{self.household_id} {self.kind}"
