"""The live dashboard end to end: the demo (daphne, a separate worker process) in a real
browser; a task submitted from another process appears on the tasks page and turns
SUCCESS without a reload. Once with Redis as the channel layer, once with no Redis."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, ROOT, Demo, _free_port, _wait_for_http
from tests.services import unavailable

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "e2e" / "screenshots"
REDIS_URL = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
#: Seconds the task waits before it runs: the page shows it pending first.
COUNTDOWN = 3


def _environment(tmp_path: Path, channel_layer_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
    }
    for name in ("FLOWRRA_BROKER_URL", "FLOWRRA_RESULT_BACKEND", "REDIS_URL", "CHANNEL_LAYER_URL"):
        env.pop(name, None)
    if channel_layer_url:
        env["CHANNEL_LAYER_URL"] = channel_layer_url
        env["CHANNEL_LAYER_PREFIX"] = f"flowrra-e2e-{secrets.token_hex(4)}"
    return env


@pytest.fixture(params=["redis", "no-redis"])
def live_demo(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Demo, dict[str, str]]]:
    layer_url = None
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            unavailable(f"Redis at {REDIS_URL} is not reachable ({exc})", "start Redis")
        layer_url = REDIS_URL
    env = _environment(tmp_path, layer_url)
    port = _free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "example_project/demo.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Demo(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_for_http(running.url + "/", process, seconds=90)
        yield running, env
    finally:
        running.stop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if layer_url:
            import redis

            client = redis.Redis.from_url(layer_url)
            keys = list(client.scan_iter(f"{env['CHANNEL_LAYER_PREFIX']}*", count=1000))
            if keys:
                client.delete(*keys)


def submit_from_another_process(env: dict[str, str]) -> str:
    code = (
        "import flowrra_django; "
        f"print(flowrra_django.options(countdown={COUNTDOWN}).submit('count_primes', 1000))"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


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
            page.goto(f"{demo.url}/flowrra/tasks/{task_id}/")
            expect(status).to_have_text("live", timeout=10_000)
            page.screenshot(path=str(SHOTS / f"live-task-{name}-laptop.png"), full_page=True)
        finally:
            browser.close()
