"""Pytest fixtures that start the fake Slack and Discord servers and posters aimed at them.

Load them in a test module with `pytest_plugins = ["tests.fakes.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

from bot.config import DiscordConfig, SlackConfig
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from tests.fakes import discord_api, slack_api
from tests.fakes.discord_api import DiscordChannel, FakeDiscord
from tests.fakes.server import FakeServer
from tests.fakes.slack_api import FakeSlack, SlackChannel

_Server = TypeVar("_Server", bound=FakeServer)

SLACK_PAPERS = "C0PAPERS"
SLACK_DIGEST = "C0DIGEST"
SLACK_NOT_MEMBER = "C0OUTSIDE"
SLACK_PRIVATE = "G0PRIVATE"

DISCORD_PAPERS = "1000000000000000001"
DISCORD_DIGEST = "1000000000000000002"
DISCORD_NO_ACCESS = "1000000000000000003"

# Request timeout of the fixture posters: no test reaches it unless a fake holds a request.
TEST_REQUEST_TIMEOUT_SECONDS = 5.0


def slack_channels() -> list[SlackChannel]:
    return [
        SlackChannel(SLACK_PAPERS, "papers"),
        SlackChannel(SLACK_DIGEST, "digest"),
        SlackChannel(SLACK_NOT_MEMBER, "outside", is_member=False),
        SlackChannel(SLACK_PRIVATE, "private", is_member=False, is_private=True),
    ]


def discord_channels() -> list[DiscordChannel]:
    return [
        DiscordChannel(DISCORD_PAPERS, "papers"),
        DiscordChannel(DISCORD_DIGEST, "digest"),
        DiscordChannel(DISCORD_NO_ACCESS, "secret", can_access=False),
    ]


StartServer = Callable[[_Server], Awaitable[_Server]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start fake servers on demand and close every one of them after the test."""
    started: list[FakeServer] = []

    async def start(server: _Server) -> _Server:
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close()


@pytest.fixture
async def fake_slack(start_server: StartServer) -> FakeSlack:
    return await start_server(FakeSlack(slack_channels()))


@pytest.fixture
async def fake_discord(start_server: StartServer) -> FakeDiscord:
    return await start_server(FakeDiscord(discord_channels()))


def slack_config(fake: FakeSlack, **overrides: object) -> SlackConfig:
    settings: dict[str, object] = {
        "bot_token": slack_api.TOKEN,
        "api_url": fake.api_url,
        "min_interval_seconds": 1.0,
    }
    settings.update(overrides)
    return SlackConfig(**settings)  # type: ignore[arg-type]


def discord_config(fake: FakeDiscord, **overrides: object) -> DiscordConfig:
    settings: dict[str, object] = {"token": discord_api.TOKEN, "api_base": fake.api_base}
    settings.update(overrides)
    return DiscordConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def slack_poster(fake_slack: FakeSlack) -> AsyncIterator[SlackPoster]:
    poster = SlackPoster(
        slack_config(fake_slack), request_timeout_seconds=TEST_REQUEST_TIMEOUT_SECONDS
    )
    yield poster
    await poster.close()


@pytest.fixture
async def discord_poster(fake_discord: FakeDiscord) -> AsyncIterator[DiscordPoster]:
    poster = DiscordPoster(
        discord_config(fake_discord), request_timeout_seconds=TEST_REQUEST_TIMEOUT_SECONDS
    )
    yield poster
    await poster.close()
