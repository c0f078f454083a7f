"""The new user's first hour, for real: build the wheel, install it into a new virtualenv
outside this repository, ``startproject``, follow the README, and run a task round trip.

It takes about a minute (most of it ``pip install``, from the local cache or index); under
CI=true it runs like every other test. ``-m "not slow"`` leaves it out locally."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.fresh_project import VIEW_BLOCK, FreshProject
from tests.readme import block_starting

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SUBMIT = """
from types import SimpleNamespace
from shop.tasks import render_invoice, send_receipt
order = SimpleNamespace(id=42)
{view}
import json, flowrra, flowrra_django
print(json.dumps({{"receipt": task_id, "flowrra": flowrra.__file__}}))
"""

REPORT = """
import json
from flowrra_django.models import TaskResult
print(json.dumps({r.task_name: [r.status, r.args] for r in TaskResult.objects.all()}))
"""


def run(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built once per test session."""
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT, cwd=out)
    [built] = out.glob("flowrra-*.whl")
    return built


def test_a_fresh_project_runs_a_task_following_the_readme(wheel: Path, tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    readme = (ROOT / "README.md").read_text()
    install = re.search(r"`pip install [\"']?(flowrra\[django[^\]]*\])", readme)
    assert install is not None, "the README says how to install the Django app"
    extras = install.group(1).removeprefix("flowrra")
    run(python, "-m", "pip", "install", "-q", f"{wheel}{extras}", cwd=tmp_path)

    project = FreshProject(tmp_path / "site", python).create()
    assert "System check identified no issues" in project.manage("check").stdout
    project.manage("migrate", "-v", "0")
    submitted = json.loads(
        project.shell(SUBMIT.format(view=block_starting(VIEW_BLOCK))).splitlines()[-1]
    )
    assert submitted["flowrra"].startswith(str(environment))  # the wheel, not this checkout

    worker = project.manage("flowrra_worker", "--burst")
    log = worker.stderr
    receipt = submitted["receipt"]
    assert re.search(rf"Task shop\.tasks\.send_receipt\[{receipt}\] succeeded in \d", log), log
    assert "stopped after 1 task(s) (1 succeeded, 0 failed, 0 retried)" in log, log
    assert "left in the broker: 1 delayed" in log, log  # render_invoice, in 60 s
    assert "Traceback" not in log

    results = json.loads(project.shell(REPORT).splitlines()[-1])
    assert results == {
        "shop.tasks.send_receipt": ["success", [42]],
        "shop.tasks.render_invoice": ["pending", [42]],
    }
