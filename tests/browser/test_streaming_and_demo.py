"""In the page, as a member sees it: /ask streaming from a chat-completions server (the answer
grows in the message, then the final answer replaces it), and the demo world's #alerts.

With ``CATALYST_SCREENSHOTS=DIR`` the tests also save the screenshots the docs show
(docs/streaming.png, docs/demo-alerts.png).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from catalyst_interactions.dev import DevStack, build_dev
from catalyst_interactions.settings import Settings
from support.llm_server import ChatServer
from support.servers import serve_in_thread

from .conftest import open_page
from .test_local_discord_page import send, use

pytestmark = [pytest.mark.browser, pytest.mark.loopback]

ANSWER = (
    "Three things stand out in the newest alerts. **NVDA** leads on a raised outlook, with "
    "two upgrades in the same week; **AMD** follows on the same theme. **TSLA** is the "
    "outlier: a regulatory inquiry weighs on sentiment even though the score is high. "
    "Everything here is simulated demo data, and none of it is financial advice."
)


def screenshot(page: Page, name: str) -> None:
    where = os.environ.get("CATALYST_SCREENSHOTS")
    if where:
        page.mouse.move(150, 400)
        page.screenshot(path=str(Path(where) / name))


def stack_with(tmp: Path, **settings: object) -> Iterator[DevStack]:
    base = Settings(data_dir=tmp, process_pool_size=1, cooldowns={"*": 0.0}, **settings)  # type: ignore[arg-type]
    stack = build_dev(base, None, port=0, demo=True)
    with stack.background(timeout_s=90):
        yield stack


def test_ask_streams_the_answer_into_the_message_then_shows_the_final_answer(
    browser: Browser, tmp_path: Path
) -> None:
    llm = ChatServer(answer=ANSWER, model="llama3.1:8b", delay_s=0.05, hold_after=28)
    with serve_in_thread(llm) as url:
        for stack in stack_with(tmp_path, llm_base_url=url + "/v1", llm_model="llama3.1:8b"):
            for page in open_page(browser, stack):
                use(page, "ask")
                page.locator("#opt-question").fill("What stands out in the newest alerts?")
                send(page)
                answer = page.locator(
                    "article.message", has=page.locator(".embed-title", has_text="Ask Catalyst")
                )
                description = answer.locator(".embed-description")
                # The answer grows while the model writes: a first part, then more.
                expect(description).to_contain_text("Three things stand out", timeout=30_000)
                expect(description).to_contain_text("▌")
                expect(answer).to_contain_text("writing…")
                # Held after 28 pieces: the page shows exactly what was written so far.
                assert llm.holding.wait(30)
                expect(description).to_contain_text("follows on the same theme. TSLA")
                expect(description).not_to_contain_text("outlier")
                expect(description).to_contain_text("▌")
                page.wait_for_timeout(300)
                screenshot(page, "streaming.png")
                llm.release.set()
                # The final message: the whole answer, no cursor, the model in the footer.
                expect(answer.locator(".embed-description")).to_contain_text(
                    "none of it is financial advice.", timeout=30_000
                )
                expect(answer.locator(".embed-description")).not_to_contain_text("▌")
                expect(answer).to_contain_text("llama3.1:8b · not financial advice")
                expect(answer).not_to_contain_text("writing…")
                request = llm.requests[-1]["json"]
                assert request["stream"] is True and request["model"] == "llama3.1:8b"


def test_the_demo_alerts_channel(browser: Browser, tmp_path: Path) -> None:
    for stack in stack_with(tmp_path):
        for page in open_page(browser, stack):
            page.locator("#channels button", has_text="alerts").click()
            expect(page.locator("#channel-name")).to_have_text("alerts")
            alerts = page.locator(
                "article.message", has=page.locator(".embed-title", has_text="Demo:")
            )
            expect(alerts).to_have_count(6, timeout=30_000)
            newest = alerts.last
            expect(newest.locator(".embed-image")).to_be_visible()
            expect(newest.locator(".embed-image")).to_have_js_property("naturalWidth", 1200)
            expect(newest).to_contain_text("Simulated")
            for tf in ("1D", "5D", "1M", "3M", "1Y"):
                expect(alerts.first.locator("button", has_text=tf)).to_be_visible()
            page.set_viewport_size({"width": 1280, "height": 1500})  # two alerts in view
            page.wait_for_timeout(500)
            newest.locator(".embed-image").scroll_into_view_if_needed()
            page.evaluate(
                "document.querySelector('article.message:last-of-type')?.scrollIntoView(false)"
            )
            page.wait_for_timeout(300)
            screenshot(page, "demo-alerts.png")
            # An old alert's legacy button redraws its chart in place.
            first_id = alerts.first.get_attribute("data-id")
            oldest = page.locator(f"article.message[data-id='{first_id}']")
            oldest.locator("button", has_text="3M").click()
            expect(oldest.locator(".embed-footer")).to_contain_text("3M ·", timeout=30_000)
            expect(oldest).to_contain_text("Price at alert")
            expect(oldest.locator("button", has_text="3M")).to_be_disabled()
