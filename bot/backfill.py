"""`paperbot backfill`: load past digests into the archive without posting them."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.config_loader import build_config
from bot.digest.errors import DigestError, NotADigestError
from bot.digest.model import Digest
from bot.digest.parser import load_digest, parse_digest
from bot.posting import digest_hash
from bot.sources.base import SourceError, open_source
from bot.store import Store

_log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1

# A backfill of more than ten years is almost certainly a typo in --from or --to.
MAX_DAYS = 3660


class BackfillRangeError(ValueError):
    """--from and --to do not form a usable range."""


@dataclass(frozen=True)
class Loaded:
    """One document of the backfill: the digest, or why there is none."""

    name: str
    digest: Digest | None = None
    problem: str | None = None
    not_a_digest: bool = False


def dates_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Return every date from `start` to `end`, both included.

    Raises:
        BackfillRangeError: `end` is before `start`, or the range is over `MAX_DAYS` long.
    """
    if end < start:
        raise BackfillRangeError(f"--to {end} is before --from {start}; swap them")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise BackfillRangeError(
            f"--from {start} --to {end} spans {days} days; the limit is {MAX_DAYS}"
        )
    return [start + dt.timedelta(days=offset) for offset in range(days)]


async def documents_in_folder(folder: Path) -> AsyncIterator[Loaded]:
    """Parse every `*.md` file of `folder`, in name order."""
    for path in await asyncio.to_thread(_markdown_files, folder):
        yield await _parse_file(path)


def _markdown_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SourceError(f"{folder}: is not a folder; pass the folder that holds the posts")
    files = sorted(folder.glob("*.md"))
    if not files:
        raise SourceError(f"{folder}: contains no *.md files; pass the folder that holds the posts")
    return files


async def _parse_file(path: Path) -> Loaded:
    try:
        digest = await asyncio.to_thread(load_digest, path)
    except NotADigestError as error:
        return Loaded(path.name, problem=str(error), not_a_digest=True)
    except DigestError as error:
        return Loaded(path.name, problem=str(error))
    return Loaded(path.name, digest=digest)


async def documents_by_date(
    config: Config, clock: Clock, days: Iterable[dt.date]
) -> AsyncIterator[Loaded]:
    """Fetch and parse the configured source's digest of each day; a missing day is skipped."""
    source = open_source(config.source, clock)
    try:
        for day in days:
            try:
                fetched = await source.fetch(day)
            except SourceError as error:
                yield Loaded(day.isoformat(), problem=str(error))
                continue
            if fetched is None:
                _log.debug("no digest for %s in the source", day)
                continue
            yield await _parse_bytes(fetched.data, fetched.name)
    finally:
        await source.close()


async def _parse_bytes(data: bytes, name: str) -> Loaded:
    try:
        digest = await asyncio.to_thread(parse_digest, data, name)
    except NotADigestError as error:
        return Loaded(name, problem=str(error), not_a_digest=True)
    except DigestError as error:
        return Loaded(name, problem=str(error))
    return Loaded(name, digest=digest)


async def backfill(store: Store, documents: AsyncIterator[Loaded], out: TextIO) -> Counter[str]:
    """Save every parsed digest in `store`, print one line per document, and count outcomes.

    The counter keys are the store's save outcomes ("new", "changed", "unchanged") plus
    "papers", "failed" and "not_a_digest".
    """
    counts: Counter[str] = Counter()
    async for loaded in documents:
        if loaded.digest is None:
            counts["not_a_digest" if loaded.not_a_digest else "failed"] += 1
            label = "skipped" if loaded.not_a_digest else "failed"
            out.write(f"{label}: {loaded.problem}\n")
            continue
        outcome = await store.save_digest(loaded.digest, digest_hash(loaded.digest))
        counts[str(outcome)] += 1
        counts["papers"] += len(loaded.digest.papers)
        out.write(
            f"{outcome}: {loaded.name} ({loaded.digest.date}, {len(loaded.digest.papers)} papers)\n"
        )
    return counts


def summary_line(counts: Counter[str]) -> str:
    loaded = counts["new"] + counts["changed"] + counts["unchanged"]
    return (
        f"backfill: digests loaded {loaded}, papers {counts['papers']} "
        f"(new {counts['new']}, changed {counts['changed']}, unchanged {counts['unchanged']}); "
        f"not digests {counts['not_a_digest']}, failed {counts['failed']}"
    )


def run_backfill_command(args: argparse.Namespace, *, clock: Clock | None = None) -> int:
    """Carry out `paperbot backfill` and return its exit code: 1 when any document failed."""
    return asyncio.run(_backfill(args, clock or SystemClock()))


async def _backfill(args: argparse.Namespace, clock: Clock) -> int:
    config = build_config(args.config, require_tokens=False)
    if args.folder is not None:
        documents = documents_in_folder(args.folder)
    else:
        documents = documents_by_date(config, clock, dates_between(args.date_from, args.date_to))
    store = await Store.open(config.state_path, clock=clock)
    try:
        counts = await backfill(store, documents, sys.stdout)
    finally:
        await store.close()
    print(summary_line(counts))
    return EXIT_FAILED if counts["failed"] else EXIT_OK
