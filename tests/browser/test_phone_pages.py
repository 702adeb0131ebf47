"""Key pages on a 360-px phone in headless Chromium: nothing may scroll the page sideways.

Screenshots of each page are written to the test's temporary directory for a
person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from baogong.core.tests.page_data import PASSWORD, build_county

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium is not installed at {CHROMIUM}"),
]


def test_key_pages_fit_a_360_px_phone(live_server, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    # Everything the pages need is written before the browser starts: the
    # Playwright event loop makes the ORM refuse synchronous queries afterwards.
    county = build_county()
    pages = {
        "dashboard": reverse("dashboard"),
        "compound": reverse("regions:region_detail", args=[county.a.compound.pk]),
        "stock_point": reverse("stock:stock_point_detail", args=[county.county_depot.pk]),
    }
    phone_tail = county.household_a2.phone[-4:]
    household_a1, household_a2 = county.household_a1.pk, county.household_a2.pk

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
            )
            page = context.new_page()
            page.goto(live_server.url + reverse("login"))
            page.screenshot(path=tmp_path / "login.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.fill("#id_username", county.command.username)
            page.fill("#id_password", PASSWORD)
            page.click("form[action='/login/'] button[type=submit]")
            page.wait_for_url(live_server.url + reverse("dashboard"))

            for name, path in pages.items():
                page.goto(live_server.url + path)
                assert page.locator("html").get_attribute("lang") == "zh-hans"
                page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{name} scrolls sideways: {width}px"

            # The zone status form, once opened, fits too.
            page.goto(live_server.url + pages["compound"])
            page.click("#zone-form summary")
            page.screenshot(path=tmp_path / "compound_zone_form.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            # Searching a phone tail swaps in the matching household without reloading the page.
            page.goto(live_server.url + pages["compound"])
            page.evaluate("window.notReloaded = true")
            page.fill("input[name=q]", phone_tail)
            page.keyboard.press("End")
            page.wait_for_selector(f'tr[data-household="{household_a1}"]', state="detached")
            assert page.locator(f'tr[data-household="{household_a2}"]').count() == 1
            assert page.evaluate("window.notReloaded") is True
            assert page.url.endswith(f"?q={phone_tail}")
            page.screenshot(path=tmp_path / "compound_search.png", full_page=True)

            # The language switcher posts (with its CSRF token) and returns to the same page.
            page.click("form.lang button[value=en]")
            page.wait_for_selector("html[lang=en]")
            assert page.url == live_server.url + pages["compound"]
            page.screenshot(path=tmp_path / "compound_en.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        finally:
            browser.close()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "compound.png",
        "compound_en.png",
        "compound_search.png",
        "compound_zone_form.png",
        "dashboard.png",
        "login.png",
        "stock_point.png",
    ]
