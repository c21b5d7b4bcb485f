"""Delivery ledger: one record per (channel, digest date, paper) of what was sent where.

Paper number 0 stands for the channel's header message. The SQLite implementation lives
in `bot/store.py`; `MemoryLedger` serves one-shot runs and tests.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from typing import Protocol

HEADER_PAPER = 0


class DeliveryStatus(enum.StrEnum):
    # A send was started; on restart the platform is asked whether it arrived.
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryRecord:
    channel: str
    digest_date: dt.date
    paper: int
    status: DeliveryStatus
    nonce: str
    message_id: str | None = None
    content_hash: str | None = None
    error: str | None = None


class Ledger(Protocol):
    async def get(self, channel: str, digest_date: dt.date, paper: int) -> DeliveryRecord | None:
        """Return the record of one (channel, date, paper), or None when nothing was tried."""

    async def put(self, record: DeliveryRecord) -> None:
        """Insert or replace the record with the same (channel, date, paper) key."""

    async def records(self, channel: str, digest_date: dt.date) -> list[DeliveryRecord]:
        """Return the channel's records for one digest date, ordered by paper number."""


class MemoryLedger:
    def __init__(self) -> None:
        self._records: dict[tuple[str, dt.date, int], DeliveryRecord] = {}

    async def get(self, channel: str, digest_date: dt.date, paper: int) -> DeliveryRecord | None:
        return self._records.get((channel, digest_date, paper))

    async def put(self, record: DeliveryRecord) -> None:
        self._records[(record.channel, record.digest_date, record.paper)] = replace(record)

    async def records(self, channel: str, digest_date: dt.date) -> list[DeliveryRecord]:
        found = [r for (c, d, _), r in self._records.items() if c == channel and d == digest_date]
        return sorted(found, key=lambda record: record.paper)
