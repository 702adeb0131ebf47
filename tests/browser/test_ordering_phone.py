"""Ordering on a 360-px phone in headless Chromium: a resident orders a package and finds it in "my orders".

Screenshots are written to the test's temporary directory for a person to look at.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from baogong.orders.models import Order
from baogong.orders.services import LineRequest, order_place, purchase_orders_consolidate
from baogong.orders.tests.factories import AFTER_CUTOFF, DAY, NOW, build_ordering_world, new_key
from baogong.regions.models import Household
from baogong.regions.services import zone_status_set

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium is not installed at {CHROMIUM}"),
]


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px"


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state()


def test_resident_orders_a_package_on_a_phone(live_server, tmp_path: Path, monkeypatch) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    # The live server runs in this process, so its clock is the test's: 06:00:05, the window just opened.
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    # Everything the pages need is written before the browser starts: the
    # Playwright event loop makes the ORM refuse synchronous queries afterwards.
    ow = build_ordering_world()
    zone_status_set(
        actor=None, region=ow.world.regions["A1"], status="sealed", reason="case", starts_at=NOW - timedelta(hours=1)
    )
    Household.objects.filter(pk=ow.household("A1b")).update(can_order_online=False)
    # A proxy order of compound A2, already consolidated, for the supermarket's pages.
    order_place(
        actor=ow.community,
        household_id=ow.household("A2"),
        delivery_date=DAY,
        lines=[LineRequest(offer_line_id=ow.offers["veg2"].pk, quantity=1)],
        idempotency_key=new_key(),
        channel="phone",
        payment_method="cash",
        read_back_confirmed=True,
    )
    purchase_order = purchase_orders_consolidate(delivery_date=DAY, now=AFTER_CUTOFF)[0].pk
    veg = ow.offers["veg"].pk
    resident, community, supplier = ow.resident.username, ow.community.username, ow.supplier.username
    offline_household = ow.household("A1b")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
            )
            page = context.new_page()
            sign_in(page, live_server.url, resident)
            page.goto(live_server.url + reverse("orders:order_new"))
            assert page.locator("html").get_attribute("lang") == "zh-hans"
            assert page.locator("#delivery-mode").inner_text() == "送货上门"
            page.screenshot(path=tmp_path / "order_new.png", full_page=True)
            fits(page)

            page.fill(f"input[name=qty_{veg}]", "1")
            # A double tap: the second submit carries the same token and replays the first order. The
            # browser abandons the first submit's navigation for the second's, and wait_for_url fails
            # on the abandoned one when the machine is slow; so wait for where the page ends up.
            page.dblclick("#place-order")
            sync_api.expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/orders/\d+/$"))
            assert page.locator("#order-status").inner_text() == "已下单"
            page.screenshot(path=tmp_path / "order_detail.png", full_page=True)
            fits(page)

            page.goto(live_server.url + reverse("orders:order_new"))
            assert page.locator("#my-orders li[data-order]").count() == 1
            assert "已下单" in page.locator("#my-orders").inner_text()
            page.screenshot(path=tmp_path / "my_orders.png", full_page=True)
            fits(page)

            # A community worker finds the offline household and opens its proxy order form.
            worker = browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
            ).new_page()
            sign_in(worker, live_server.url, community)
            worker.goto(live_server.url + reverse("orders:proxy"))
            worker.check("input[name=offline]")
            worker.wait_for_selector(f'li[data-household="{ow.household("A1a")}"]', state="detached")
            assert worker.locator("li[data-household]").count() == 1
            worker.screenshot(path=tmp_path / "proxy_find.png", full_page=True)
            fits(worker)
            worker.click(f'li[data-household="{offline_household}"] a')
            worker.wait_for_selector("#place-order")
            worker.screenshot(path=tmp_path / "proxy_order.png", full_page=True)
            fits(worker)

            # The supermarket confirms on its phone and opens the pick list.
            shop = browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
            ).new_page()
            sign_in(shop, live_server.url, supplier)
            shop.goto(live_server.url + reverse("orders:purchase_order_detail", args=[purchase_order]))
            shop.screenshot(path=tmp_path / "purchase_order.png", full_page=True)
            fits(shop)
            shop.goto(live_server.url + reverse("orders:purchase_order_pick_list", args=[purchase_order]))
            assert shop.locator(".pack-bags li").count() == 1
            shop.screenshot(path=tmp_path / "pick_list.png", full_page=True)
            fits(shop)
            shop.emulate_media(media="print")
            assert shop.locator(".site-header").is_hidden()
        finally:
            browser.close()
    assert list(Order.objects.order_by("household_id").values_list("household_id", "channel", "delivery_mode")) == [
        (ow.household("A1a"), "online", "door"),
        (ow.household("A2"), "phone", "door"),
    ]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "my_orders.png",
        "order_detail.png",
        "order_new.png",
        "pick_list.png",
        "proxy_find.png",
        "proxy_order.png",
        "purchase_order.png",
    ]
    if os.environ.get("BAOGONG_SCREENSHOT_DIR"):
        target = Path(os.environ["BAOGONG_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            (target / shot.name).write_bytes(shot.read_bytes())
