"""`paperbot post`: load one digest and post it, or print what would be posted."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.clock import Clock, SystemClock
from bot.config import ChannelConfig, Config
from bot.config_loader import build_config
from bot.delivery import ChannelReport, ProgressEvent, ProgressKind, deliver, message_nonce
from bot.digest.model import Digest
from bot.digest.parser import load_digest, parse_digest
from bot.i18n import translator
from bot.ledger import HEADER_PAPER, Ledger, MemoryLedger
from bot.platforms.base import MessagePayload, Target, build_posters, default_renderers
from bot.sources.base import SourceError, open_source

_log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1


class ChannelSelectionError(ValueError):
    """`--channel` named a channel that the config does not have."""


@dataclass(frozen=True)
class PlannedMessage:
    """One message a channel would receive; `paper` 0 is the header."""

    channel: ChannelConfig
    paper: int
    payload: MessagePayload


def select_channels(config: Config, names: Sequence[str] | None) -> tuple[ChannelConfig, ...]:
    """Return the channels named by `--channel`, or all of them when none is named."""
    if not names:
        return config.channels
    known = {channel.name: channel for channel in config.channels}
    unknown = [name for name in names if name not in known]
    if unknown:
        choices = ", ".join(known) or "none configured"
        raise ChannelSelectionError(
            f"{config.path}: no channel named {', '.join(unknown)}; configured channels: {choices}"
        )
    return tuple(known[name] for name in dict.fromkeys(names))


async def load_requested_digest(
    config: Config, clock: Clock, *, day: dt.date | None, path: Path | None
) -> Digest:
    """Load the digest named on the command line: a file, or a date from the configured source.

    Raises:
        DigestError: the document is not a valid digest.
        SourceError: the source has no digest for `day` or could not be read.
    """
    if path is not None:
        # Parsing is CPU-bound; a worker thread keeps the event loop responsive.
        return await asyncio.to_thread(load_digest, path)
    assert day is not None
    source = open_source(config.source, clock)
    try:
        fetched = await source.fetch(day)
    finally:
        await source.close()
    if fetched is None:
        where = config.source.path or config.source.url
        raise SourceError(
            f"no digest for {day.isoformat()} in {where} (pattern {config.source.pattern!r})"
        )
    return await asyncio.to_thread(parse_digest, fetched.data, fetched.name)


def plan_messages(digest: Digest, channel: ChannelConfig, locale: str) -> Iterator[PlannedMessage]:
    """Yield the payloads a channel would receive, exactly as delivery renders them.

    In thread mode the replies' thread id is known only after the header is sent, so
    the planned papers are addressed to the channel itself.
    """
    renderer = default_renderers()[channel.platform]
    texts = translator(channel.locale or locale)
    target = Target(channel_id=channel.id)
    if channel.header or channel.thread:
        nonce = message_nonce(channel.name, digest.date, HEADER_PAPER)
        payload = renderer.header(digest, texts, target=target, nonce=nonce)
        yield PlannedMessage(channel, HEADER_PAPER, payload)
    for paper in digest.papers:
        nonce = message_nonce(channel.name, digest.date, paper.number)
        payload = renderer.paper(paper, digest, texts, target=target, nonce=nonce)
        yield PlannedMessage(channel, paper.number, payload)


def print_plan(
    digest: Digest, channels: Sequence[ChannelConfig], locale: str, output: str, out: TextIO
) -> None:
    """Print what a dry run would send, as text for people or one JSON object per message."""
    if output == "json":
        for channel in channels:
            for message in plan_messages(digest, channel, locale):
                record = {
                    "platform": str(channel.platform),
                    "channel": channel.name,
                    "paper": message.paper,
                    "payload": message.payload,
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    count = len(digest.papers)
    title = (
        digest.title
        if digest.date.isoformat() in digest.title
        else f"{digest.title} ({digest.date})"
    )
    out.write(f"{title}: {count} papers from {digest.source}\n")
    for channel in channels:
        messages = list(plan_messages(digest, channel, locale))
        where = f"{channel.platform} {channel.name} ({channel.id})"
        out.write(f"\n[dry run] {where}: {len(messages)} messages\n")
        for message in messages:
            out.write(f"  {_describe_planned(digest, message)}\n")


def _describe_planned(digest: Digest, message: PlannedMessage) -> str:
    if message.paper == HEADER_PAPER:
        return f"header: {_header_text(message.payload)}"
    paper = next(paper for paper in digest.papers if paper.number == message.paper)
    return f"{paper.number:>2}. {paper.title}  {paper.abs_url}"


def _header_text(payload: MessagePayload) -> str:
    """Return the visible text of a header payload of either platform."""
    if "text" in payload:
        return str(payload["text"])
    embeds = payload.get("embeds") or [{}]
    return str(payload.get("content") or embeds[0].get("title", ""))


class ProgressPrinter:
    """Writes one line per delivery step so a long post shows it is moving."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: ProgressEvent) -> None:
        line = _PROGRESS_LINES.get(event.kind)
        if line is None:
            return
        self.out.write(f"{event.channel}: {line(event)}\n")
        self.out.flush()


