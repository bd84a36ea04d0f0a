"""The local Discord page in headless Chromium, against the real dev stack (edge, workers,
emulator): commands, buttons, selects, modals, errors and the member switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from catalyst_interactions.dev import DevStack
from catalyst_interactions.discord.messages import Message
from catalyst_interactions.framework.context import CommandContext

from .conftest import open_page, running

pytestmark = [pytest.mark.browser, pytest.mark.loopback]


def use(page: Page, command: str) -> None:
    """Type /command and pick it from the list, as a user does."""
    box = page.locator("#composer-input")
    box.click()
    box.fill("/" + command)
    expect(page.locator(f".popup-item[data-path='{command}']")).to_be_visible()
    box.press("Enter")
    expect(page.locator("#composer-chip")).to_contain_text("/" + command)


def send(page: Page) -> None:
    page.locator("#composer-send").click()


def test_help_from_the_real_bot(browser: Browser, tmp_path: Path) -> None:
    for stack in running(tmp_path, None):  # None: the bot's own build_registry()
        for page in open_page(browser, stack):
            use(page, "help")
            send(page)
            embed = page.locator(".embed").first
            expect(embed.locator(".embed-title")).to_have_text("Catalyst Bot commands")
            expect(embed.locator(".embed-field-name").first).to_have_text("/help")
            expect(page.locator(".reply-line").first).to_contain_text("used /help")
            expect(page.get_by_text("Only you can see this")).to_be_visible()


def test_command_with_autocomplete_then_button_and_select_change_the_message(
    page: Page,
) -> None:
    use(page, "quote")
    ticker = page.locator("#opt-ticker")
    ticker.fill("nv")
    suggestion = page.locator(".suggestion[data-value='NVDA']")
    expect(suggestion).to_be_visible()  # fetched through a real autocomplete interaction
    suggestion.click()
    expect(ticker).to_have_value("NVDA")
    send(page)

    message = page.locator(
        "article.message", has=page.locator(".embed-title", has_text="NVDA · 1D")
    )
    expect(message.locator(".embed-image")).to_be_visible()
    expect(message.locator(".embed-image")).to_have_js_property("naturalWidth", 480)
    expect(message.locator("button[data-custom-id='tf:NVDA:1D']")).to_be_disabled()

    message.locator("button[data-custom-id='tf:NVDA:5D']").click()
    changed = page.locator(
        "article.message", has=page.locator(".embed-title", has_text="NVDA · 5D")
    )
    expect(changed).to_be_visible()
    expect(changed.locator("button[data-custom-id='tf:NVDA:5D']")).to_be_disabled()
    expect(page.locator(".embed-title", has_text="NVDA · 1D")).to_have_count(0)

    changed.locator(".select-trigger").click()
    changed.locator(".select-option[data-value='rsi']").click()
    expect(changed.locator(".embed-description code")).to_have_text("rsi")
    expect(changed.locator(".select-text")).to_have_text("RSI")


def test_modal_opens_and_its_submit_shows_the_answer(page: Page) -> None:
    use(page, "feedback")
    send(page)
    dialog = page.locator("dialog#modal")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#modal-title")).to_have_text("Send feedback")
    dialog.get_by_label("Subject").fill("The page works")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog).to_be_hidden()
    answer = page.locator("article.message", has_text="Thanks Riley!")
    expect(answer).to_contain_text("Got “The page works” (general).")
    expect(answer).to_contain_text("Only you can see this")


def test_errors_are_shown_to_the_user(page: Page, demo: DevStack) -> None:
    use(page, "boom")  # a handler bug: the framework answers with an ephemeral apology
    send(page)
    expect(
        page.locator("article.message.ephemeral", has_text="Something went wrong")
    ).to_be_visible()

    use(page, "echo")  # Discord's client refuses an out-of-range number before sending
    page.locator("#opt-text").fill("hi")
    page.locator("#opt-times").fill("5")
    send(page)
    expect(page.locator("#composer-notice")).to_have_text("times must be at most 3")

    store = demo.emulator.store
    endpoint = store.application["interactions_endpoint_url"]
    store.application["interactions_endpoint_url"] = "http://127.0.0.1:9/interactions"
    try:
        page.locator("#opt-times").fill("2")
        send(page)
        failed = page.locator("article.local", has_text="The application did not respond")
        expect(failed).to_be_visible()
        expect(failed).to_contain_text("used /echo")
    finally:
        store.application["interactions_endpoint_url"] = endpoint


def test_member_switch_changes_who_acts_and_who_sees_ephemeral_answers(page: Page) -> None:
    use(page, "whoami")
    send(page)
    regular = page.locator("article.message", has_text="You are Riley, a regular member.")
    expect(regular).to_be_visible()

    page.locator("#persona").select_option("admin")
    expect(page.locator("#me-name")).to_have_text("Ada")
    expect(regular).to_have_count(0)  # someone else's ephemeral message
    use(page, "whoami")
    send(page)
    expect(page.locator("article.message", has_text="You are Ada, an admin.")).to_be_visible()


def test_the_newest_message_is_in_view_once_its_image_has_loaded(page: Page) -> None:
    """Enough messages to scroll, then a chart: once its image has loaded (it has no height
    before), the channel is scrolled to the very bottom and the whole image is in view."""
    for n in range(12):
        use(page, "echo")
        page.locator("#opt-text").fill(f"filler {n}")
        send(page)
        expect(page.locator("article.message", has_text=f"filler {n}").first).to_be_visible()
    use(page, "quote")
    page.locator("#opt-ticker").fill("NVDA")
    send(page)
    image = page.locator(
        "article.message", has=page.locator(".embed-title", has_text="NVDA · 1D")
    ).locator(".embed-image")
    expect(image).to_have_js_property("complete", True, timeout=15_000)
    expect(image).to_have_js_property("naturalHeight", 200)
    page.wait_for_function(
        "() => { const l = document.getElementById('messages');"
        " return l.scrollHeight - l.scrollTop - l.clientHeight < 2; }",
        timeout=15_000,  # a loaded machine decodes images slowly
    )
    box, view = image.bounding_box(), page.locator("#messages").bounding_box()
    assert box is not None and view is not None
    assert box["y"] >= view["y"] and box["y"] + box["height"] <= view["y"] + view["height"]


def test_a_restarted_server_is_noticed_and_its_commands_reloaded(
    browser: Browser, tmp_path: Path
) -> None:
    """The tab stays open while the server stops and another starts on the same port with
    other commands: the page says it is reconnecting, then that the server restarted, and
    offers the new commands (never a green "live" dot over a stale list)."""
    from catalyst_interactions.dev import build_dev
    from catalyst_interactions.framework.registry import Registry
    from catalyst_interactions.settings import Settings

    from .demo_bot import demo_registry

    first = build_dev(Settings(data_dir=tmp_path / "a"), demo_registry(), port=0)
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        with first.background():
            page.goto(first.url + "/")
            expect(page.locator("#conn.live")).to_be_visible()
            port = int(first.url.rsplit(":", 1)[1])
        status = page.locator("#conn")
        expect(status).to_have_class("conn down", timeout=10_000)
        expect(status).to_have_text("reconnecting…")

        fresh = Registry()

        @fresh.command("fresh", "Only the restarted server has this")
        async def fresh_cmd(ctx: CommandContext) -> Message:
            return Message(content="fresh answer")

        second = build_dev(Settings(data_dir=tmp_path / "b"), fresh, port=port)
        with second.background():
            note = page.locator("#restart-note")
            expect(note).to_be_visible(timeout=15_000)
            expect(note).to_contain_text("restarted")
            expect(note).to_contain_text("commands and messages were reloaded")
            expect(page.locator("#conn.live")).to_be_visible()
            use(page, "fresh")
            send(page)
            expect(page.locator("article.message", has_text="fresh answer").first).to_be_visible()
            box = page.locator("#composer-input")
            box.fill("/quo")
            expect(page.locator(".popup-item[data-path='quote']")).to_have_count(0)
    finally:
        context.close()
