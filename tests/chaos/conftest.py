"""Chaos tests: worker processes killed, servers restarted, database sessions ended, while a
producer submits. Each prints its figures (runs, duplicates) in the terminal summary."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .ledger import Tally

ROOT = Path(__file__).resolve().parents[2]

#: Lines for the terminal summary, one per chaos run.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("chaos figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


class Process:
    """A command in its own session, output to ``log``; killed by its PID only."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process (its CPU pool processes notice and exit by themselves)."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout: float = 30) -> int:
        if self.alive:
            os.kill(self.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.wait(30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Crew:
    """``size`` worker processes running ``command``; :meth:`kill_one` SIGKILLs one at random
    and starts its replacement, keeping the PIDs of the killed ones."""

    def __init__(
        self, command: list[str], env: dict[str, str], logs: Path, started: list[Process]
    ) -> None:
        self.command, self.env, self.logs, self.started = command, env, logs, started
        self.live: list[Process] = []
        self.killed: set[int] = set()

    def start(self, size: int = 1) -> None:
        for _ in range(size):
            worker = Process(self.command, self.env, self.logs / f"worker-{len(self.started)}.log")
            self.started.append(worker)
            self.live.append(worker)

    def kill_one(self, rng: random.Random) -> None:
        victim = self.live.pop(rng.randrange(len(self.live)))
        victim.kill()
        self.killed.add(victim.pid)
        self.start()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    """Processes a test starts (append them); any still running at the end is killed."""
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


def check_outcome(counts: Tally, label: str, workers: list[Process]) -> None:
    """Print the figures of a crash chaos run; assert that every task ran, that no task ran
    twice on workers that were all alive, and that no pool process printed a traceback."""
    FIGURES.append(counts.summary(label))
    assert counts.missing == []
    assert counts.between_live_workers == [], [
        (token, counts.runs[token]) for token in counts.between_live_workers
    ]
    noisy = [w.log.name for w in workers if "Process flowrra-cpu" in w.output()]
    assert noisy == [], [w.output()[-3000:] for w in workers if w.log.name in noisy]


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
