"""Headless system Chromium (never a downloaded build) driving the real ``dev`` stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from catalyst_interactions.dev import DevStack, build_dev
from catalyst_interactions.framework.registry import Registry
from catalyst_interactions.settings import Settings

from .demo_bot import demo_registry

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def running(tmp: Path, registry: Registry | None) -> Iterator[DevStack]:
    stack = build_dev(Settings(data_dir=tmp, job_retry_base_s=0.05), registry, port=0)
    with stack.background():
        yield stack


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running(tmp_path_factory.mktemp("demo"), demo_registry())


def open_page(browser: Browser, stack: DevStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(stack.url + "/")
    page.wait_for_selector("#conn.live")
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser: Browser, demo: DevStack) -> Iterator[Page]:
    yield from open_page(browser, demo)
