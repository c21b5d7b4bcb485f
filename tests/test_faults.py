"""The daily job against failing fakes: 429, 5xx, timeouts, dropped connections, crash leftovers.

Whatever fails on the way, every (channel, paper) reaches the fake exactly once and in order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import ChannelConfig, Config, DeliveryConfig, Platform, ScheduleConfig
from bot.daily import COMPLETED_DATE_KEY, DailyJob, DayOutcome
from bot.delivery import message_nonce
from bot.ledger import DeliveryStatus
from bot.metrics import MeteredPoster, Metrics
from bot.platforms.base import Poster
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from bot.schedule import plan_day
from bot.sources.base import FetchedDigest
from bot.store import Store
from tests.conftest import FIXTURES
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (  # noqa: F401 - pytest fixtures
    DISCORD_PAPERS,
    SLACK_PAPERS,
    discord_channels,
    discord_config,
    slack_channels,
    slack_config,
    start_server,
)
from tests.fakes.server import Drop, DropAfterProcessing, Hang, RateLimit, ServerError
from tests.fakes.slack_api import FakeSlack

TEN_PAPERS = FIXTURES / "digests" / "2025-08-29-daily-papers-20250829.md"
DAY = dt.date(2025, 8, 29)
SEOUL = dt.timezone(dt.timedelta(hours=9))
RUN_AT = dt.datetime(2025, 8, 29, 8, 30, tzinfo=SEOUL).astimezone(dt.UTC)
SCHEDULE = ScheduleConfig(time=dt.time(8, 30), timezone="Asia/Seoul")
EXPECTED = list(range(0, 11))
# Short, so a held request times out quickly; the fakes respond in milliseconds.
REQUEST_TIMEOUT_SECONDS = 0.5


class OneFileSource:
    async def fetch(self, day: dt.date) -> FetchedDigest | None:
        return FetchedDigest(data=TEN_PAPERS.read_bytes(), name=str(TEN_PAPERS))

    async def close(self) -> None:
        pass


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(RUN_AT)


@pytest.fixture
async def fakes(start_server, clock: FakeClock) -> tuple[FakeSlack, FakeDiscord]:  # noqa: F811
    # The fakes enforce the platform rates on the same virtual clock that paces delivery.
    slack = await start_server(FakeSlack(slack_channels(), rate_limit=(1, 1.0), clock=clock))
    discord = await start_server(FakeDiscord(discord_channels(), rate_limit=(5, 5.0), clock=clock))
    return slack, discord


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.sqlite3", clock=clock)
    yield opened
    await opened.close()


@pytest.fixture
async def posters(
    fakes: tuple[FakeSlack, FakeDiscord],
) -> AsyncIterator[dict[Platform, Poster]]:
    slack, discord = fakes
    made: dict[Platform, Poster] = {
        Platform.SLACK: SlackPoster(
            slack_config(slack), request_timeout_seconds=REQUEST_TIMEOUT_SECONDS
        ),
        Platform.DISCORD: DiscordPoster(
            discord_config(discord), request_timeout_seconds=REQUEST_TIMEOUT_SECONDS
        ),
    }
    yield made
    for poster in made.values():
        await poster.close()


def make_job(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    clock: FakeClock,
    metrics: Metrics | None = None,
) -> DailyJob:
    config = Config(
        path=tmp_path / "config.yaml",
        channels=(
            ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS),
            ChannelConfig("discord-papers", Platform.DISCORD, DISCORD_PAPERS),
        ),
        schedule=SCHEDULE,
        delivery=DeliveryConfig(max_retries=5),
    )
    if metrics is not None:
        posters = {p: MeteredPoster(poster, metrics) for p, poster in posters.items()}  # type: ignore[misc]
    progress = metrics.observe if metrics is not None else None
    return DailyJob(config, store, OneFileSource(), posters, clock, progress=progress)


def slack_papers(slack: FakeSlack) -> list[int]:
    return [m["metadata"]["event_payload"]["paper"] for m in slack.messages(SLACK_PAPERS)]


def discord_papers(discord: FakeDiscord) -> list[int]:
    by_nonce = {message_nonce("discord-papers", DAY, paper): paper for paper in EXPECTED}
    return [by_nonce[m["nonce"]] for m in discord.channels[DISCORD_PAPERS].messages]


def rejected_429(fake: FakeSlack | FakeDiscord) -> int:
    return sum(1 for request in fake.requests if request.status == 429)


async def test_faults_none_lost_or_duplicated(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fakes: tuple[FakeSlack, FakeDiscord],
    clock: FakeClock,
) -> None:
    slack, discord = fakes
    slack.inject("chat.postMessage", RateLimit(2.0), ServerError(500), Drop(), ServerError(503))
    slack.inject("chat.postMessage", Hang())
    discord.inject("create_message", RateLimit(1.5), ServerError(502), Drop(), Hang())
    metrics = Metrics()
    job = make_job(tmp_path, store, posters, clock, metrics)

    outcome = await job.run_day(plan_day(RUN_AT, SCHEDULE))

    assert outcome is DayOutcome.POSTED
    assert slack_papers(slack) == EXPECTED
    assert discord_papers(discord) == EXPECTED
    assert 2.0 in clock.sleeps
    assert 1.5 in clock.sleeps
    text = metrics.render().decode()
    assert 'paperbot_rate_limit_waits_total{platform="slack"} 1.0' in text
    assert 'paperbot_rate_limit_waits_total{platform="discord"} 1.0' in text
    assert 'paperbot_retries_total{platform="slack"} 5.0' in text
    assert 'paperbot_retries_total{platform="discord"} 4.0' in text
    assert 'paperbot_messages_posted_total{platform="slack"} 10.0' in text


async def test_faults_pacing_avoids_rate_limits(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fakes: tuple[FakeSlack, FakeDiscord],
    clock: FakeClock,
) -> None:
    slack, discord = fakes
    job = make_job(tmp_path, store, posters, clock)

    await job.run_day(plan_day(RUN_AT, SCHEDULE))

    assert slack_papers(slack) == EXPECTED
    assert discord_papers(discord) == EXPECTED
    assert rejected_429(slack) == 0
    assert rejected_429(discord) == 0


async def test_faults_retries_exhausted_not_completed(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fakes: tuple[FakeSlack, FakeDiscord],
    clock: FakeClock,
) -> None:
    slack, _ = fakes
    slack.inject("chat.postMessage", *[ServerError(500)] * 6)
    job = make_job(tmp_path, store, posters, clock)

    outcome = await job.run_day(plan_day(RUN_AT, SCHEDULE))

    assert outcome is DayOutcome.PARTLY_POSTED
    assert slack.messages(SLACK_PAPERS) == []
    assert await store.get_value(COMPLETED_DATE_KEY) is None

    # A restart within the grace period posts the rest.
    restarted = await make_job(tmp_path, store, posters, clock).run_day(plan_day(RUN_AT, SCHEDULE))

    assert restarted is DayOutcome.POSTED
    assert slack_papers(slack) == EXPECTED


async def test_faults_failed_after_accepted_send_not_resent(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fakes: tuple[FakeSlack, FakeDiscord],
    clock: FakeClock,
) -> None:
    slack, _ = fakes
    # Slack stores the last attempt but its response is lost, so the retries run out.
    slack.inject("chat.postMessage", *[ServerError(500)] * 5, DropAfterProcessing())
    job = make_job(tmp_path, store, posters, clock)

    outcome = await job.run_day(plan_day(RUN_AT, SCHEDULE))

    assert outcome is DayOutcome.PARTLY_POSTED
    assert slack_papers(slack) == [0]
    failed = await store.ledger().get("slack-papers", DAY, 0)
    assert failed is not None
    assert failed.status is DeliveryStatus.FAILED

    restarted = await make_job(tmp_path, store, posters, clock).run_day(plan_day(RUN_AT, SCHEDULE))

    assert restarted is DayOutcome.POSTED
    assert slack_papers(slack) == EXPECTED


async def test_faults_in_flight_after_crash_not_resent(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fakes: tuple[FakeSlack, FakeDiscord],
    clock: FakeClock,
) -> None:
    slack, discord = fakes
    await make_job(tmp_path, store, posters, clock).run_day(plan_day(RUN_AT, SCHEDULE))
    # Simulate a crash after the platforms accepted paper 3 but before SENT was written,
    # and one before paper 7 reached Slack.
    ledger = store.ledger()
    for channel in ("slack-papers", "discord-papers"):
        record = await ledger.get(channel, DAY, 3)
        assert record is not None
        await ledger.put(dataclasses.replace(record, status=DeliveryStatus.IN_FLIGHT))
    lost = await ledger.get("slack-papers", DAY, 7)
    assert lost is not None
    await ledger.put(dataclasses.replace(lost, status=DeliveryStatus.IN_FLIGHT))
    slack.channels[SLACK_PAPERS].messages = [
        m for m in slack.messages(SLACK_PAPERS) if m["metadata"]["event_payload"]["paper"] != 7
    ]
    await store.set_value(COMPLETED_DATE_KEY, "2025-08-28")

    outcome = await make_job(tmp_path, store, posters, clock).run_day(plan_day(RUN_AT, SCHEDULE))

    assert outcome is DayOutcome.POSTED
    assert sorted(slack_papers(slack)) == EXPECTED
    assert discord_papers(discord) == EXPECTED
    slack_record = await ledger.get("slack-papers", DAY, 3)
    assert slack_record is not None
    assert slack_record.status is DeliveryStatus.SENT
    # The restart looks up papers 3 and 7, and delivery looks up paper 7, still IN_FLIGHT,
    # once more before it sends it.
    history_calls = [r for r in slack.requests if r.endpoint == "conversations.history"]
    assert len(history_calls) == 3


async def test_faults_history_failure_delays_posting(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fakes: tuple[FakeSlack, FakeDiscord],
    clock: FakeClock,
) -> None:
    slack, _ = fakes
    await make_job(tmp_path, store, posters, clock).run_day(plan_day(RUN_AT, SCHEDULE))
    ledger = store.ledger()
    record = await ledger.get("slack-papers", DAY, 3)
    assert record is not None
    await ledger.put(dataclasses.replace(record, status=DeliveryStatus.IN_FLIGHT))
    await store.set_value(COMPLETED_DATE_KEY, "2025-08-28")
    slack.inject("conversations.history", ServerError(500))

    outcome = await make_job(tmp_path, store, posters, clock).run_day(plan_day(RUN_AT, SCHEDULE))

    # The first lookup failed, so nothing was sent until the next poll's lookup succeeded.
    assert outcome is DayOutcome.POSTED
    assert slack_papers(slack) == EXPECTED
    history_calls = [r for r in slack.requests if r.endpoint == "conversations.history"]
    assert len(history_calls) == 2
