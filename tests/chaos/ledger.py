"""The chaos tests' ledger: a file outside the system under test where every run of every
task appends one line, ``<token> <worker pid>``, with an append-only write (atomic for a
line this short), so runs are counted whatever the broker and the result store say."""

from __future__ import annotations

import collections
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Where the tasks of a worker process write (set by the test for its workers).
LEDGER_ENV = "FLOWRRA_CHAOS_LEDGER"


def note(token: str, worker_pid: int) -> None:
    """Record one run of ``token`` by the worker process ``worker_pid``."""
    line = f"{token} {worker_pid}\n".encode()
    fd = os.open(os.environ[LEDGER_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@dataclass
class Tally:
    """What the ledger says about the ``expected`` tokens."""

    runs: dict[str, list[int]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    #: Tokens run more than once where an earlier run's worker was killed (redelivery).
    after_a_crash: list[str] = field(default_factory=list)
    #: Tokens run more than once by workers that were all alive: must be none.
    between_live_workers: list[str] = field(default_factory=list)

    def summary(self, label: str) -> str:
        extra = sum(len(pids) - 1 for pids in self.runs.values() if len(pids) > 1)
        return (
            f"{label}: {len(self.runs)} tasks ran, {extra} extra run(s); "
            f"never ran {len(self.missing)}; duplicates after a worker was killed "
            f"{len(self.after_a_crash)}, between live workers {len(self.between_live_workers)}"
        )


def tally(path: Path, expected: Iterable[str], killed: Collection[int]) -> Tally:
    """Count the runs of each ``expected`` token; a duplicate is blamed on a crash when one
    of its runs, other than the last, was by a worker in ``killed``."""
    runs: dict[str, list[int]] = collections.defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            token, _, pid = line.partition(" ")
            runs[token].append(int(pid))
    result = Tally()
    for token in expected:
        pids = runs.get(token, [])
        result.runs[token] = pids
        if not pids:
            result.missing.append(token)
        elif len(pids) > 1:
            if any(pid in killed for pid in pids[:-1]):
                result.after_a_crash.append(token)
            else:
                result.between_live_workers.append(token)
    return result
