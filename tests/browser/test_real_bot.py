"""The real Catalyst bot in the local Discord page: a chart, its buttons, and a refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from .conftest import open_page, running
from .test_local_discord_page import send, use

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


def test_chart_then_timeframe_button_then_admin_only_command(
    browser: Browser, tmp_path: Path
) -> None:
    for stack in running(tmp_path, None):  # None: the bot's own registry and services
        for page in open_page(browser, stack):
            use(page, "chart")
            page.locator("#opt-ticker").fill("AAPL")
            send(page)
            chart = page.locator(
                "article.message", has=page.locator(".embed-title", has_text="AAPL")
            )
            # Deferred: "thinking…" first, then the edit with the rendered chart.
            image = chart.locator(".embed-image")
            expect(image).to_be_visible(timeout=30_000)
            expect(image).to_have_js_property("naturalWidth", 1200)
            expect(chart).to_contain_text("Simulated data")
            one_day = chart.locator("button", has_text="1D")
            expect(one_day).to_be_disabled()

            chart.locator("button", has_text="5D").click()
            expect(chart.locator("button", has_text="5D")).to_be_disabled(timeout=30_000)
            expect(chart.locator("button", has_text="1D")).to_be_enabled()
            expect(page.locator(".embed-title", has_text="AAPL")).to_have_count(1)

            # Like Discord, /admin (default_member_permissions=8) is not offered to a regular
            # member; the admin member sees it and can run it.
            box = page.locator("#composer-input")
            box.click()
            box.fill("/adm")
            expect(page.locator(".popup-item[data-path='admin report']")).to_have_count(0)
            box.fill("")
            page.locator("#persona").select_option("admin")
            use(page, "admin report")
            send(page)
            listing = page.locator("article.message.ephemeral", has_text="No reports yet")
            expect(listing).to_be_visible(timeout=15_000)
