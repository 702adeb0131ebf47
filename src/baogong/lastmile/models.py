"""The last mile: what happened to each package at the door or the pickup desk.

A package is one order of a household for one delivery day. `DeliveryEvent`
is append-only (database triggers) and holds one row per package and outcome;
delivered, refused and handed over are final, so a partial unique index allows
only one of them per package whatever order the phones' queued actions arrive
in. `CourierAction` keeps the first answer to every client-generated action id,
so a replayed or duplicated action gets that answer again and changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    DELIVERED = "delivered", _("placed at the door")
    NOT_REACHED = "not_reached", _("not reached (retry later)")
    REFUSED = "refused", _("refused")
    HANDED_OVER = "handed_over", _("handed over at the pickup point")


# Outcomes after which nothing about the package may change.
FINAL_OUTCOMES = (Outcome.DELIVERED, Outcome.REFUSED, Outcome.HANDED_OVER)
# Outcomes the courier page sends.
COURIER_OUTCOMES = (Outcome.DELIVERED, Outcome.NOT_REACHED, Outcome.REFUSED)


class DeliveryEvent(models.Model):
    """One outcome of one package, recorded once, never edited."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="delivery_events")
    household = models.ForeignKey("regions.Household", on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    delivery_date = models.DateField(_("delivery day"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    courier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("courier")
    )
    action_id = models.UUIDField(_("action id"), unique=True)
    # When the phone says it happened (it may have been offline), and when the server heard of it.
    happened_at = models.DateTimeField(_("at"))
    recorded_at = models.DateTimeField(_("recorded at"))
    # From the order window's cut-off to the door (delivered and handed over only).
    seconds_from_cutoff = models.PositiveIntegerField(_("seconds from cut-off"), null=True, blank=True)
    # No free text here: the table can never be purged of personal data, so a refusal's
    # reason goes onto the order (which the purge anonymises), never onto the event.

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        ordering = ["order_id", "id"]
        indexes = [models.Index(fields=["compound", "delivery_date", "outcome"])]
        constraints = [
            models.UniqueConstraint(fields=["order", "outcome"], name="delivery_event_one_per_outcome"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(outcome__in=["delivered", "refused", "handed_over"]),
                name="delivery_event_one_final_outcome",
            ),
            models.CheckConstraint(
                condition=Q(seconds_from_cutoff__isnull=True) | Q(outcome__in=["delivered", "handed_over"]),
                name="delivery_event_time_only_when_delivered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.outcome}"


class CourierAction(models.Model):
    """The first answer to one client-generated action id (replays return it unchanged)."""

    action_id = models.UUIDField(primary_key=True)
    courier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # What was asked, so the same id sent with another body is refused rather than answered wrongly.
    fingerprint = models.CharField(max_length=64)
    # The order (courier actions) or household (pickup handovers) the action is about.
    subject_id = models.BigIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    client_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField()
    result = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("courier action")
        verbose_name_plural = _("courier actions")
        indexes = [models.Index(fields=["courier", "received_at"])]

    def __str__(self) -> str:
        return f"{self.action_id} {self.outcome} → {self.status_code}"
