"""Take docs/chart-indicators.png: a /chart with indicator lines across the whole chart, as
the local Discord page shows it.

Run from the repository root: ``PYTHONPATH=tests .venv/bin/python -m browser.chart_screenshot``
(it is not a test; it writes a file in docs/).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect

from .screenshot import local_discord_page


def main(out: Path) -> None:
    with local_discord_page() as page:
        box = page.locator("#composer-input")
        box.click()
        box.fill("/chart")
        expect(page.locator(".popup-item[data-path='chart']")).to_be_visible()
        box.press("Enter")
        page.locator("#opt-ticker").fill("AAPL")
        page.locator("#opt-timeframe").select_option("3M")
        page.locator("#opt-indicators").fill("sma20, sma50, bollinger, rsi, macd")
        page.locator("#composer-send").click()
        chart = page.locator("article.message", has=page.locator(".embed-title", has_text="AAPL"))
        image = chart.locator(".embed-image")
        expect(image).to_be_visible(timeout=30_000)
        expect(image).to_have_js_property("naturalWidth", 1200)
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/chart-indicators.png"))
