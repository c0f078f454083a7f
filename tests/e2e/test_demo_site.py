"""The README's first command as a newcomer runs it: ``make demo`` in a fresh clone (web +
worker + beat on SQLite, no Redis), then a browser: the first page says what the demo is and
which account to use, logging in lands on the live dashboard, a task submitted from the shop
page turns SUCCESS on the dashboard (open in another tab) without a reload, and Ctrl-C
(SIGINT to make's process group, as a terminal sends it) leaves no process behind.

The clone is of this checkout's committed state (``git clone``); ``make demo`` runs with
``VENV`` pointing at the virtualenv running the tests and ``-o`` marking it up to date, so
that make does not reinstall it. Screenshots of the first visit, the dashboard and the shop
page, at laptop (1280 px) and phone (390 px) widths, go to tests/e2e/screenshots/
(git-ignored); docs/images/ holds chosen copies.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, ROOT, free_port, wait_for_http

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "e2e" / "screenshots"
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}
BANNER = re.compile(r"log in as user '([^']+)', password '([^']+)'")
#: What a fresh terminal would not carry: the test run's own settings and make's.
NOT_INHERITED = (
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "FLOWRRA_BROKER_URL",
    "FLOWRRA_RESULT_BACKEND",
    "REDIS_URL",
    "CHANNEL_LAYER_URL",
    "PYTHONPATH",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
)

#: A process as /proc/<pid>/stat tells it: (pid, process group, session, start time).
Stat = tuple[int, int, int, int]


def processes() -> dict[int, tuple[int, Stat]]:
    """Every process of this machine: pid -> (parent pid, its stat)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
        pid = int(entry.name)
        found[pid] = (int(fields[1]), (pid, int(fields[2]), int(fields[3]), int(fields[19])))
    return found


def descendants(root: int) -> set[Stat]:
    """``root`` and every process under it, whatever session each opened."""
    table = processes()
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            tree.add(table[pid][1])
            todo.extend(child for child, (parent, _) in table.items() if parent == pid)
    return tree


def left_behind(started: set[Stat]) -> list[Stat]:
    """Processes still alive from ``started`` (same pid and start time), or still in one of
    their process groups or sessions."""
    groups = {stat[1] for stat in started} | {stat[2] for stat in started}
    return [
        stat
        for _, stat in processes().values()
        if stat in started or stat[1] in groups or stat[2] in groups
    ]


def wait_for_banner(log: Path, make: subprocess.Popen[bytes], seconds: float) -> tuple[str, str]:
    """The account the demo prints once its site answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = BANNER.search(log.read_text(errors="replace"))
        if found:
            return found.group(1), found.group(2)
        if make.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"make demo printed no account:\n{log.read_text()[-3000:]}")


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "flowrra"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    return clone


def test_make_demo_from_a_fresh_clone_in_a_browser(
    fresh_clone: Path, tmp_path: Path, chromium_path: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    venv = Path(sys.prefix)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    log = tmp_path / "make-demo.log"
    command = ["make", "demo", f"VENV={venv}", f"DEMO_PORT={port}", "-o", f"{venv}/.installed"]
    with log.open("wb") as out:
        make = subprocess.Popen(
            command,
            cwd=fresh_clone,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as a terminal's foreground job
        )
    started: set[Stat] = set()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        username, password = wait_for_banner(log, make, seconds=90)
        wait_for_http(url + "/", make, seconds=10)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()

                def shoot(target, name: str) -> None:  # type: ignore[no-untyped-def]
                    for label, (width, height) in WIDTHS.items():
                        target.set_viewport_size({"width": width, "height": height})
                        target.screenshot(path=str(SHOTS / f"demo-{name}-{label}.png"))
                    target.set_viewport_size({"width": 1280, "height": 800})

                page.goto(url + "/")  # the first visit
                expect(page.locator("#demo-intro h1")).to_contain_text("task queue")
                account = page.locator("#demo-account")
                expect(account).to_contain_text(f"user {username} and password {password}")
                expect(page.locator("#demo-running")).to_contain_text("no Redis")
                shoot(page, "welcome")

                page.fill("#id_username", username)
                page.fill("#id_password", password)
                page.click("input[type=submit]")
                expect(page).to_have_url(url + "/flowrra/")  # the live dashboard, not the admin
                expect(page.locator("#fl-live-status")).to_have_text("live", timeout=15_000)
                page.click(".fl-nav >> text=Tasks")
                dashboard = page
                expect(dashboard.locator("#fl-live-status")).to_have_text("live", timeout=15_000)
                dashboard.evaluate("window.flNotReloaded = true")

                shop = context.new_page()  # the shop in a second tab, the dashboard open
                shop.goto(url + "/")
                shop.click("#user-tools >> text=Shop")
                expect(shop.locator("#fl-live-status")).to_have_text("live", timeout=15_000)
                shop.evaluate("window.flNotReloaded = true")
                shop.select_option("#id_task", "count_primes")  # first: its pool starts
                shop.fill("#id_limit", "1000")
                shop.click("input[value=Submit]")
                expect(shop.locator(".messagelist")).to_contain_text("Submitted count_primes")
                expect(shop.locator("#id_task")).to_have_value("count_primes")  # kept
                expect(shop.locator("#id_limit")).to_have_value("1000")
                for task in ("import_rows", "place_order", "charge_payment"):
                    shop.select_option("#id_task", task)
                    shop.click("input[value=Submit]")
                    expect(shop.locator(".messagelist")).to_contain_text(f"Submitted {task}")
                shop.evaluate("window.flNotReloaded = true")  # each submit was a navigation
                shop.select_option("#id_task", "send_welcome_email")  # typed, not submitted

                primes = dashboard.locator(
                    "tr", has=dashboard.locator("a", has_text="count_primes")
                )
                expect(primes.locator(".fl-badge")).to_have_text("success", timeout=30_000)
                expect(primes).to_contain_text("168")  # the primes below 1,000
                assert dashboard.evaluate("window.flNotReloaded") is True

                payment = shop.locator("#shop-results tr", has_text="charge_payment")
                expect(payment.locator(".fl-badge")).to_have_text("success", timeout=30_000)
                expect(payment).to_contain_text("'attempts': 3")  # two retries, with back-off
                shipped = shop.locator("#shop-results tr", has_text="ship_order")
                expect(shipped.locator(".fl-badge")).to_have_text("success", timeout=30_000)
                assert shop.evaluate("window.flNotReloaded") is True
                expect(shop.locator("#id_task")).to_have_value("send_welcome_email")
                shop.select_option("#id_task", "count_primes")
                shoot(shop, "shop")
                started = descendants(make.pid)  # the worker's CPU pool runs by now

                dashboard.click(".fl-nav >> text=Overview")
                expect(dashboard.locator(".flowrra-chart")).to_be_visible()
                expect(dashboard.locator("text=Recent failures")).to_be_visible()
                shoot(dashboard, "dashboard")

                failed = dashboard.locator("tr", has=dashboard.locator("a", has_text="import_rows"))
                failed.locator("a").first.click()
                expect(dashboard.locator("#content")).to_contain_text("Traceback")
            finally:
                browser.close()

        started |= descendants(make.pid)
        assert len(started) >= 5, started  # make, the launcher, web, worker, beat
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        make.wait(40)
        assert left_behind(started) == []
        output = log.read_text()
        assert "Flowrra demo stopped." in output, output[-3000:]
        assert "exited unexpectedly" not in output, output[-3000:]
    finally:
        for group in {make.pid} | {stat[1] for stat in started}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        make.wait(10)
