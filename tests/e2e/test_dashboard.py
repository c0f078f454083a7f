"""The dashboard in a real browser on the README's demo: log in, click through every page
and action, and save a screenshot of each at laptop (1280 px) and phone (390 px) widths
under tests/e2e/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, ROOT, Demo, demo_environment, manage_shell

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "e2e" / "screenshots"
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}


def submit_later(tmp_path: Path) -> str:
    """A task due in an hour, submitted in the demo's database: it waits, so it can be revoked."""
    code = (
        "import flowrra_django; "
        "print(flowrra_django.options(countdown=3600).submit('count_primes', 10))"
    )
    return manage_shell(demo_environment(tmp_path), code)


def test_every_dashboard_page_and_action_in_a_browser(
    demo: Demo, chromium_path: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    waiting = submit_later(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})

            def shoot(name: str) -> None:
                for label, (width, height) in WIDTHS.items():
                    page.set_viewport_size({"width": width, "height": height})
                    page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
                page.set_viewport_size({"width": 1280, "height": 800})

            page.goto(demo.url + "/flowrra/")
            expect(page).to_have_url(f"{demo.url}/admin/login/?next=/flowrra/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo")
            page.click("input[type=submit]")
            expect(page.locator("h1")).to_have_text("Overview")

            page.goto(demo.url + "/shop/")
            page.select_option("#id_task", "count_primes")
            page.fill("#id_limit", "1000")
            page.click("input[value=Submit]")
            page.select_option("#id_task", "import_rows")
            page.click("input[value=Submit]")
            page.select_option("#id_task", "charge_payment")
            page.click("input[value=Submit]")
            page.click("text=Flowrra dashboard")
            expect(page.locator(".fl-nav a.current")).to_have_text("Overview")

            page.click(".fl-nav >> text=Tasks")
            failed = page.locator("tr", has=page.locator("a", has_text="import_rows")).first
            expect(failed).to_contain_text("failed", timeout=60_000)
            page.goto(demo.url + "/flowrra/")
            expect(page.locator(".flowrra-chart")).to_be_visible()
            expect(page.locator("text=Recent failures")).to_be_visible()
            shoot("01-overview")
            page.emulate_media(color_scheme="dark")
            page.screenshot(path=str(SHOTS / "01-overview-dark-laptop.png"), full_page=True)
            page.emulate_media(color_scheme="light")

            page.click(".fl-nav >> text=Tasks")
            page.check("input[name=status][value=failed]")
            page.fill("input[name=q]", "pears")
            page.click("button:has-text('Filter')")
            expect(page.locator("table.fl-table tbody tr")).to_have_count(1)
            shoot("02-tasks-filtered")
            page.click("table.fl-table tbody a >> nth=0")
            expect(page.locator("#content")).to_contain_text("Traceback")
            expect(page.locator("#content")).to_contain_text("Timeline")
            shoot("03-task-failed")
            page.click("button:has-text('Retry')")
            expect(page.locator(".messagelist")).to_contain_text("Submitted the task again")
            expect(page.locator("#content")).to_contain_text("Retry of")
            shoot("04-task-retried")

            page.goto(f"{demo.url}/flowrra/tasks/{waiting}/")
            page.click("button:has-text('Revoke')")
            expect(page.locator(".messagelist")).to_contain_text("Revoked")
            expect(page.locator("h1 .fl-badge")).to_have_text("revoked")

            page.click(".fl-nav >> text=Workers")
            expect(page.locator("#content")).to_contain_text("1 online of 1 seen")
            shoot("05-workers")
            page.click("table.fl-table tbody a.fl-id >> nth=0")
            expect(page.locator("#content")).to_contain_text("Processed")
            shoot("06-worker")
            page.fill("input[name=value]", "5")
            page.click("button:has-text('Set')")
            expect(page.locator(".messagelist")).to_contain_text(
                "The worker replied to io_concurrency: “runs up to 5 async tasks at once"
            )
            shoot("06-worker-controlled")

            page.click(".fl-nav >> text=Queues")
            expect(page.locator("#dead-letters + p")).to_contain_text("Messages set aside")
            shoot("07-queues")

            page.click(".fl-nav >> text=Schedules")
            page.click("text=New schedule")
            page.select_option("#id_task_name", "example_project.shop.tasks.count_primes")
            page.fill("#id_name", "morning primes")
            page.fill("#id_schedule", "30 9 * * 1-5")
            page.fill("#id_timezone", "Asia/Tokyo")
            page.fill("#id_args", "[1000]")
            expect(page.locator("#fl-preview li")).to_have_count(5)
            expect(page.locator("#fl-preview")).to_contain_text("09:30 JST")
            shoot("08-schedule-new")
            page.click("button:has-text('Save')")
            expect(page.locator(".messagelist")).to_contain_text("Saved the schedule")
            row = page.locator("tr", has=page.locator("a", has_text="morning primes"))
            expect(row).to_contain_text("30 9 * * 1-5")
            shoot("09-schedules")

            row.locator("a", has_text="morning primes").click()
            page.select_option("#id_schedule_type", "interval")
            page.fill("#id_schedule", "abc")
            expect(page.locator("#fl-preview")).to_contain_text("interval")
            page.fill("#id_schedule", "90")
            page.click("button:has-text('Save')")
            expect(row).to_contain_text("interval: 90")
            row.locator("button:has-text('Disable')").click()
            expect(row).to_contain_text("(disabled)")
            row.locator("button:has-text('Enable')").click()
            expect(row).not_to_contain_text("(disabled)")
            row.locator("button:has-text('Run now')").click()
            expect(page.locator(".messagelist")).to_contain_text("Submitted the task now")
            expect(page.locator("h1")).to_contain_text("count_primes")
            page.click(".fl-nav >> text=Schedules")
            row.locator("button:has-text('Delete')").click()
            expect(page.locator(".messagelist")).to_contain_text("Deleted the schedule")
            expect(row).to_have_count(0)

            page.goto(demo.url + "/flowrra/tasks/?status=exploded")
            expect(page.locator(".errornote")).to_contain_text("unknown status")
            shoot("10-bad-request")
        finally:
            browser.close()
    assert demo.stop() == 0
