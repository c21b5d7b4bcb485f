"""Parse real digests, render them with the real renderers and deliver them to the fakes.

Two Slack and two Discord channels (one of each in thread mode) receive the 11-paper
reference digest and the 39-paper digest of 2025-09-03. The fakes enforce the platform limits
and per-channel rates on a FakeClock, and every check reads what the fakes received.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import ChannelConfig, Platform
from bot.delivery import ChannelReport, deliver, message_nonce
from bot.digest.model import Digest, LinkKind, Paper
from bot.digest.parser import load_digest
from bot.i18n import Translator
from bot.ledger import HEADER_PAPER, MemoryLedger
from bot.platforms.base import Poster
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from bot.render.discord import render_discord_header, render_discord_paper
from bot.render.slack import render_slack_header, render_slack_paper
from tests.conftest import EXAMPLE_DIGEST, FIXTURES
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (
    DISCORD_DIGEST,
    DISCORD_PAPERS,
    SLACK_DIGEST,
    SLACK_PAPERS,
    StartServer,
    discord_channels,
    discord_config,
    slack_channels,
    slack_config,
)
from tests.fakes.slack_api import FakeSlack

pytest_plugins = ["tests.fakes.fixtures"]

LARGE_DIGEST = FIXTURES / "digests" / "2025-09-03-daily-papers-20250903.md"

CHANNELS = [
    ChannelConfig("slack-flat", Platform.SLACK, SLACK_PAPERS),
    ChannelConfig("slack-thread", Platform.SLACK, SLACK_DIGEST, header=False, thread=True),
    ChannelConfig("discord-flat", Platform.DISCORD, DISCORD_PAPERS, locale="en"),
    ChannelConfig("discord-thread", Platform.DISCORD, DISCORD_DIGEST, thread=True),
]

# Text that pings a whole channel or a user if it reaches a platform unescaped.
HOSTILE_TITLE = "Attention @everyone @here <!channel> <!here> <!everyone> <@U012AB3CD> <@123456789>"
SLACK_LIVE_MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U")


@dataclasses.dataclass
class Platforms:
    clock: FakeClock
    slack: FakeSlack
    discord: FakeDiscord
    posters: dict[Platform, Poster]


@pytest.fixture
async def platforms(start_server: StartServer) -> AsyncIterator[Platforms]:
    clock = FakeClock()
    slack = await start_server(FakeSlack(slack_channels(), rate_limit=(1, 1.0), clock=clock))
    discord = await start_server(FakeDiscord(discord_channels(), rate_limit=(5, 5.0), clock=clock))
    posters: dict[Platform, Poster] = {
        Platform.SLACK: SlackPoster(slack_config(slack)),
        Platform.DISCORD: DiscordPoster(discord_config(discord)),
    }
    yield Platforms(clock, slack, discord, posters)
    for poster in posters.values():
        await poster.close()


def with_hostile_first_paper(digest: Digest) -> Digest:
    first = dataclasses.replace(digest.papers[0], title=HOSTILE_TITLE)
    return dataclasses.replace(digest, papers=(first, *digest.papers[1:]))


async def deliver_all(platforms: Platforms, digest: Digest) -> list[ChannelReport]:
    return await deliver(
        digest, CHANNELS, platforms.posters, MemoryLedger(), platforms.clock, locale="ko"
    )


def expected_slack(digest: Digest, channel: ChannelConfig, thread_ts: str | None) -> list[Any]:
    translator = Translator(channel.locale or "ko")
    payloads = []
    if channel.header or channel.thread:
        payloads.append(render_slack_header(digest, translator, channel=channel.id))
    for paper in digest.papers:
        payloads.append(
            render_slack_paper(paper, digest, translator, channel=channel.id, thread_ts=thread_ts)
        )
    return payloads


def expected_discord(digest: Digest, channel: ChannelConfig) -> list[Any]:
    translator = Translator(channel.locale or "ko")

    def nonce(paper: int) -> str:
        return message_nonce(channel.name, digest.date, paper)

    payloads = [render_discord_header(digest, translator, nonce=nonce(HEADER_PAPER))]
    for paper in digest.papers:
        payloads.append(render_discord_paper(paper, digest, translator, nonce=nonce(paper.number)))
    return payloads


def link_problems(paper: Paper, body: dict[str, Any]) -> list[str]:
    sent = json.dumps(body, ensure_ascii=False)
    wanted = [paper.abs_url, paper.pdf_url, paper.link(LinkKind.ALPHAXIV)]
    return [url for url in wanted if url is not None and url not in sent]


def slack_parsed_texts(payload: dict[str, Any]) -> list[str]:
    """Return the texts in which Slack turns `<!here>` and `<@U…>` into mentions.

    That is the top-level `text` and every `mrkdwn` text object; `plain_text` shows them as
    typed.
    """
    texts = [payload.get("text", "")]
    pending: list[Any] = list(payload.get("blocks", []))
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("type") == "mrkdwn":
                texts.append(item.get("text", ""))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return texts


def load(path: Path) -> Digest:
    return with_hostile_first_paper(load_digest(path))


@pytest.mark.parametrize("path", [EXAMPLE_DIGEST, LARGE_DIGEST], ids=["2025-09-23", "2025-09-03"])
async def test_digest_reaches_every_channel(platforms: Platforms, path: Path) -> None:
    digest = load(path)

    reports = await deliver_all(platforms, digest)

    assert [report.error for report in reports] == [None] * 4
    assert [report.posted for report in reports] == [len(digest.papers)] * 4
    assert [r.status for r in platforms.slack.requests] == [200] * len(platforms.slack.requests)
    assert all(r.error is None for r in platforms.slack.requests)
    assert all(r.status == 200 for r in platforms.discord.requests)


@pytest.mark.parametrize("path", [EXAMPLE_DIGEST, LARGE_DIGEST], ids=["2025-09-23", "2025-09-03"])
async def test_slack_channels_get_rendered_papers(platforms: Platforms, path: Path) -> None:
    digest = load(path)
    await deliver_all(platforms, digest)

    flat, threaded = CHANNELS[0], CHANNELS[1]
    flat_bodies = [r.body for r in platforms.slack.posts(flat.id)]
    threaded_bodies = [r.body for r in platforms.slack.posts(threaded.id)]
    header_ts = platforms.slack.messages(threaded.id)[0]["ts"]

    assert flat_bodies == expected_slack(digest, flat, thread_ts=None)
    assert threaded_bodies == expected_slack(digest, threaded, thread_ts=header_ts)
    for bodies in (flat_bodies, threaded_bodies):
        papers_sent = [body["metadata"]["event_payload"]["paper"] for body in bodies]
        assert papers_sent == [0] + [paper.number for paper in digest.papers]
        for paper, body in zip(digest.papers, bodies[1:], strict=True):
            assert link_problems(paper, body) == [], f"paper {paper.number}"
            assert body["unfurl_links"] is False


@pytest.mark.parametrize("path", [EXAMPLE_DIGEST, LARGE_DIGEST], ids=["2025-09-23", "2025-09-03"])
async def test_discord_channels_get_rendered_papers(platforms: Platforms, path: Path) -> None:
    digest = load(path)
    await deliver_all(platforms, digest)

    for channel in CHANNELS[2:]:
        header = platforms.discord.messages(channel.id)[0]
        paper_channel = header["id"] if channel.thread else channel.id
        bodies = [r.body for r in platforms.discord.creates(channel.id)]
        if channel.thread:
            bodies += [r.body for r in platforms.discord.creates(paper_channel)]

        assert bodies == expected_discord(digest, channel), channel.name
        stored = platforms.discord.messages(paper_channel)
        assert len(stored) == len(digest.papers) + (0 if channel.thread else 1)
        for paper, body in zip(digest.papers, bodies[1:], strict=True):
            assert link_problems(paper, body) == [], f"{channel.name} paper {paper.number}"


@pytest.mark.parametrize("path", [EXAMPLE_DIGEST, LARGE_DIGEST], ids=["2025-09-23", "2025-09-03"])
async def test_no_message_can_ping(platforms: Platforms, path: Path) -> None:
    await deliver_all(platforms, load(path))

    escaped = 0
    for request in platforms.slack.posts():
        for text in slack_parsed_texts(request.body):
            escaped += "&lt;!channel&gt;" in text
            for mention in SLACK_LIVE_MENTIONS:
                assert mention not in text, f"{mention} in a message to {request.channel}"
    # The hostile title reached both Slack channels, escaped.
    assert escaped >= 2
    for request in platforms.discord.creates():
        assert request.body["allowed_mentions"] == {"parse": []}
    for channel in platforms.discord.channels.values():
        for message in channel.messages:
            assert message["pings"] == [], f"message {message['id']} in {channel.id}"
