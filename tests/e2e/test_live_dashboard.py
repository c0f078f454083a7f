"""The live dashboard end to end: the demo (daphne, a separate worker process) in a real
browser; a task submitted from another process appears on the tasks page and turns
SUCCESS without a reload. Once with Redis as the channel layer, once with no Redis."""

from __future__ import annotations

import os
import re
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    CHROMIUM_FLAGS,
    ROOT,
    Demo,
    demo_environment,
    manage_shell,
    running_demo,
)
from tests.services import unavailable

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "e2e" / "screenshots"
REDIS_URL = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
#: Seconds the task (an async one, done at once) waits before it runs: the page shows it
#: pending first, then success within 2 s of the worker's run.
COUNTDOWN = 4


@pytest.fixture(params=["redis", "no-redis"])
def live_demo(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Demo, dict[str, str]]]:
    """The demo with Redis as its channel layer (a key prefix of its own), or with none."""
    if request.param == "no-redis":
        env = demo_environment(tmp_path)
        with running_demo(tmp_path, env) as running:
            yield running, env
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable ({exc})", "start Redis")
    prefix = f"flowrra-e2e-{secrets.token_hex(4)}"
    env = demo_environment(tmp_path, CHANNEL_LAYER_URL=REDIS_URL, CHANNEL_LAYER_PREFIX=prefix)
    try:
        with running_demo(tmp_path, env) as running:
            yield running, env
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def submit_from_another_process(env: dict[str, str]) -> str:
    code = (
        "import flowrra_django; "
        f"print(flowrra_django.options(countdown={COUNTDOWN}).submit('import_rows', 'a,1'))"
    )
    return manage_shell(env, code)


def web_server(demo: Demo) -> int:
    """The PID of the demo's web process (a child of its launcher)."""
    pid = demo.process.pid
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if "runserver" in Path(f"/proc/{child}/cmdline").read_text():
            return int(child)
    raise AssertionError("the demo runs no web process")


def test_a_task_from_another_process_appears_and_succeeds_without_reload(
    live_demo: tuple[Demo, dict[str, str]], chromium_path: str, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect, sync_playwright

    demo, env = live_demo
    name = request.node.callspec.id
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(demo.url + "/admin/login/?next=/flowrra/tasks/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo")
            page.click("input[type=submit]")
            status = page.locator("#fl-live-status")
            expect(status).to_have_text("live", timeout=15_000)
            page.evaluate("window.flNotReloaded = true")

            task_id = submit_from_another_process(env)
            row = page.locator(f"tr:has(a[href$='/{task_id}/'])")
            expect(row).to_be_visible(timeout=2_000)
            expect(row.locator(".fl-badge")).to_have_text("pending")
            expect(row.locator(".fl-badge")).to_have_text("success", timeout=(COUNTDOWN + 2) * 1000)
            assert page.evaluate("window.flNotReloaded") is True
            for label, (width, height) in {"laptop": (1280, 800), "phone": (390, 844)}.items():
                page.set_viewport_size({"width": width, "height": height})
                page.screenshot(path=str(SHOTS / f"live-tasks-{name}-{label}.png"), full_page=True)

            page.set_viewport_size({"width": 1280, "height": 800})
            second = submit_from_another_process(env)  # its page, open while it waits
            page.goto(f"{demo.url}/flowrra/tasks/{second}/")
            expect(status).to_have_text("live", timeout=10_000)
            page.evaluate("window.flNotReloaded = true")
            badge = page.locator("#content h1 .fl-badge")
            expect(badge).to_have_text("pending")
            expect(badge).to_have_text("success", timeout=(COUNTDOWN + 2) * 1000)
            expect(page.locator("#fl-live-content")).to_contain_text("Finished")
            assert page.evaluate("window.flNotReloaded") is True
            page.screenshot(path=str(SHOTS / f"live-task-{name}-laptop.png"), full_page=True)

            os.kill(web_server(demo), signal.SIGKILL)  # the site goes away under the page
            expect(status).to_have_text(re.compile("reconnecting"), timeout=10_000)
            page.screenshot(path=str(SHOTS / f"live-reconnecting-{name}-laptop.png"))
        finally:
            browser.close()
