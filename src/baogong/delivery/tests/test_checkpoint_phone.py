"""The checkpoint page and a pass with its QR on a 360-px phone in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.delivery.tests import factories
from baogong.regions.tests.factories import make_tree
from baogong.stock.tests.factories import stock_point

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PHONE = {"width": 360, "height": 740}
PASSWORD = "pw-for-tests-only"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium is not installed at {CHROMIUM}"),
]


def test_officer_checks_passes_on_a_phone(live_server, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    # All data is written before the browser starts (the Playwright loop makes the ORM refuse sync queries).
    tree = make_tree()
    owner = factories.organisation(tree.county)
    green_pass = factories.green_pass(
        region=tree.county,
        vehicle=factories.vehicle(owner, plate="浙A12345"),
        driver=factories.driver(owner),
        destinations=[tree.compound],
        origin=stock_point(tree.county),
    )
    officer = user(Role.CHECKPOINT, region=tree.county)
    commander = user(Role.COMMAND, region=tree.county)
    number, detail = green_pass.number, reverse("delivery:pass_detail", args=[green_pass.pk])
    violations: list[str] = []

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
            page = context.new_page()
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

            def sign_in(username: str) -> None:
                page.goto(live_server.url + reverse("login"))
                page.fill("#id_username", username)
                page.fill("#id_password", PASSWORD)
                page.click("form[action='/login/'] button[type=submit]")
                page.wait_for_url(live_server.url + reverse("dashboard"))

            sign_in(officer.username)
            page.goto(live_server.url + reverse("delivery:checkpoint"))
            page.fill("[name=payload_or_number]", number)
            page.fill("[name=plate_seen]", "浙A12345")
            page.click("#check-form button[type=submit]")
            page.wait_for_selector("#verdict[data-result=pass]")
            page.screenshot(path=tmp_path / "checkpoint_pass.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            page.fill("[name=payload_or_number]", number)
            page.fill("[name=plate_seen]", "浙B99999")
            page.click("#check-form button[type=submit]")
            page.wait_for_selector("#verdict[data-result=stop]")
            reasons = page.locator(".verdict-reasons li")
            assert [reasons.nth(i).get_attribute("data-reason") for i in range(reasons.count())] == ["plate_mismatch"]
            page.screenshot(path=tmp_path / "checkpoint_stop.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            context.clear_cookies()
            sign_in(commander.username)
            page.goto(live_server.url + detail)
            qr = page.locator(".pass-qr img")
            assert qr.evaluate("img => img.complete && img.naturalWidth > 0") is True
            page.screenshot(path=tmp_path / "pass_detail.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        finally:
            browser.close()

    assert violations == []
