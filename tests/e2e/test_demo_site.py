"""The README's demo, as a user runs it: web + worker + beat on SQLite, driven by a browser."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, Demo

pytestmark = pytest.mark.browser


def result_row(page, task_name: str):  # type: ignore[no-untyped-def]
    """The newest row of the results table for ``task_name`` (rows link to the admin)."""
    return page.locator("tr", has=page.locator("td > a", has_text=task_name)).first


def test_a_task_submitted_in_the_browser_runs_in_the_worker(demo: Demo, chromium_path: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(demo.url + "/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo")
            page.click("input[type=submit]")
            expect(page.locator("h1")).to_have_text("Flowrra demo")

            page.select_option("#id_task", "count_primes")
            page.fill("#id_limit", "1000")
            page.click("input[value=Submit]")
            row = result_row(page, "count_primes")
            expect(row).to_contain_text("Success", timeout=60_000)
            expect(row).to_contain_text("168")  # primes below 1,000

            page.select_option("#id_task", "import_rows")
            page.click("input[value=Submit]")
            failed = result_row(page, "import_rows")
            expect(failed).to_contain_text("Failed", timeout=60_000)

            failed.locator("a").click()
            expect(page.locator("#content")).to_contain_text("Traceback")

            page.goto(demo.url + "/admin/flowrra_django/taskresult/")
            expect(page.locator("#result_list")).to_contain_text("count_primes")
        finally:
            browser.close()
    assert demo.stop() == 0
    log = demo.log.read_text()
    assert re.search(r"Flowrra worker", log), log[-2000:]
