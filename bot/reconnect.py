"""Delays between the connection attempts of a `/paper` connector whose connection failed.

A connector retries in a background task that it owns, so `paperbot run` recovers from a
platform outage without a restart. It sleeps on the injected clock, so tests set the pace.
"""

from __future__ import annotations

import asyncio

# The first retry waits 5 s and each further one twice as long, up to 5 min, so a short
# outage ends within seconds and a long one costs one attempt (and one log line) per 5 min.
FIRST_DELAY_SECONDS = 5.0
MAX_DELAY_SECONDS = 300.0


class Backoff:
    """Exponential delays: `first`, doubling up to `maximum`, and `maximum` after a rejection.

    A rejected credential (Slack `invalid_auth`, Discord 401) is still retried, but only every
    `maximum` seconds. The token is read from the config once, so a new token needs a
    restart. The same rejection also happens while the app is being reinstalled or its
    Socket Mode is switched off, and the operator fixes those without restarting the bot.
    """

    def __init__(
        self, first: float = FIRST_DELAY_SECONDS, maximum: float = MAX_DELAY_SECONDS
    ) -> None:
        if not 0 < first <= maximum:
            raise ValueError(f"invalid backoff {first} to {maximum} s: expected 0 < first <= max")
        self.first = first
        self.maximum = maximum
        self._next = first

    def next_delay(self, *, rejected: bool = False) -> float:
        """Return the seconds to wait before the next attempt, and double the delay after it."""
        if rejected:
            return self.maximum
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """Start again at `first`, after a connection succeeded."""
        self._next = self.first


async def wait_first_attempt(settled: asyncio.Event, seconds: float) -> bool:
    """Wait until `settled` is set, at most `seconds`; return False when the time ran out."""
    try:
        async with asyncio.timeout(seconds):
            await settled.wait()
    except TimeoutError:
        return False
    return True
