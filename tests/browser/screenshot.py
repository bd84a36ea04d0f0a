"""Take docs/screenshot.png: the page after real interactions with the Catalyst bot.

Run from the repository root: ``PYTHONPATH=tests .venv/bin/python -m browser.screenshot``
(it is not a test; it writes a file in docs/).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from catalyst_interactions.dev import build_dev
from catalyst_interactions.settings import Settings

from .conftest import CHROMIUM, CHROMIUM_ARGS


@contextmanager
def local_discord_page() -> Iterator[Page]:
    """The local Discord page, live, on a fresh data directory (the demo market data)."""
    # None: the bot's own registry and services, on the simulated demo market data.
    stack = build_dev(Settings(data_dir=Path(tempfile.mkdtemp())), None, port=0)
    with stack.background(), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(stack.url + "/")
        page.wait_for_selector("#conn.live")
        try:
            yield page
        finally:
            browser.close()


def main(out: Path) -> None:
    with local_discord_page() as page:
        box = page.locator("#composer-input")

        def use(command: str) -> None:
            box.click()
            box.fill("/" + command)
            expect(page.locator(f".popup-item[data-path='{command}']")).to_be_visible()
            box.press("Enter")

        use("watchlist add")
        page.locator("#opt-ticker").fill("NVDA")
        page.locator("#composer-send").click()
        expect(page.get_by_text("Only you can see this").first).to_be_visible()
        use("chart")
        page.locator("#opt-ticker").fill("AAPL")
        page.locator("#composer-send").click()
        chart = page.locator("article.message", has=page.locator(".embed-title", has_text="AAPL"))
        expect(chart.locator(".embed-image")).to_be_visible(timeout=60_000)
        chart.locator("button", has_text="5D").click()
        expect(chart.locator("button", has_text="5D")).to_be_disabled(timeout=60_000)
        page.wait_for_timeout(500)  # let the image finish painting
        page.mouse.move(150, 400)
        page.screenshot(path=str(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshot.png"))
