"""A courier walks a roster on a 360-px phone in headless Chromium; the network drops halfway.

Taps made while offline are queued on the phone (shown as queued), and sent
when the network returns; the database ends with exactly one event per package.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.lastmile.models import CourierAction, DeliveryEvent
from baogong.lastmile.pickup import pickup_typed_code
from baogong.lastmile.tests.world import build_last_mile_world
from baogong.orders.models import Order
from baogong.orders.tests.factories import DAY
from baogong.regions.models import Household

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}
PASSWORD = "pw-for-tests-only"
# The server's clock on the delivery day: the phone's own (real) clock is before the cut-off,
# so the server's time is the one recorded.
NOW = datetime(2030, 4, 12, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WAIT_MS = 40_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium is not installed at {CHROMIUM}"),
]


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state()


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px"


def test_courier_walks_a_roster_and_the_network_drops_midway(live_server, tmp_path: Path, monkeypatch) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    # Everything is written before the browser starts: the Playwright event loop
    # makes the ORM refuse synchronous queries until it is closed.
    lm = build_last_mile_world()
    courier = lm.volunteers[0]
    orders = lm.roster_orders(courier)
    assert len(orders) == 7
    online_part, offline_part = orders[:3], orders[3:]
    # Offline: two delivered, one not reached then delivered on the way back down, one refused.
    plan = [(offline_part[0], "delivered"), (offline_part[1], "not_reached"), (offline_part[2], "delivered"),
            (offline_part[3], "refused")]  # fmt: skip
    url = live_server.url + reverse("lastmile:courier") + f"?day={DAY.isoformat()}"

    def tap(page, order_id: int, outcome: str) -> None:
        page.click(f'.package[data-order="{order_id}"] button[data-outcome="{outcome}"]')

    def state(page, order_id: int) -> str:
        return page.get_attribute(f'.package[data-order="{order_id}"]', "data-state") or ""

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
            )
            page = context.new_page()
            sign_in(page, live_server.url, courier.username)
            page.goto(url)
            assert page.locator("html").get_attribute("lang") == "zh-hans"
            assert page.locator(".stop").count() == 7
            fits(page)
            page.screenshot(path=tmp_path / "roster.png", full_page=True)

            for order_id in online_part:
                tap(page, order_id, "delivered")
                page.wait_for_selector(f'.package[data-order="{order_id}"][data-state="delivered"]', timeout=WAIT_MS)

            context.set_offline(True)
            for order_id, outcome in plan:
                tap(page, order_id, outcome)
            assert [state(page, order_id) for order_id, _ in plan] == ["queued"] * 4
            page.wait_for_selector('#courier[data-queued="4"]', timeout=WAIT_MS)
            assert page.locator("#sync-status").get_attribute("data-online") == "false"
            # The queue survives in the phone's storage, each action with its own id and time.
            queued = page.evaluate(f"JSON.parse(localStorage.getItem('baogong.courier.{courier.pk}'))")
            assert [(a["order_id"], a["outcome"]) for a in queued] == plan
            assert len({a["action_id"] for a in queued}) == 4
            fits(page)
            page.screenshot(path=tmp_path / "offline_queued.png", full_page=True)

            context.set_offline(False)
            page.wait_for_selector('#courier[data-queued="0"]', timeout=WAIT_MS)
            for order_id, outcome in plan:
                page.wait_for_selector(f'.package[data-order="{order_id}"][data-state="{outcome}"]', timeout=WAIT_MS)
            # Not reached can still be delivered on the way back down.
            tap(page, offline_part[1], "delivered")
            page.wait_for_selector(f'.package[data-order="{offline_part[1]}"][data-state="delivered"]', timeout=WAIT_MS)
            page.screenshot(path=tmp_path / "synced.png", full_page=True)
            fits(page)
            # A reload shows what the server holds: no buttons left for settled packages.
            page.reload()
            assert page.locator(".package .actions").count() == 0
        finally:
            browser.close()

    events = list(DeliveryEvent.objects.filter(order_id__in=orders).values_list("order_id", "outcome", "courier_id"))
    expected = [(o, "delivered", courier.pk) for o in online_part] + [
        (offline_part[0], "delivered", courier.pk),
        (offline_part[1], "not_reached", courier.pk),
        (offline_part[1], "delivered", courier.pk),
        (offline_part[2], "delivered", courier.pk),
        (offline_part[3], "refused", courier.pk),
    ]
    assert sorted(events) == sorted(expected)
    assert CourierAction.objects.filter(courier=courier).count() == 8
    statuses = dict(Order.objects.filter(pk__in=orders).values_list("pk", "status"))
    assert statuses == {o: ("failed" if o == offline_part[3] else "delivered") for o in orders}
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["offline_queued.png", "roster.png", "synced.png"]


def test_resident_shows_the_pickup_code_and_the_desk_hands_over(live_server, tmp_path: Path, monkeypatch) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    lm = build_last_mile_world()
    household = Household.objects.get(pk=lm.pw.ow.household("A2"))
    resident = user(Role.RESIDENT, household=household)
    desk = user(Role.VOLUNTEER, region=lm.pw.ow.world.regions["A2"])
    order_id = lm.household_order("A2").pk
    typed = pickup_typed_code(household_id=household.pk, delivery_date=DAY)
    desk_url = live_server.url + reverse("lastmile:pickup_desk") + f"?day={DAY.isoformat()}"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            phone = {"viewport": PHONE, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
            resident_page = browser.new_context(**phone, locale="zh-CN").new_page()
            sign_in(resident_page, live_server.url, resident.username)
            resident_page.goto(live_server.url + reverse("lastmile:pickup_code"))
            shown = resident_page.text_content(".typed-code") or ""
            assert shown.replace(" ", "") == typed
            assert resident_page.locator(".pickup-qr img").evaluate("img => img.naturalWidth") > 0
            fits(resident_page)
            resident_page.screenshot(path=tmp_path / "pickup_code.png", full_page=True)

            desk_page = browser.new_context(**phone, locale="zh-CN").new_page()
            sign_in(desk_page, live_server.url, desk.username)
            desk_page.goto(desk_url)
            fits(desk_page)
            # The resident reads the digits out (no camera in a headless browser).
            desk_page.fill("#id_code", shown)
            desk_page.click("#code-form button[type=submit]")
            desk_page.wait_for_selector(f'#household li[data-order="{order_id}"]')
            fits(desk_page)
            desk_page.screenshot(path=tmp_path / "pickup_desk.png", full_page=True)
            desk_page.click("#handover-form button[type=submit]")
            desk_page.wait_for_selector(".messages li.success")
            desk_page.fill("#id_code", shown)
            desk_page.click("#code-form button[type=submit]")
            desk_page.wait_for_selector("#household")
            assert desk_page.locator("#handover-form").count() == 0
        finally:
            browser.close()

    assert list(DeliveryEvent.objects.values_list("order_id", "outcome", "courier_id")) == [
        (order_id, "handed_over", desk.pk)
    ]
    assert Order.objects.get(pk=order_id).status == "delivered"
