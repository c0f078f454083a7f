"""Outage: back-off and one log line each way while a server cannot be reached."""

from __future__ import annotations

import logging
import time


class Outage:
    """Tracks failed attempts to use one server (``what``: "the broker", "the result
    store") for the component named by ``who``.

    The first failure logs one warning, later ones only at DEBUG (with the traceback), and
    the first success after them logs that the server answers again, so a worker that loses
    its broker for an hour writes two lines, not a traceback per attempt.
    """

    def __init__(
        self,
        logger: logging.Logger,
        who: str,
        what: str,
        *,
        first_delay: float = 0.1,
        max_delay: float = 10.0,
    ) -> None:
        self.logger = logger
        self.who = who
        self.what = what
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.since: float | None = None
        self.attempts = 0
        self._delay = first_delay

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; returns how many seconds to wait before the next one."""
        self.attempts += 1
        if self.since is None:
            self.since = time.monotonic()
            self.logger.warning(
                "%s: cannot reach %s (%s: %s); trying again with back-off up to %g s, "
                "and saying so when it answers",
                self.who,
                self.what,
                type(exc).__name__,
                exc,
                self.max_delay,
            )
        else:
            self.logger.debug("%s: %s still unreachable", self.who, self.what, exc_info=exc)
        delay = self._delay
        self._delay = min(self._delay * 2, self.max_delay)
        return delay

    def succeeded(self) -> None:
        """Record a successful attempt, ending the outage if there was one."""
        if self.since is not None:
            self.logger.warning(
                "%s: %s answers again after %.1f s (%d failed attempts)",
                self.who,
                self.what,
                time.monotonic() - self.since,
                self.attempts,
            )
            self.since = None
            self.attempts = 0
        self._delay = self.first_delay
