"""A virtual clock: `sleep` advances time at once instead of waiting on the wall clock."""

from __future__ import annotations

import asyncio
import datetime as dt


class FakeClock:
    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2025, 9, 23, 0, 0, tzinfo=dt.UTC)
        self._monotonic = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._monotonic += seconds

    def set(self, when: dt.datetime) -> None:
        """Jump to `when`; the monotonic reading moves by the same amount."""
        self.advance((when - self._now).total_seconds())

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
