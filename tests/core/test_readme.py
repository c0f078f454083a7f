"""The README's Python examples run as written: the core example as a script here, the
Django ones in a fresh project (tests/e2e/test_fresh_project.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.readme import README, code_blocks

#: The first line of each Django block, which the fresh-project test runs.
DJANGO_BLOCKS = (
    "# settings.py",
    "# any installed app's tasks.py is discovered in the web process and the worker alike",
    "# a view (sync or async: flowrra_django.asubmit); inside transaction.atomic() the task is",
    # these two run in tests/django/test_tasks_readme.py
    "# settings.py, for Django's Tasks framework",
    "# reports.py: a task of Django's Tasks framework, enqueued and looked up as Django documents",
)


def test_every_python_block_is_run_by_a_test() -> None:
    blocks = code_blocks()
    for code in blocks:
        compile(code, str(README), "exec")
    core = [code for code in blocks if code.splitlines()[0] not in DJANGO_BLOCKS]
    assert len(core) == 1, "a new README example needs a test that runs it"
    assert sorted(code.splitlines()[0] for code in blocks if code not in core) == sorted(
        DJANGO_BLOCKS
    )


def test_the_core_example_runs_and_loses_no_task(tmp_path: Path) -> None:
    [example] = [code for code in code_blocks() if code.splitlines()[0] not in DJANGO_BLOCKS]
    script = tmp_path / "example.py"
    script.write_text(example)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "success None\n"
    assert done.stderr == ""  # in particular no "Stopping with 1 task(s) left ...: lost"
