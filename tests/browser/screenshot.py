"""Take docs/screenshot.png: the page after real interactions with the demo bot.

Run from the repository root: ``.venv/bin/python -m browser.screenshot`` with
``PYTHONPATH=tests`` (it is not a test; it writes a file in docs/).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from catalyst_interactions.emulator import build_dev
from catalyst_interactions.settings import Settings

from .conftest import CHROMIUM, CHROMIUM_ARGS
from .demo_bot import demo_registry


def main(out: Path) -> None:
    stack = build_dev(Settings(data_dir=Path(tempfile.mkdtemp())), demo_registry(), port=0)
    with stack.background(), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 960})
        page.goto(stack.url + "/")
        page.wait_for_selector("#conn.live")
        box = page.locator("#composer-input")
        box.fill("/echo")
        box.press("Enter")
        page.locator("#opt-text").fill("Hello from the local Discord")
        page.locator("#opt-text").press("Enter")
        expect(page.locator(".content strong").first).to_be_visible()
        box.fill("/quote")
        box.press("Enter")
        page.locator("#opt-ticker").fill("NVDA")
        page.locator("#opt-ticker").press("Enter")
        expect(page.locator(".embed-image")).to_be_visible()
        page.locator("button[data-custom-id='tf:NVDA:5D']").click()
        expect(page.locator(".embed-title", has_text="NVDA · 5D")).to_be_visible()
        box.fill("/whoami")
        box.press("Enter")
        page.locator("#composer-send").click()
        expect(page.get_by_text("Only you can see this")).to_be_visible()
        box.fill("/quote")
        box.press("Enter")
        page.locator("#opt-ticker").fill("A")
        expect(page.locator(".suggestion[data-value='AMD']")).to_be_visible()
        page.mouse.move(150, 400)
        page.screenshot(path=str(out))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshot.png"))
