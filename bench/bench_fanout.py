"""Fan-out benchmark: the 39-paper digest to 10 Slack and 10 Discord channels on local fakes.

The fakes enforce 1 message per second per Slack channel and 5 per 5 s per Discord channel
and add 50 ms of latency to every request. The script prints, for paced delivery and for a
naive serial poster, the wall time, the rate-limit floor (the slowest channel's minimum
time under those limits), their ratio and the number of 429 answers.

Run: `python bench/bench_fanout.py` from the repository root (about 2 minutes).
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.config import ChannelConfig, Platform  # noqa: E402
from bot.delivery import deliver, message_nonce  # noqa: E402
from bot.digest.parser import load_digest  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from bot.ledger import MemoryLedger  # noqa: E402
from bot.platforms.base import (  # noqa: E402
    Poster,
    RateLimited,
    Target,
    TransientError,
    default_renderers,
)
from bot.platforms.discord.poster import DiscordPoster  # noqa: E402
from bot.platforms.slack.poster import SlackPoster  # noqa: E402
from tests.fakes.discord_api import DiscordChannel, FakeDiscord  # noqa: E402
from tests.fakes.fixtures import discord_config, slack_config  # noqa: E402
from tests.fakes.slack_api import FakeSlack, SlackChannel  # noqa: E402

DIGEST = REPO_ROOT / "tests" / "fixtures" / "digests" / "2025-09-03-daily-papers-20250903.md"
CHANNELS_PER_PLATFORM = 10
LATENCY_SECONDS = 0.050
SLACK_RATE = (1, 1.0)
DISCORD_RATE = (5, 5.0)


def _add_latency(app: web.Application) -> None:
    @web.middleware
    async def latency(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        await asyncio.sleep(LATENCY_SECONDS)
        return await handler(request)

    app.middlewares.append(latency)


class SlowSlack(FakeSlack):
    def _add_routes(self, app: web.Application) -> None:
        _add_latency(app)
        super()._add_routes(app)


class SlowDiscord(FakeDiscord):
    def _add_routes(self, app: web.Application) -> None:
        _add_latency(app)
        super()._add_routes(app)


def floor_seconds(messages: int, burst: int, per_seconds: float) -> float:
    """Return the minimum time from the first to the last of `messages` sends, plus latency."""
    return (math.ceil(messages / burst) - 1) * per_seconds + LATENCY_SECONDS


async def start_fakes() -> tuple[SlowSlack, SlowDiscord, list[ChannelConfig]]:
    slack_ids = [f"C0BENCH{i:02d}" for i in range(CHANNELS_PER_PLATFORM)]
    discord_ids = [str(1_000_000_000_000_000_200 + i) for i in range(CHANNELS_PER_PLATFORM)]
    slack = SlowSlack([SlackChannel(i, i) for i in slack_ids], rate_limit=SLACK_RATE)
    discord = SlowDiscord([DiscordChannel(i, i) for i in discord_ids], rate_limit=DISCORD_RATE)
    await slack.start()
    await discord.start()
    channels = [ChannelConfig(f"slack-{i}", Platform.SLACK, i) for i in slack_ids]
    channels += [ChannelConfig(f"discord-{i}", Platform.DISCORD, i) for i in discord_ids]
    return slack, discord, channels


def make_posters(slack: FakeSlack, discord: FakeDiscord) -> dict[Platform, Poster]:
    return {
        Platform.SLACK: SlackPoster(slack_config(slack, min_interval_seconds=SLACK_RATE[1])),
        Platform.DISCORD: DiscordPoster(
            discord_config(discord, burst=DISCORD_RATE[0], per_seconds=DISCORD_RATE[1])
        ),
    }


async def run_paced(digest, posters, channels) -> None:  # type: ignore[no-untyped-def]
    reports = await deliver(digest, channels, posters, MemoryLedger(), SystemClock())
    failed = [report.channel for report in reports if not report.ok]
    if failed:
        raise RuntimeError(f"channels failed: {failed}")


async def run_naive(digest, posters, channels) -> None:  # type: ignore[no-untyped-def]
    """Send one message at a time over all channels, waiting out the Retry-After of each 429."""
    renderers = default_renderers()
    translator = Translator("ko")
    for number in [0, *(paper.number for paper in digest.papers)]:
        for channel in channels:
            target = Target(channel_id=channel.id)
            nonce = message_nonce(channel.name, digest.date, number)
            renderer = renderers[channel.platform]
            if number == 0:
                payload = renderer.header(digest, translator, target=target, nonce=nonce)
            else:
                paper = next(p for p in digest.papers if p.number == number)
                payload = renderer.paper(paper, digest, translator, target=target, nonce=nonce)
            await post_until_accepted(posters[channel.platform], target, payload)


async def post_until_accepted(poster: Poster, target: Target, payload: dict) -> None:  # type: ignore[type-arg]
    while True:
        try:
            await poster.post(target, payload)
            return
        except RateLimited as error:
            await asyncio.sleep(error.retry_after)
        except TransientError:
            await asyncio.sleep(1.0)


async def measure(name: str, runner) -> None:  # type: ignore[no-untyped-def]
    digest = load_digest(DIGEST)
    slack, discord, channels = await start_fakes()
    posters = make_posters(slack, discord)
    messages = len(digest.papers) + 1
    floor = max(floor_seconds(messages, *SLACK_RATE), floor_seconds(messages, *DISCORD_RATE))
    try:
        started = time.monotonic()
        await runner(digest, posters, channels)
        wall = time.monotonic() - started
    finally:
        for poster in posters.values():
            await poster.close()
        await slack.close()
        await discord.close()
    rejected = sum(1 for r in slack.requests + discord.requests if r.status == 429)
    sent = len(slack.posts()) + sum(len(c.messages) for c in discord.channels.values())
    print(
        f"{name}: {sent} messages to {len(channels)} channels in {wall:.1f} s; "
        f"rate-limit floor {floor:.1f} s; ratio {wall / floor:.2f}; 429 answers {rejected}"
    )


async def main() -> None:
    await measure("paced delivery", run_paced)
    await measure("naive serial", run_naive)


if __name__ == "__main__":
    asyncio.run(main())
