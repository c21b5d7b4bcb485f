"""When the daily digest job runs: next run time, digest date, polling deadline and catch-up.

Every function here is pure. Time is passed in as aware datetimes and returned in UTC, so
the host's clock and local time zone (the TZ variable) never change a result.

Wall-clock rules across daylight-saving changes, for both the daily time and cron:
- A local time inside a spring-forward gap (02:30 in America/New_York on 2025-03-09) runs
  once, at the first valid instant after the gap (03:00 local, the transition itself).
- A local time that occurs twice at a fall-back (01:30 in America/New_York on 2025-11-02)
  runs once, at its first occurrence (fold=0).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from bot.config import ScheduleConfig

_log = logging.getLogger(__name__)

_UTC = dt.UTC

# Upper bound on cron matches tried for one answer. A search usually needs one or two, and at
# most one per match inside a repeated hour.
_MAX_CRON_STEPS = 10_000

_ONE_SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class DayPlan:
    """One day's digest job: the digest date, when polling starts and when it gives up.

    Attributes:
        day: Digest date, the local date of `run_at` in the schedule's time zone.
        run_at: First poll, aware UTC.
        deadline: Last poll time, aware UTC, never earlier than `run_at`.
        poll_interval: Wait between polls while the digest is not published yet.
    """

    day: dt.date
    run_at: dt.datetime
    deadline: dt.datetime
    poll_interval: dt.timedelta

    def next_poll(self, after: dt.datetime) -> dt.datetime | None:
        """Return the poll time after a poll at `after`, or None once past the deadline.

        The last poll is moved back to the deadline, so a late publication just before
        the deadline is still fetched.
        """
        if after >= self.deadline:
            return None
        return min(after + self.poll_interval, self.deadline)


def zone_of(schedule: ScheduleConfig) -> ZoneInfo:
    """Load the schedule's IANA time zone.

    Raises:
        ValueError: `schedule.timezone` is not a known IANA zone name.
    """
    try:
        return ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"schedule.timezone: unknown time zone {schedule.timezone!r}."
            " Use an IANA name such as 'Asia/Seoul'"
        ) from exc


def validate_schedule(schedule: ScheduleConfig) -> None:
    """Check the time zone and cron expression of `schedule`.

    Raises:
        ValueError: With a message that names the invalid key.
    """
    zone_of(schedule)
    if schedule.cron is not None and not croniter.is_valid(schedule.cron):
        raise ValueError(
            f"schedule.cron: invalid cron expression {schedule.cron!r}."
            " Use an expression such as '30 8 * * 1-5'"
        )
    if schedule.poll_interval_minutes <= 0:
        interval = schedule.poll_interval_minutes
        raise ValueError(f"schedule.poll_interval_minutes: must be positive, got {interval}")


def resolve_local(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Convert a naive local wall time in `zone` to the UTC instant it runs at.

    A wall time that occurs twice resolves to its first occurrence. A wall time inside a
    gap resolves to the end of the gap, the transition instant.
    """
    first = wall.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(_UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _gap_end(wall, zone)


def _gap_end(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    # In a gap, fold=1 applies the offset from after the transition and fold=0 the one from
    # before it, so the transition lies between the two conversions. Transitions
    # in the tz database fall on whole seconds, so search whole POSIX seconds.
    bounds = sorted(int(wall.replace(tzinfo=zone, fold=fold).timestamp()) for fold in (0, 1))
    low, high = bounds
    offset_after = _offset_at(high, zone)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(middle, zone) == offset_after:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, _UTC)


def _offset_at(posix_seconds: int, zone: ZoneInfo) -> dt.timedelta | None:
    return dt.datetime.fromtimestamp(posix_seconds, zone).utcoffset()


def next_run(after: dt.datetime, schedule: ScheduleConfig) -> dt.datetime:
    """Compute the first scheduled run strictly after `after`.

    Args:
        after: Aware datetime, usually the clock's now or the previous run.
        schedule: `cron` if set, else the daily `time`, both in `schedule.timezone`.

    Returns:
        Aware UTC datetime.

    Raises:
        ValueError: `after` is naive, or the zone or cron expression is invalid.
    """
    _require_aware(after, "after")
    after = after.astimezone(_UTC)
    zone = zone_of(schedule)
    if schedule.cron is not None:
        return _next_cron_run(after, schedule.cron, zone)
    return _next_daily_run(after, schedule.time, zone)


def previous_run(at_or_before: dt.datetime, schedule: ScheduleConfig) -> dt.datetime:
    """Compute the latest scheduled run at or before `at_or_before`, in aware UTC.

    Raises:
        ValueError: `at_or_before` is naive, or the zone or cron expression is invalid.
    """
    _require_aware(at_or_before, "at_or_before")
    at_or_before = at_or_before.astimezone(_UTC)
    zone = zone_of(schedule)
    if schedule.cron is not None:
        return _previous_cron_run(at_or_before, schedule.cron, zone)
    return _previous_daily_run(at_or_before, schedule.time, zone)


def _next_daily_run(after: dt.datetime, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    local_day = after.astimezone(zone).date()
    for days_ahead in range(3):
        candidate = _daily_run_on(local_day + dt.timedelta(days=days_ahead), time, zone)
        if candidate > after:
            return candidate
    raise AssertionError(f"no daily run within 3 days after {after.isoformat()}")


def _previous_daily_run(at_or_before: dt.datetime, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    local_day = at_or_before.astimezone(zone).date()
    for days_back in range(3):
        candidate = _daily_run_on(local_day - dt.timedelta(days=days_back), time, zone)
        if candidate <= at_or_before:
            return candidate
    raise AssertionError(f"no daily run within 3 days before {at_or_before.isoformat()}")


def _daily_run_on(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    return resolve_local(dt.datetime.combine(day, time.replace(tzinfo=None)), zone)


def _next_cron_run(after: dt.datetime, expression: str, zone: ZoneInfo) -> dt.datetime:
    # croniter 7.0 runs an aware schedule twice in a repeated hour (01:30 EDT and 01:30 EST
    # on 2025-11-02), so it only lists naive wall times here and resolve_local applies
    # the gap and fold rules. Naive croniter arithmetic does not read the host time zone.
    # A wall time before that of `after` never resolves to a later instant, so the search
    # starts there.
    wall_start = after.astimezone(zone).replace(tzinfo=None)
    matches = croniter(_checked_cron(expression), wall_start)
    for _ in range(_MAX_CRON_STEPS):
        candidate = resolve_local(_cron_step(matches.get_next, expression), zone)
        if candidate > after:
            return candidate
    raise ValueError(f"schedule.cron: {expression!r} has no run after {after.isoformat()}")


def _previous_cron_run(at_or_before: dt.datetime, expression: str, zone: ZoneInfo) -> dt.datetime:
    # In the second pass of a repeated hour, later wall times still resolve to their
    # first occurrence, which can be at or before `at_or_before`, so the search starts
    # after them.
    local = at_or_before.astimezone(zone)
    repeated = local.replace(fold=0).utcoffset() - local.utcoffset()
    wall_start = local.replace(tzinfo=None) + max(repeated, dt.timedelta()) + _ONE_SECOND
    matches = croniter(_checked_cron(expression), wall_start)
    for _ in range(_MAX_CRON_STEPS):
        candidate = resolve_local(_cron_step(matches.get_prev, expression), zone)
        if candidate <= at_or_before:
            return candidate
    raise ValueError(f"schedule.cron: {expression!r} has no run before {at_or_before.isoformat()}")


def _cron_step(step: Callable[[type[dt.datetime]], dt.datetime], expression: str) -> dt.datetime:
    try:
        return step(dt.datetime)
    except CroniterBadDateError as exc:
        # Raised for a date that never exists, such as February 30 in `0 0 30 2 *`.
        raise ValueError(f"schedule.cron: {expression!r} never matches a real date") from exc


def _checked_cron(expression: str) -> str:
    if not croniter.is_valid(expression):
        raise ValueError(
            f"schedule.cron: invalid cron expression {expression!r}."
            " Use an expression such as '30 8 * * 1-5'"
        )
    return expression


def digest_date_for(run_at: dt.datetime, schedule: ScheduleConfig) -> dt.date:
    """Return the digest date of a run: its local date in the schedule's time zone.

    Raises:
        ValueError: `run_at` is naive or the zone is invalid.
    """
    _require_aware(run_at, "run_at")
    return run_at.astimezone(zone_of(schedule)).date()


def polling_deadline(day: dt.date, schedule: ScheduleConfig) -> dt.datetime:
    """Return when polling for `day`'s digest stops: `schedule.deadline` on that local date.

    A deadline inside a gap moves to the end of the gap, and a repeated one uses its first
    occurrence, like the run time.
    """
    return _daily_run_on(day, schedule.deadline, zone_of(schedule))


def plan_day(run_at: dt.datetime, schedule: ScheduleConfig) -> DayPlan:
    """Build the polling plan for the run at `run_at` (aware).

    A deadline at or before the run time (a cron run at 13:00 with the default 12:00
    deadline) leaves a single poll at `run_at`.
    """
    day = digest_date_for(run_at, schedule)
    run_at = run_at.astimezone(_UTC)
    deadline = polling_deadline(day, schedule)
    if deadline < run_at:
        _log.warning(
            "schedule.deadline %s is before the run at %s on %s, so polling only once",
            schedule.deadline,
            run_at.isoformat(),
            day,
        )
        deadline = run_at
    return DayPlan(
        day=day,
        run_at=run_at,
        deadline=deadline,
        poll_interval=dt.timedelta(minutes=schedule.poll_interval_minutes),
    )


def missed_run_to_catch_up(
    now: dt.datetime, last_posted_date: dt.date | None, schedule: ScheduleConfig
) -> dt.date | None:
    """Return today's digest date if the process started after today's run and missed it.

    Today's run counts as missed when it is at or before `now` (next_run is strictly after
    `now`, so a start at the exact run time also needs the catch-up), at most
    `schedule.grace_minutes` ago, and today is not yet posted. An earlier day is never
    returned, because a digest posted a day late is stale.

    Args:
        now: Aware current time.
        last_posted_date: Latest digest date already posted, or None if none was.
        schedule: The job's schedule.

    Returns:
        Today's local date in the schedule zone, or None when there is nothing to catch up.
    """
    _require_aware(now, "now")
    today = digest_date_for(now, schedule)
    if last_posted_date is not None and last_posted_date >= today:
        return None
    last_run = previous_run(now, schedule)
    if digest_date_for(last_run, schedule) != today:
        return None
    if now - last_run > dt.timedelta(minutes=schedule.grace_minutes):
        return None
    return today


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
