"""The order window's model: its defaults pass Django's checks at any time of day."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from baogong.orders.models import OrderWindow


@pytest.mark.parametrize("now", [datetime(2026, 11, 29, 6, 0, 0), datetime(2026, 11, 29, 16, 0, 5)])
def test_the_window_times_raise_no_fixed_default_warning_at_their_own_hour(monkeypatch, now):
    # Django warns (fields.W161) about a fixed time within ten seconds of the current UTC time.
    monkeypatch.setattr("django.db.models.fields._get_naive_now", lambda: now)

    found = [m.id for name in ("opens_at", "closes_at") for m in OrderWindow._meta.get_field(name).check()]

    assert found == []


def test_the_window_defaults_are_six_and_sixteen_hours():
    window = OrderWindow()

    assert (window.opens_at, window.closes_at) == (time(6, 0), time(16, 0))
