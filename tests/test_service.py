"""The service in-process: catch-up post, /healthz and /metrics, draining stop, bad token."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import (
    ChannelConfig,
    Config,
    DeliveryConfig,
    HealthConfig,
    Platform,
    ScheduleConfig,
    SourceConfig,
)
from bot.ledger import DeliveryStatus
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from bot.service import EXIT_OK, Service
from bot.store import Store
from tests.conftest import FIXTURES
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (  # noqa: F401 - pytest fixtures
    DISCORD_PAPERS,
    SLACK_PAPERS,
    discord_config,
    fake_discord,
    fake_slack,
    slack_config,
    start_server,
)
from tests.fakes.server import Hang
from tests.fakes.slack_api import FakeSlack

TEN_PAPERS = FIXTURES / "digests" / "2025-08-29-daily-papers-20250829.md"
SEOUL = dt.timezone(dt.timedelta(hours=9))
# Longer sleeps than this are the job waiting for its next run.
IDLE_SLEEP_SECONDS = 3600.0
GUARD_SECONDS = 20.0


class ParkingClock(FakeClock):
    """A FakeClock whose long sleeps park until cancelled and set `idle`, like a waiting job."""

    def __init__(self, start: dt.datetime) -> None:
        super().__init__(start)
        self.idle = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        if seconds >= IDLE_SLEEP_SECONDS or self._parking(seconds):
            self.idle.set()
            await asyncio.Future()
        await super().sleep(seconds)

    def _parking(self, seconds: float) -> bool:
        # The job sleeps in chunks of at most 300 s while waiting for its next run.
        return seconds >= 300.0


def seoul(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 8, day, hour, minute, tzinfo=SEOUL).astimezone(dt.UTC)


def make_config(tmp_path: Path) -> Config:
    posts = tmp_path / "posts"
    posts.mkdir(exist_ok=True)
    (posts / TEN_PAPERS.name).write_bytes(TEN_PAPERS.read_bytes())
    return Config(
        path=tmp_path / "config.yaml",
        source=SourceConfig(kind="folder", path=posts, pattern="{date}-daily-papers-*.md"),
        channels=(
            ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS),
            ChannelConfig("discord-papers", Platform.DISCORD, DISCORD_PAPERS),
        ),
        schedule=ScheduleConfig(time=dt.time(8, 30), timezone="Asia/Seoul"),
        delivery=DeliveryConfig(max_retries=2, request_timeout_seconds=5.0),
        state_path=tmp_path / "state.sqlite3",
        # Port 0 picks a free port, so a busy 8080 on the test machine cannot interfere.
        health=HealthConfig(port=0),
    )


@pytest.fixture
async def posters(
    fake_slack: FakeSlack,  # noqa: F811
    fake_discord: FakeDiscord,  # noqa: F811
) -> AsyncIterator[dict[Platform, object]]:
    made = {
        Platform.SLACK: SlackPoster(slack_config(fake_slack, min_interval_seconds=0)),
        Platform.DISCORD: DiscordPoster(discord_config(fake_discord, per_seconds=0)),
    }
    yield made
    for poster in made.values():
        await poster.close()


async def get_json(service: Service, path: str) -> tuple[int, dict[str, object]]:
    assert service.health_server is not None
    url = f"http://127.0.0.1:{service.health_server.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json(content_type=None)


async def get_text(service: Service, path: str) -> str:
    assert service.health_server is not None
    url = f"http://127.0.0.1:{service.health_server.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


async def test_service_catch_up_health_and_stop(
    tmp_path: Path,
    posters: dict[Platform, object],
    fake_slack: FakeSlack,  # noqa: F811
    fake_discord: FakeDiscord,  # noqa: F811
) -> None:
    clock = ParkingClock(seoul(29, 9, 0))
    service = Service(make_config(tmp_path), clock=clock, posters=posters, environ={})  # type: ignore[arg-type]
    running = asyncio.create_task(service.run())

    async with asyncio.timeout(GUARD_SECONDS):
        await clock.idle.wait()
    status, body = await get_json(service, "/healthz")
    metrics = await get_text(service, "/metrics")
    service.stop()
    async with asyncio.timeout(GUARD_SECONDS):
        exit_code = await running

    assert exit_code == EXIT_OK
    assert len(fake_slack.messages(SLACK_PAPERS)) == 11
    assert len(fake_discord.channels[DISCORD_PAPERS].messages) == 11
    assert status == 200
    assert body["status"] == "ok"
    assert body["platforms"] == {"slack": "connected", "discord": "connected"}
    assert body["scheduler"] == "running"
    assert body["connectors"] == {}
    assert body["next_run"] == seoul(30, 8, 30).isoformat()
    last = body["last_digest"]
    assert isinstance(last, dict)
    assert last["date"] == "2025-08-29"
    assert last["outcome"] == "posted"
    assert last["channels_ok"] == 2
    assert 'paperbot_messages_posted_total{platform="slack"} 10.0' in metrics
    assert 'paperbot_messages_posted_total{platform="discord"} 10.0' in metrics


async def test_service_restart_posts_nothing_twice(
    tmp_path: Path,
    posters: dict[Platform, object],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    config = make_config(tmp_path)
    for _ in range(2):
        clock = ParkingClock(seoul(29, 9, 0))
        service = Service(config, clock=clock, posters=posters, environ={})  # type: ignore[arg-type]
        running = asyncio.create_task(service.run())
        async with asyncio.timeout(GUARD_SECONDS):
            await clock.idle.wait()
        service.stop()
        async with asyncio.timeout(GUARD_SECONDS):
            assert await running == EXIT_OK

    assert len(fake_slack.messages(SLACK_PAPERS)) == 11


async def test_service_stop_finishes_message_in_flight(
    tmp_path: Path,
    posters: dict[Platform, object],
    fake_slack: FakeSlack,  # noqa: F811
    fake_discord: FakeDiscord,  # noqa: F811
) -> None:
    config = make_config(tmp_path)
    config = dataclasses.replace(config, channels=config.channels[:1])
    # The first request (the header) is held until released.
    fake_slack.inject("chat.postMessage", Hang())
    service = Service(config, clock=ParkingClock(seoul(29, 9, 0)), posters=posters, environ={})  # type: ignore[arg-type]
    running = asyncio.create_task(service.run())

    async with asyncio.timeout(GUARD_SECONDS):
        await fake_slack.wait_held()
    service.stop()
    assert service.ledger is not None
    assert service.ledger.in_flight == 1
    fake_slack.release()
    async with asyncio.timeout(GUARD_SECONDS):
        exit_code = await running

    assert exit_code == EXIT_OK
    papers = [m["metadata"]["event_payload"]["paper"] for m in fake_slack.messages(SLACK_PAPERS)]
    assert papers == [0]
    store = await Store.open(config.state_path)
    try:
        records = await store.ledger().records("slack-papers", dt.date(2025, 8, 29))
    finally:
        await store.close()
    assert [r.paper for r in records] == [0]
    assert {r.status for r in records} == {DeliveryStatus.SENT}


async def test_service_rejected_token_is_503(
    tmp_path: Path,
    fake_slack: FakeSlack,  # noqa: F811
    fake_discord: FakeDiscord,  # noqa: F811
) -> None:
    posters = {
        Platform.SLACK: SlackPoster(slack_config(fake_slack, bot_token="xoxb-wrong")),
        Platform.DISCORD: DiscordPoster(discord_config(fake_discord)),
    }
    clock = ParkingClock(seoul(29, 7, 0))
    service = Service(make_config(tmp_path), clock=clock, posters=posters, environ={})  # type: ignore[arg-type]
    running = asyncio.create_task(service.run())
    async with asyncio.timeout(GUARD_SECONDS):
        await service.wait_started()
        await clock.idle.wait()

    status, body = await get_json(service, "/healthz")
    service.stop()
    async with asyncio.timeout(GUARD_SECONDS):
        assert await running == EXIT_OK

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["platforms"] == {"slack": "failed", "discord": "connected"}
    assert body["last_digest"] is None
    assert body["next_run"] == seoul(29, 8, 30).isoformat()


async def test_service_bad_port_variable_fails(tmp_path: Path) -> None:
    service = Service(make_config(tmp_path), clock=FakeClock(), posters={}, environ={"PORT": "x"})

    with pytest.raises(ValueError, match="PORT"):
        await service.run()