_PROGRESS_LINES = {
    ProgressKind.STARTED: lambda e: f"posting {e.total} papers",
    ProgressKind.POSTED: lambda e: f"{e.done}/{e.total} posted" if e.paper else "header posted",
    ProgressKind.UPDATED: lambda e: f"paper {e.paper} updated ({e.done}/{e.total} done)",
    ProgressKind.RETRYING: lambda e: (
        f"paper {e.paper}: retrying in {e.wait_seconds:.1f} s ({e.error})"
    ),
    ProgressKind.FAILED: lambda e: f"failed: {e.error}",
}


def summary_line(report: ChannelReport) -> str:
    status = "ok" if report.ok else "FAILED"
    updated = f"updated {report.updated}, " if report.updated else ""
    line = (
        f"{report.channel} ({report.platform}): {status}: posted {report.posted}, {updated}"
        f"skipped {report.skipped}, failed {report.failed} of {report.total}"
    )
    return f"{line}; {report.error}" if report.error else line


async def post_digest(
    config: Config,
    digest: Digest,
    channels: Sequence[ChannelConfig],
    *,
    clock: Clock,
    repost: bool,
    out: TextIO,
) -> list[ChannelReport]:
    """Post `digest` to `channels`, recording each send in the state file's ledger.

    With `repost`, the ledger starts empty, so papers posted before are sent again.
    """
    from bot.store import Store

    async with AsyncExitStack() as stack:
        ledger: Ledger
        if repost:
            ledger = MemoryLedger()
        else:
            store = await Store.open(config.state_path, clock=clock)
            stack.push_async_callback(store.close)
            await store.save_digest(digest, digest_hash(digest))
            ledger = store.ledger()
        posters = build_posters(config)
        for poster in posters.values():
            stack.push_async_callback(poster.close)
        return await deliver(
            digest,
            channels,
            posters,
            ledger,
            clock,
            config=config.delivery,
            locale=config.locale,
            progress=ProgressPrinter(out),
        )


def digest_hash(digest: Digest) -> str:
    """Return a hash of the parsed content, which changes when the post is edited."""
    return hashlib.sha256(repr(digest.papers).encode("utf-8")).hexdigest()


def run_post_command(args: argparse.Namespace, *, clock: Clock | None = None) -> int:
    """Carry out `paperbot post` and return its exit code."""
    return asyncio.run(_post(args, clock or SystemClock()))


async def _post(args: argparse.Namespace, clock: Clock) -> int:
    config = build_config(args.config, require_tokens=not args.dry_run)
    channels = select_channels(config, args.channel)
    digest = await load_requested_digest(config, clock, day=args.date, path=args.digest)
    _log.info("digest %s loaded from %s: %d papers", digest.date, digest.source, len(digest.papers))
    if args.dry_run:
        print_plan(digest, channels, config.locale, args.output, sys.stdout)
        return EXIT_OK
    if not digest.papers:
        print(f"{digest.source}: no papers in the digest of {digest.date}; nothing to post")
        return EXIT_OK
    # The progress lines below say what delivery's lifecycle log lines would say again.
    if not _log.isEnabledFor(logging.DEBUG):
        logging.getLogger("bot.delivery").setLevel(logging.WARNING)
    reports = await post_digest(
        config, digest, channels, clock=clock, repost=args.repost, out=sys.stderr
    )
    for report in reports:
        print(summary_line(report))
    return EXIT_OK if all(report.ok for report in reports) else EXIT_FAILED
