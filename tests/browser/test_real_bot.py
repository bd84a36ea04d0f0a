"""The real Catalyst bot in the local Discord page: a chart, its buttons, and a refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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


def _near(img: np.ndarray[Any, Any], color: str, tol: int = 40) -> int:
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img.astype(int) - rgb).sum(axis=-1) < tol).sum())


def test_every_indicator_line_starts_at_the_charts_first_bar(
    browser: Browser, tmp_path: Path
) -> None:
    """/chart with the long indicators, as a member runs it in the page: each line is drawn
    in the chart's first bars, not partway across (the look-back is fetched before the
    range). Every indicator's values are checked against references in tests/charts."""
    import io

    from PIL import Image

    from catalyst_interactions.charts import theme
    from catalyst_interactions.charts.render import layout_panels, panel_names

    for stack in running(tmp_path, None):
        for page in open_page(browser, stack):
            use(page, "chart")
            page.locator("#opt-ticker").fill("AAPL")
            page.locator("#opt-timeframe").select_option("3M")
            page.locator("#opt-indicators").fill("sma20, sma50, bollinger, rsi, macd")
            send(page)
            chart = page.locator(
                "article.message", has=page.locator(".embed-title", has_text="AAPL")
            )
            image = chart.locator(".embed-image")
            expect(image).to_be_visible(timeout=30_000)
            expect(image).to_have_js_property("naturalWidth", 1200)
            expect(chart).to_contain_text("SMA 20, SMA 50, Bollinger bands, RSI, MACD")
            src = image.get_attribute("src")
            assert src is not None
            png = page.request.get(src if src.startswith("http") else stack.url + src).body()
            chart.screenshot(path=str(tmp_path / "chart.png"))

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    height = img.shape[0]
    names = {"sma20", "sma50", "bollinger", "rsi", "macd"}
    # 3M of daily bars: about 63; the first two bars' columns of each panel.
    panels = {p.name: p for p in layout_panels(panel_names(names), 63)}

    def first_bars(name: str) -> np.ndarray[Any, Any]:
        p = panels[name]
        rows = slice(int(height - p.y1) + 22, int(height - p.y0))  # below the legend
        return img[rows, int(p.x0) + 1 : int(p.x0) + 1 + int(2 * p.bar_width)]

    for name in ("sma20", "sma50", "bollinger"):
        assert _near(first_bars("price"), theme.OVERLAY_COLORS[name]) > 0, name
    assert _near(first_bars("rsi"), theme.RSI_COLOR) > 0
    assert _near(first_bars("macd"), theme.MACD_COLOR) > 0
    assert _near(first_bars("macd"), theme.SIGNAL_COLOR) > 0
