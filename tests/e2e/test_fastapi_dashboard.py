"""The FastAPI dashboard end to end: uvicorn serves it, a separate ``flowrra worker``
process runs the tasks (both on Redis, under a key prefix of this test's own), and a real
browser watches them turn SUCCESS on the tasks page without a reload."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, ROOT, _free_port, _wait_for_http
from tests.e2e.fastapi_site import TOKEN
from tests.services import unavailable

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "e2e" / "screenshots"
REDIS_URL = os.environ.get("FLOWRRA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """uvicorn and a worker process on Redis under a prefix of their own; the site's URL."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable ({exc})", "start Redis")
    prefix = f"flowrra-e2e-fastapi-{secrets.token_hex(4)}"
    url = f"{REDIS_URL}{'&' if '?' in REDIS_URL else '?'}key_prefix={prefix}"
    env = {**os.environ, "FLOWRRA_E2E_REDIS_URL": url, "PYTHONUNBUFFERED": "1"}
    port = _free_port()
    web = _start(
        [
            "-m",
            "uvicorn",
            "tests.e2e.fastapi_site:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env,
        tmp_path / "uvicorn.log",
    )
    worker = _start(
        [
            "-m",
            "flowrra",
            "worker",
            "--app",
            "tests.e2e.fastapi_site:flowrra",
            "--heartbeat-interval",
            "1",
        ],
        env,
        tmp_path / "worker.log",
    )
    try:
        base = f"http://127.0.0.1:{port}/flowrra/"
        _wait_for_http(base + "health", web, seconds=30)
        yield base
    finally:
        _stop(web)
        _stop(worker)
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def _submit(base: str, name: str) -> str:
    request = urllib.request.Request(
        base + "api/tasks/",
        data=json.dumps({"task": "resize_image", "args": [name]}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["task_id"])


def test_tasks_run_by_another_process_turn_success_on_the_page(
    site: str, chromium_path: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(site + "tasks/")
            expect(page.locator("#fl-live-status")).to_have_attribute("data-state", "live")
            ids = [_submit(site, f"photo-{n}.jpg") for n in range(3)]
            rows = page.locator("table.fl-table tbody tr")
            expect(rows).to_have_count(3, timeout=10_000)
            expect(page.locator(".fl-badge.status-success")).to_have_count(3, timeout=15_000)
            page.screenshot(path=str(SHOTS / "fastapi-tasks-laptop.png"), full_page=True)
            page.goto(site + f"tasks/{ids[0]}/")
            expect(page.locator("pre.fl-pre").last).to_contain_text("photo-0.jpg resized")
            page.get_by_role("button", name="Retry").click()  # POSTs to the API, opens the new task
            page.wait_for_url(lambda url: "/tasks/" in url and ids[0] not in url)
            expect(page.locator("h1 .fl-badge")).to_have_text("success", timeout=10_000)
            expect(page.locator("pre.fl-pre").last).to_contain_text("photo-0.jpg resized")
            page.screenshot(path=str(SHOTS / "fastapi-task-laptop.png"), full_page=True)
            page.goto(site)
            expect(page.locator(".fl-count.c-success b")).to_have_text("4")
            page.screenshot(path=str(SHOTS / "fastapi-overview-laptop.png"), full_page=True)
            page.goto(site + "schedules/add/")
            page.select_option("#id_task_name", "resize_image")
            page.select_option("#id_schedule_type", "interval")
            page.fill("#id_schedule", "3600")
            page.fill("#id_args", '["nightly.jpg"]')
            expect(page.locator("#fl-preview")).to_contain_text("Next 5 runs")
            page.get_by_role("button", name="Save").click()  # PUTs JSON through actions.js
            page.wait_for_url(site + "schedules/")
            expect(page.locator("table.fl-table tbody")).to_contain_text("interval: 3600")
            page.screenshot(path=str(SHOTS / "fastapi-schedules-laptop.png"), full_page=True)
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            for name, path in (("overview", ""), ("tasks", "tasks/"), ("workers", "workers/")):
                phone.goto(site + path)
                phone.screenshot(path=str(SHOTS / f"fastapi-{name}-phone.png"), full_page=True)
            expect(phone.locator(".fl-dot.on")).to_have_count(1)
        finally:
            browser.close()
