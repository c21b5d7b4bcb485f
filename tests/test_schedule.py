"""Schedule computation: daily time and cron across DST changes, digest date and catch-up."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ScheduleConfig
from bot.schedule import (
    DayPlan,
    digest_date_for,
    missed_run_to_catch_up,
    next_run,
    plan_day,
    polling_deadline,
    previous_run,
    resolve_local,
    validate_schedule,
)

UTC = dt.UTC
NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"
SEOUL = "Asia/Seoul"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def daily(hour: int, minute: int, zone: str) -> ScheduleConfig:
    return ScheduleConfig(time=dt.time(hour, minute), timezone=zone)


def runs(after: dt.datetime, schedule: ScheduleConfig, count: int) -> list[dt.datetime]:
    result = []
    for _ in range(count):
        after = next_run(after, schedule)
        result.append(after)
    return result


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # Asia/Seoul is UTC+9 with no DST, so 08:30 KST is 23:30 UTC the day before.
        (ScheduleConfig(), utc(2025, 9, 22, 23, 29), [utc(2025, 9, 22, 23, 30)]),
        (ScheduleConfig(), utc(2025, 9, 22, 23, 30), [utc(2025, 9, 23, 23, 30)]),
        # New York spring forward on 2025-03-09: 02:00 EST jumps to 03:00 EDT.
        (
            daily(2, 30, NEW_YORK),
            utc(2025, 3, 8, 12),
            [utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30), utc(2025, 3, 11, 6, 30)],
        ),
        # New York fall back on 2025-11-02: 01:00-02:00 runs twice, first in EDT (UTC-4).
        (
            daily(1, 30, NEW_YORK),
            utc(2025, 11, 1, 12),
            [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)],
        ),
        # Berlin spring forward on 2025-03-30: 02:00 CET jumps to 03:00 CEST.
        (
            daily(2, 30, BERLIN),
            utc(2025, 3, 29, 12),
            [utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30)],
        ),
        # Berlin fall back on 2025-10-26: 02:00-03:00 runs twice, first in CEST (UTC+2).
        (
            daily(2, 30, BERLIN),
            utc(2025, 10, 25, 12),
            [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)],
        ),
        # A time outside the changed hour keeps its wall time on both sides of the change.
        (
            daily(8, 30, NEW_YORK),
            utc(2025, 3, 8, 12),
            [utc(2025, 3, 8, 13, 30), utc(2025, 3, 9, 12, 30)],
        ),
        (
            ScheduleConfig(cron="30 8 * * 1-5"),
            utc(2025, 9, 26, 0, 0),  # Friday 09:00 KST, after that day's run
            [utc(2025, 9, 28, 23, 30), utc(2025, 9, 29, 23, 30)],  # Monday, Tuesday
        ),
        (
            ScheduleConfig(cron="30 2 * * *", timezone=NEW_YORK),
            utc(2025, 3, 8, 12),
            [utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)],
        ),
        (
            ScheduleConfig(cron="30 1 * * *", timezone=NEW_YORK),
            utc(2025, 11, 1, 12),
            [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)],
        ),
        (
            ScheduleConfig(cron="30 2 * * *", timezone=BERLIN),
            utc(2025, 3, 29, 12),
            [utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30)],
        ),
        (
            ScheduleConfig(cron="30 2 * * *", timezone=BERLIN),
            utc(2025, 10, 25, 12),
            [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)],
        ),
        # Every wall time in the gap collapses into one run at 03:00 EDT (07:00 UTC).
        (
            ScheduleConfig(cron="*/30 * * * *", timezone=NEW_YORK),
            utc(2025, 3, 9, 6, 0),
            [utc(2025, 3, 9, 6, 30), utc(2025, 3, 9, 7, 0), utc(2025, 3, 9, 7, 30)],
        ),
        # The repeated 01:00 and 01:30 run only in their EDT pass; the EST pass is skipped.
        (
            ScheduleConfig(cron="*/30 * * * *", timezone=NEW_YORK),
            utc(2025, 11, 2, 4, 45),
            [utc(2025, 11, 2, 5, 0), utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 7, 0)],
        ),
    ],
)
def test_next_run_table(
    schedule: ScheduleConfig, after: dt.datetime, expected: list[dt.datetime]
) -> None:
    assert runs(after, schedule, len(expected)) == expected


def test_next_run_aware_non_utc_input() -> None:
    after = dt.datetime(2025, 9, 23, 8, 29, tzinfo=ZoneInfo(SEOUL))

    result = next_run(after, ScheduleConfig())

    assert result == utc(2025, 9, 22, 23, 30)
    assert result.tzinfo is UTC


def test_next_run_second_pass_of_repeated_hour() -> None:
    # 01:10 EST is the second 01:10 of 2025-11-02, so that day's 01:30 EDT has passed.
    after = dt.datetime(2025, 11, 2, 1, 10, fold=1, tzinfo=ZoneInfo(NEW_YORK))

    assert next_run(after, daily(1, 30, NEW_YORK)) == utc(2025, 11, 3, 6, 30)


def test_next_run_keeps_seconds() -> None:
    schedule = ScheduleConfig(time=dt.time(8, 30, 15), timezone=SEOUL)

    assert next_run(utc(2025, 9, 22, 23, 30), schedule) == utc(2025, 9, 22, 23, 30, 15)


def test_next_run_naive_after_rejected() -> None:
    with pytest.raises(ValueError, match="after must be an aware datetime"):
        next_run(dt.datetime(2025, 9, 23, 8, 30), ScheduleConfig())


def test_next_run_unknown_zone_rejected() -> None:
    with pytest.raises(ValueError, match="schedule.timezone: unknown time zone 'Mars/Olympus'"):
        next_run(utc(2025, 9, 23), ScheduleConfig(timezone="Mars/Olympus"))


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("61 8 * * *", "invalid cron expression"),
        ("30 8 * *", "invalid cron expression"),
        ("every day", "invalid cron expression"),
        ("0 0 30 2 *", "never matches a real date"),
    ],
)
def test_next_run_bad_cron_rejected(cron: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next_run(utc(2025, 9, 23), ScheduleConfig(cron=cron))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (ScheduleConfig(timezone="Asia/Nowhere"), "schedule.timezone"),
        (ScheduleConfig(timezone="../../etc/passwd"), "schedule.timezone"),
        (ScheduleConfig(cron="* * * * * * * *"), "schedule.cron"),
        (ScheduleConfig(poll_interval_minutes=0), "schedule.poll_interval_minutes"),
    ],
)
def test_validate_schedule_rejects(schedule: ScheduleConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_schedule(schedule)


def test_validate_schedule_accepts_defaults() -> None:
    validate_schedule(ScheduleConfig())
    validate_schedule(ScheduleConfig(cron="30 8 * * 1-5", timezone=BERLIN))


@pytest.fixture
def host_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("host_tz", ["UTC", "Pacific/Kiritimati", "America/St_Johns"])
def test_schedule_ignores_host_time_zone(
    monkeypatch: pytest.MonkeyPatch, host_zone: None, host_tz: str
) -> None:
    cases = [
        (daily(2, 30, NEW_YORK), utc(2025, 3, 8, 12)),
        (daily(1, 30, NEW_YORK), utc(2025, 11, 1, 12)),
        (ScheduleConfig(cron="30 2 * * *", timezone=BERLIN), utc(2025, 10, 25, 12)),
        (ScheduleConfig(cron="30 8 * * 1-5"), utc(2025, 9, 26)),
    ]
    expected_next = [runs(after, schedule, 3) for schedule, after in cases]
    expected_previous = [previous_run(after, schedule) for schedule, after in cases]

    monkeypatch.setenv("TZ", host_tz)
    time.tzset()

    assert [runs(after, schedule, 3) for schedule, after in cases] == expected_next
    assert [previous_run(after, schedule) for schedule, after in cases] == expected_previous


def test_schedule_host_tz_results_fixed(monkeypatch: pytest.MonkeyPatch, host_zone: None) -> None:
    # The same values as the table above, computed with the host set to a far-off zone.
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()

    assert next_run(utc(2025, 3, 8, 12), daily(2, 30, NEW_YORK)) == utc(2025, 3, 9, 7)
    assert next_run(utc(2025, 9, 26), ScheduleConfig(cron="30 8 * * 1-5")) == utc(
        2025, 9, 28, 23, 30
    )


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        (dt.datetime(2025, 3, 9, 2, 0), NEW_YORK, utc(2025, 3, 9, 7)),
        (dt.datetime(2025, 3, 9, 2, 59, 59), NEW_YORK, utc(2025, 3, 9, 7)),
        (dt.datetime(2025, 3, 9, 3, 0), NEW_YORK, utc(2025, 3, 9, 7)),
        (dt.datetime(2025, 3, 9, 1, 59, 59), NEW_YORK, utc(2025, 3, 9, 6, 59, 59)),
        (dt.datetime(2025, 11, 2, 1, 0), NEW_YORK, utc(2025, 11, 2, 5)),
        (dt.datetime(2025, 11, 2, 2, 0), NEW_YORK, utc(2025, 11, 2, 7)),
        # Lord Howe Island moves its clocks by 30 minutes.
        (dt.datetime(2025, 10, 5, 2, 15), "Australia/Lord_Howe", utc(2025, 10, 4, 15, 30)),
    ],
)
def test_resolve_local_table(wall: dt.datetime, zone: str, expected: dt.datetime) -> None:
    assert resolve_local(wall, ZoneInfo(zone)) == expected


@pytest.mark.parametrize(
    ("run_at", "schedule", "expected"),
    [
        (utc(2025, 9, 22, 23, 30), ScheduleConfig(), dt.date(2025, 9, 23)),
        (utc(2025, 9, 22, 14, 59), ScheduleConfig(), dt.date(2025, 9, 22)),
        (utc(2025, 11, 2, 5, 30), daily(1, 30, NEW_YORK), dt.date(2025, 11, 2)),
        (utc(2025, 11, 2, 3, 59), daily(1, 30, NEW_YORK), dt.date(2025, 11, 1)),
    ],
)
def test_digest_date_for_table(
    run_at: dt.datetime, schedule: ScheduleConfig, expected: dt.date
) -> None:
    assert digest_date_for(run_at, schedule) == expected


def test_digest_date_for_naive_rejected() -> None:
    with pytest.raises(ValueError, match="run_at must be an aware datetime"):
        digest_date_for(dt.datetime(2025, 9, 23), ScheduleConfig())


@pytest.mark.parametrize(
    ("day", "schedule", "expected"),
    [
        (dt.date(2025, 9, 23), ScheduleConfig(), utc(2025, 9, 23, 3, 0)),
        (
            dt.date(2025, 3, 9),
            ScheduleConfig(timezone=NEW_YORK, deadline=dt.time(2, 30)),
            utc(2025, 3, 9, 7, 0),
        ),
        (
            dt.date(2025, 11, 2),
            ScheduleConfig(timezone=NEW_YORK, deadline=dt.time(1, 30)),
            utc(2025, 11, 2, 5, 30),
        ),
        (
            dt.date(2025, 10, 26),
            ScheduleConfig(timezone=BERLIN, deadline=dt.time(12, 0)),
            utc(2025, 10, 26, 11, 0),
        ),
    ],
)
def test_polling_deadline_table(
    day: dt.date, schedule: ScheduleConfig, expected: dt.datetime
) -> None:
    assert polling_deadline(day, schedule) == expected


def test_plan_day_default_schedule() -> None:
    plan = plan_day(utc(2025, 9, 22, 23, 30), ScheduleConfig())

    assert plan == DayPlan(
        day=dt.date(2025, 9, 23),
        run_at=utc(2025, 9, 22, 23, 30),
        deadline=utc(2025, 9, 23, 3, 0),
        poll_interval=dt.timedelta(minutes=10),
    )


def test_plan_day_polls_until_deadline() -> None:
    schedule = ScheduleConfig(
        time=dt.time(11, 30), deadline=dt.time(12, 0), poll_interval_minutes=12
    )
    plan = plan_day(next_run(utc(2025, 9, 23), schedule), schedule)

    polls = [plan.run_at]
    while (following := plan.next_poll(polls[-1])) is not None:
        polls.append(following)

    assert polls == [
        utc(2025, 9, 23, 2, 30),
        utc(2025, 9, 23, 2, 42),
        utc(2025, 9, 23, 2, 54),
        utc(2025, 9, 23, 3, 0),
    ]


def test_plan_day_deadline_before_run_clamped(caplog: pytest.LogCaptureFixture) -> None:
    schedule = ScheduleConfig(cron="0 13 * * *", deadline=dt.time(12, 0))

    plan = plan_day(utc(2025, 9, 23, 4, 0), schedule)

    assert plan.deadline == plan.run_at
    assert plan.next_poll(plan.run_at) is None
    assert "polling only once" in caplog.text


DEFAULT = ScheduleConfig()  # 08:30 Asia/Seoul, grace 240 minutes
TODAY = dt.date(2025, 9, 23)
YESTERDAY = dt.date(2025, 9, 22)
TODAY_RUN = utc(2025, 9, 22, 23, 30)  # 08:30 KST on 2025-09-23


@pytest.mark.parametrize(
    ("now", "last_posted", "schedule", "expected"),
    [
        (TODAY_RUN + dt.timedelta(minutes=30), YESTERDAY, DEFAULT, TODAY),
        (TODAY_RUN, YESTERDAY, DEFAULT, TODAY),
        (TODAY_RUN - dt.timedelta(seconds=1), YESTERDAY, DEFAULT, None),
        (TODAY_RUN + dt.timedelta(minutes=240), YESTERDAY, DEFAULT, TODAY),
        (TODAY_RUN + dt.timedelta(minutes=240, seconds=1), YESTERDAY, DEFAULT, None),
        (TODAY_RUN + dt.timedelta(minutes=30), TODAY, DEFAULT, None),
        (TODAY_RUN + dt.timedelta(minutes=30), None, DEFAULT, TODAY),
        (TODAY_RUN + dt.timedelta(minutes=30), dt.date(2025, 9, 24), DEFAULT, None),
        (TODAY_RUN + dt.timedelta(minutes=30), dt.date(2025, 9, 1), DEFAULT, TODAY),
        # 00:10 KST on 2025-09-24: yesterday's run was missed, but a day-old digest is stale.
        (utc(2025, 9, 23, 15, 10), YESTERDAY, DEFAULT, None),
        # A huge grace still never reaches back to the previous local day.
        (
            utc(2025, 9, 23, 15, 10),
            YESTERDAY,
            ScheduleConfig(grace_minutes=24 * 60),
            None,
        ),
        (TODAY_RUN, YESTERDAY, ScheduleConfig(grace_minutes=0), TODAY),
        (TODAY_RUN + dt.timedelta(seconds=1), YESTERDAY, ScheduleConfig(grace_minutes=0), None),
        # Saturday 09:00 KST with a weekday cron: no run today, so nothing to catch up.
        (utc(2025, 9, 27, 0, 0), dt.date(2025, 9, 26), ScheduleConfig(cron="30 8 * * 1-5"), None),
        (
            utc(2025, 9, 26, 0, 0),
            dt.date(2025, 9, 25),
            ScheduleConfig(cron="30 8 * * 1-5"),
            dt.date(2025, 9, 26),
        ),
        # A start in the EST pass of 2025-11-02, 40 minutes after the 01:30 EDT run.
        (
            utc(2025, 11, 2, 6, 10),
            dt.date(2025, 11, 1),
            daily(1, 30, NEW_YORK),
            dt.date(2025, 11, 2),
        ),
        (
            utc(2025, 11, 2, 6, 10),
            dt.date(2025, 11, 1),
            ScheduleConfig(cron="30 1 * * *", timezone=NEW_YORK),
            dt.date(2025, 11, 2),
        ),
    ],
)
def test_missed_run_catch_up_table(
    now: dt.datetime,
    last_posted: dt.date | None,
    schedule: ScheduleConfig,
    expected: dt.date | None,
) -> None:
    assert missed_run_to_catch_up(now, last_posted, schedule) == expected


def test_missed_run_naive_now_rejected() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        missed_run_to_catch_up(dt.datetime(2025, 9, 23, 9), None, ScheduleConfig())


# Zones with DST gaps and repeats of one hour or 30 minutes (Lord Howe), a gap at midnight
# (Sao Paulo until 2019), southern-hemisphere DST and a zone with a 45-minute offset.
PROPERTY_ZONES = [
    SEOUL,
    NEW_YORK,
    BERLIN,
    "Europe/London",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
]

instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2037, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
wall_times = st.times()


def exists_locally(day: dt.date, wall: dt.time, zone: ZoneInfo) -> bool:
    naive = dt.datetime.combine(day, wall)
    round_trip = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == naive


@settings(max_examples=300, deadline=None)
@given(after=instants, wall=wall_times, zone_name=st.sampled_from(PROPERTY_ZONES))
def test_next_run_daily_properties(after: dt.datetime, wall: dt.time, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    schedule = ScheduleConfig(time=wall, timezone=zone_name)

    result = next_run(after, schedule)
    local = result.astimezone(zone)

    assert result > after
    assert result - after <= dt.timedelta(hours=25)
    if exists_locally(local.date(), wall, zone):
        assert local.time() == wall
    else:
        # In a gap the run is at the transition: the offset changes at that instant.
        before = (result - dt.timedelta(seconds=1)).astimezone(zone)
        assert before.utcoffset() != local.utcoffset()
    assert previous_run(result, schedule) == result
    assert previous_run(after, schedule) <= after
    assert digest_date_for(next_run(result, schedule), schedule) == local.date() + dt.timedelta(
        days=1
    )


@settings(max_examples=150, deadline=None)
@given(after=instants, zone_name=st.sampled_from(PROPERTY_ZONES))
def test_next_run_weekday_cron_properties(after: dt.datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    schedule = ScheduleConfig(cron="30 8 * * 1-5", timezone=zone_name)

    result = next_run(after, schedule)
    local = result.astimezone(zone)

    assert result > after
    assert result - after <= dt.timedelta(days=3, hours=1)
    assert local.weekday() < 5
    assert (local.hour, local.minute) == (8, 30)
    assert previous_run(result, schedule) == result
