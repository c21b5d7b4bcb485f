"""The daily job on a FakeClock: polling, deadline note, catch-up, empty days, date guard."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import ChannelConfig, Config, DeliveryConfig, Platform, ScheduleConfig
from bot.daily import COMPLETED_DATE_KEY, DailyJob, DayOutcome
from bot.platforms.base import Poster
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from bot.schedule import next_run, plan_day
from bot.sources.base import FetchedDigest, SourceError
from bot.store import Store
from tests.conftest import FIXTURES
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (  # noqa: F401 - pytest fixtures
    DISCORD_DIGEST,
    DISCORD_PAPERS,
    SLACK_DIGEST,
    SLACK_PAPERS,
    discord_poster,
    fake_discord,
    fake_slack,
    slack_poster,
    start_server,
)
from tests.fakes.slack_api import FakeSlack

DIGESTS = FIXTURES / "digests"
TEN_PAPERS = DIGESTS / "2025-08-29-daily-papers-20250829.md"
NO_PAPERS = DIGESTS / "2025-12-26-daily-papers-20251226.md"

SEOUL = dt.timezone(dt.timedelta(hours=9))
SCHEDULE = ScheduleConfig(
    time=dt.time(8, 30),
    timezone="Asia/Seoul",
    poll_interval_minutes=10,
    deadline=dt.time(12, 0),
    grace_minutes=240,
)


class StopClock(FakeClock):
    """A FakeClock that ends the job by raising `Stopped` once a sleep reaches `stop_at`."""

    def __init__(self, start: dt.datetime, stop_at: dt.datetime) -> None:
        super().__init__(start)
        self.stop_at = stop_at

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if self.now() >= self.stop_at:
            raise Stopped


class Stopped(Exception):
    pass


class ScriptedSource:
    """A digest source that publishes files by date, each after a number of empty polls."""

    def __init__(
        self, files: dict[dt.date, Path], *, empty_polls: int = 0, clock: FakeClock | None = None
    ) -> None:
        self.files = files
        self.empty_polls = empty_polls
        self.clock = clock
        self.fetched: list[dt.date] = []
        self.fetch_times: list[dt.datetime] = []
        self.errors: list[Exception] = []

    async def fetch(self, day: dt.date) -> FetchedDigest | None:
        self.fetched.append(day)
        if self.clock is not None:
            self.fetch_times.append(self.clock.now())
        if self.errors:
            raise self.errors.pop(0)
        if day not in self.files or self.fetched.count(day) <= self.empty_polls:
            return None
        path = self.files[day]
        return FetchedDigest(data=path.read_bytes(), name=str(path))

    async def close(self) -> None:
        pass


def seoul(day: int, hour: int, minute: int = 0, month: int = 8) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SEOUL).astimezone(dt.UTC)


def make_config(tmp_path: Path, **overrides: object) -> Config:
    channels = (
        ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS),
        ChannelConfig("discord-papers", Platform.DISCORD, DISCORD_PAPERS),
        ChannelConfig("slack-ops", Platform.SLACK, SLACK_DIGEST, header=False, locale="en"),
    )
    settings: dict[str, object] = {
        "path": tmp_path / "config.yaml",
        "channels": channels,
        "schedule": SCHEDULE,
        "delivery": DeliveryConfig(max_retries=2),
    }
    settings.update(overrides)
    return Config(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.sqlite3", clock=FakeClock())
    yield opened
    await opened.close()


@pytest.fixture
def posters(slack_poster: SlackPoster, discord_poster: DiscordPoster) -> dict[Platform, Poster]:  # noqa: F811
    return {Platform.SLACK: slack_poster, Platform.DISCORD: discord_poster}


def slack_texts(fake: FakeSlack, channel: str) -> list[str]:
    return [message["text"] for message in fake.messages(channel)]


def paper_numbers(fake_slack: FakeSlack, channel: str) -> list[int]:  # noqa: F811
    return [
        message["metadata"]["event_payload"]["paper"]
        for message in fake_slack.messages(channel)
        if "metadata" in message
    ]


async def test_daily_digest_on_third_poll_posted_once(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
    fake_discord: FakeDiscord,  # noqa: F811
) -> None:
    clock = FakeClock(seoul(29, 8, 0))
    source = ScriptedSource({dt.date(2025, 8, 29): TEN_PAPERS}, empty_polls=2, clock=clock)
    job = DailyJob(make_config(tmp_path), store, source, posters, clock)
    plan = plan_day(seoul(29, 8, 30), SCHEDULE)

    outcome = await job.run_day(plan)

    assert outcome is DayOutcome.POSTED
    assert source.fetch_times == [seoul(29, 8, 30), seoul(29, 8, 40), seoul(29, 8, 50)]
    assert paper_numbers(fake_slack, SLACK_PAPERS) == list(range(0, 11))
    assert paper_numbers(fake_slack, SLACK_DIGEST) == list(range(1, 11))
    assert len(fake_discord.channels[DISCORD_PAPERS].messages) == 11
    assert await store.get_value(COMPLETED_DATE_KEY) == "2025-08-29"
    assert job.last_run is not None
    assert job.last_run.channels_ok == 3

    again = await job.run_day(plan)

    assert again is DayOutcome.ALREADY_POSTED
    assert len(fake_slack.messages(SLACK_PAPERS)) == 11
    assert len(fake_discord.channels[DISCORD_PAPERS].messages) == 11


async def test_daily_deadline_sends_admin_note_once(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(seoul(29, 8, 30))
    source = ScriptedSource({})
    config = make_config(tmp_path, admin_channel="slack-ops")
    job = DailyJob(config, store, source, posters, clock)
    plan = plan_day(seoul(29, 8, 30), SCHEDULE)

    with caplog.at_level(logging.WARNING, logger="bot.daily"):
        outcome = await job.run_day(plan)

    assert outcome is DayOutcome.DEADLINE_MISSED
    # 08:30 to 12:00 every 10 minutes, both ends included.
    assert job.polls == 22
    assert clock.now() == seoul(29, 12, 0)
    notes = slack_texts(fake_slack, SLACK_DIGEST)
    assert len(notes) == 1
    assert "2025-08-29" in notes[0]
    assert "deadline" in notes[0]
    assert fake_slack.messages(SLACK_PAPERS) == []
    deadline_logs = [r for r in caplog.records if "by the deadline" in r.getMessage()]
    assert len(deadline_logs) == 1

    # A restart after the deadline polls once more and does not repeat the note.
    await job.run_day(plan)

    assert len(slack_texts(fake_slack, SLACK_DIGEST)) == 1


async def test_daily_admin_note_uses_channel_locale(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    channels = (ChannelConfig("ops-ko", Platform.SLACK, SLACK_DIGEST),)
    config = make_config(tmp_path, channels=channels, admin_channel="ops-ko")
    job = DailyJob(config, store, ScriptedSource({}), posters, FakeClock(seoul(29, 11, 55)))

    await job.run_day(plan_day(seoul(29, 8, 30), SCHEDULE))

    notes = slack_texts(fake_slack, SLACK_DIGEST)
    assert len(notes) == 1
    assert "마감" in notes[0]


async def test_daily_catch_up_within_grace_posts_once(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    clock = StopClock(seoul(29, 10, 0), stop_at=seoul(30, 8, 0))
    source = ScriptedSource({dt.date(2025, 8, 29): TEN_PAPERS})
    job = DailyJob(make_config(tmp_path), store, source, posters, clock)

    with pytest.raises(Stopped):
        await job.run_forever()

    assert source.fetched[0] == dt.date(2025, 8, 29)
    assert paper_numbers(fake_slack, SLACK_PAPERS) == list(range(0, 11))
    assert job.next_run_at == seoul(30, 8, 30)


async def test_daily_start_after_grace_skips_today(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    # 08:30 plus 240 grace minutes ends at 12:30, so a start at 12:31 waits for tomorrow.
    clock = StopClock(seoul(29, 12, 31), stop_at=seoul(30, 8, 45))
    source = ScriptedSource({dt.date(2025, 8, 29): TEN_PAPERS})
    job = DailyJob(make_config(tmp_path), store, source, posters, clock)

    assert await job.catch_up_plan() is None
    with pytest.raises(Stopped):
        await job.run_forever()

    assert dt.date(2025, 8, 29) not in source.fetched
    assert source.fetched[0] == dt.date(2025, 8, 30)
    assert fake_slack.messages(SLACK_PAPERS) == []


async def test_daily_catch_up_skipped_when_today_completed(
    tmp_path: Path, store: Store, posters: dict[Platform, Poster]
) -> None:
    await store.set_value(COMPLETED_DATE_KEY, "2025-08-29")
    job = DailyJob(
        make_config(tmp_path), store, ScriptedSource({}), posters, FakeClock(seoul(29, 9, 0))
    )

    assert await job.catch_up_plan() is None


async def test_daily_earlier_day_never_reposted(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The source serves the 08-29 post for 08-30, as a misnamed file would.
    source = ScriptedSource({dt.date(2025, 8, 30): TEN_PAPERS})
    job = DailyJob(make_config(tmp_path), store, source, posters, FakeClock(seoul(30, 11, 50)))

    outcome = await job.run_day(plan_day(seoul(30, 8, 30), SCHEDULE))

    assert outcome is DayOutcome.DEADLINE_MISSED
    assert fake_slack.messages(SLACK_PAPERS) == []
    assert any("is dated 2025-08-29, not 2025-08-30" in r.getMessage() for r in caplog.records)


async def test_daily_zero_papers_posts_only_notes(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
    fake_discord: FakeDiscord,  # noqa: F811
) -> None:
    channels = (
        ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS),
        ChannelConfig(
            "slack-noted", Platform.SLACK, SLACK_DIGEST, empty_day_note=True, locale="en"
        ),
        ChannelConfig("discord-noted", Platform.DISCORD, DISCORD_DIGEST, empty_day_note=True),
    )
    day = dt.date(2025, 12, 26)
    source = ScriptedSource({day: NO_PAPERS})
    config = make_config(tmp_path, channels=channels)
    clock = FakeClock(seoul(26, 8, 30, month=12))
    job = DailyJob(config, store, source, posters, clock)
    plan = plan_day(seoul(26, 8, 30, month=12), SCHEDULE)

    outcome = await job.run_day(plan)

    assert outcome is DayOutcome.EMPTY
    assert fake_slack.messages(SLACK_PAPERS) == []
    assert slack_texts(fake_slack, SLACK_DIGEST) == ["No papers today (2025-12-26)."]
    discord_messages = fake_discord.channels[DISCORD_DIGEST].messages
    assert len(discord_messages) == 1
    assert "2025-12-26" in discord_messages[0]["content"]
    assert fake_discord.channels[DISCORD_PAPERS].messages == []

    # The notes are kept in the store, so a second job (a restart) sends none again.
    await store.set_value(COMPLETED_DATE_KEY, "2025-12-25")
    await DailyJob(config, store, source, posters, clock).run_day(plan)

    assert len(slack_texts(fake_slack, SLACK_DIGEST)) == 1
    assert len(fake_discord.channels[DISCORD_DIGEST].messages) == 1


async def test_daily_source_errors_keep_polling(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    broken = tmp_path / "2025-08-29-broken.md"
    broken.write_bytes(b"\xff\xfe not utf-8")
    source = ScriptedSource({dt.date(2025, 8, 29): TEN_PAPERS})
    source.errors = [SourceError("server answered 500"), SourceError("timed out")]
    clock = FakeClock(seoul(29, 8, 30))
    job = DailyJob(make_config(tmp_path), store, source, posters, clock)

    outcome = await job.run_day(plan_day(seoul(29, 8, 30), SCHEDULE))

    assert outcome is DayOutcome.POSTED
    assert job.polls == 3
    assert paper_numbers(fake_slack, SLACK_PAPERS) == list(range(0, 11))


async def test_daily_invalid_digest_is_not_posted(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    broken = tmp_path / "2025-08-29-broken.md"
    broken.write_bytes(b"\xff\xfe not utf-8")
    source = ScriptedSource({dt.date(2025, 8, 29): broken})
    job = DailyJob(make_config(tmp_path), store, source, posters, FakeClock(seoul(29, 11, 40)))

    outcome = await job.run_day(plan_day(seoul(29, 8, 30), SCHEDULE))

    assert outcome is DayOutcome.DEADLINE_MISSED
    assert job.polls == 3
    assert fake_slack.messages(SLACK_PAPERS) == []


async def test_daily_cron_schedule_runs_on_weekdays(
    tmp_path: Path,
    store: Store,
    posters: dict[Platform, Poster],
    fake_slack: FakeSlack,  # noqa: F811
) -> None:
    # 2025-08-29 is a Friday, so "30 8 * * 1-5" next runs on Monday 09-01.
    schedule = dataclasses.replace(SCHEDULE, cron="30 8 * * 1-5")
    clock = StopClock(seoul(29, 13, 0), stop_at=seoul(1, 8, 40, month=9))
    source = ScriptedSource({dt.date(2025, 9, 1): TEN_PAPERS})
    job = DailyJob(make_config(tmp_path, schedule=schedule), store, source, posters, clock)

    with pytest.raises(Stopped):
        await job.run_forever()

    assert next_run(seoul(29, 13, 0), schedule) == seoul(1, 8, 30, month=9)
    assert set(source.fetched) == {dt.date(2025, 9, 1)}
    assert fake_slack.messages(SLACK_PAPERS) == []
