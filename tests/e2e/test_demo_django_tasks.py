"""The demo's Django Tasks page in a browser: a ``django.tasks`` task enqueued from the page
runs in the demo's worker; screenshots at laptop (1280 px) and phone (390 px) widths go to
tests/e2e/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, ROOT, Demo

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "e2e" / "screenshots"


def test_a_django_task_enqueued_from_the_report_page_succeeds(
    demo: Demo, chromium_path: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(demo.url + "/shop/report/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo")
            page.click("input[type=submit]")
            expect(page.locator("h1")).to_have_text("Django's Tasks framework on Flowrra")

            page.fill("#id_hours", "6")
            page.click("input[value='Enqueue the report']")
            expect(page.locator(".messagelist")).to_contain_text("Enqueued summarize_results")
            row = page.locator("#reports tbody tr").first
            expect(row).to_contain_text("SUCCESSFUL", timeout=60_000)
            expect(row).to_contain_text("'hours': 6")
            page.screenshot(path=str(SHOTS / "django-tasks-report-laptop.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(SHOTS / "django-tasks-report-phone.png"), full_page=True)

            page.goto(demo.url + "/admin/flowrra_django/taskresult/")
            expect(page.locator("#result_list")).to_contain_text(
                "example_project.shop.reports.summarize_results"
            )
        finally:
            browser.close()
    assert demo.stop() == 0
