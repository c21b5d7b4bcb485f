"""The daily digest job: wait for the scheduled time, poll the source, post the digest once.

Crash safety comes from the store. The delivery ledger skips messages already sent, and the
`daily.completed_date` value marks the last day delivered to every channel. A restart within
`schedule.grace_minutes` after the run time finishes that day. An earlier day is never posted.

When some channel has `on_edit: update`, the job keeps polling the source after the day is
delivered, until the day's deadline. An edit published the same morning then reaches those
channels: changed messages are edited in place and new papers are posted. A poll of an unchanged
document costs one conditional request or file read. Channels with `on_edit: ignore` get
nothing more after the day is complete, and edits published after the deadline are not applied.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import ChannelConfig, Config, EditPolicy, Platform
from bot.delivery import (
    DEFAULT_BACKOFF_SECONDS,
    ChannelReport,
    ProgressCallback,
    deliver,
    message_nonce,
)
from bot.digest.errors import DigestError
from bot.digest.model import Digest
from bot.digest.parser import parse_digest
from bot.i18n import Translator
from bot.ledger import HEADER_PAPER, DeliveryRecord, DeliveryStatus, Ledger
from bot.platforms.base import (
    MessagePayload,
    PlatformError,
    Poster,
    RateLimited,
    Target,
    TransientError,
)
from bot.posting import digest_hash
from bot.schedule import (
    DayPlan,
    missed_run_to_catch_up,
    next_run,
    plan_day,
    previous_run,
    zone_of,
)
from bot.sources.base import DigestSource, SourceError
from bot.store import SaveOutcome, Store

_log = logging.getLogger(__name__)

# Store key of the last digest date delivered to every channel (ISO date).
COMPLETED_DATE_KEY = "daily.completed_date"

# Maximum length of one sleep while waiting for a run, in seconds. Re-reading the clock this
# often keeps the job on time after a wall-clock jump or a host suspend.
_MAX_SLEEP_SECONDS = 300.0


class DayOutcome(enum.StrEnum):
    POSTED = "posted"
    PARTLY_POSTED = "partly_posted"
    EMPTY = "empty"
    ALREADY_POSTED = "already_posted"
    DEADLINE_MISSED = "deadline_missed"


@dataclass(frozen=True)
class LastRun:
    """The most recent day the job finished, for the health report."""

    day: dt.date
    outcome: DayOutcome
    finished_at: dt.datetime
    channels_ok: int
    channels_total: int


Deliver = Callable[..., Awaitable[list[ChannelReport]]]


def _render_slack_note(text: str, target: Target, nonce: str) -> MessagePayload:
    from bot.render.slack import render_slack_note

    return render_slack_note(text, channel=target.channel_id)


def _render_discord_note(text: str, target: Target, nonce: str) -> MessagePayload:
    from bot.render.discord import render_discord_note

    return render_discord_note(text, nonce=nonce)


_NOTE_RENDERERS: dict[Platform, Callable[[str, Target, str], MessagePayload]] = {
    Platform.SLACK: _render_slack_note,
    Platform.DISCORD: _render_discord_note,
}


class NoteSender:
    """Posts one-off localized notes (no papers today, deadline missed) at most once each.

    The store value `note:<key>` is `in_flight` while a note is being sent and `sent` after.
    A note already `sent` is never sent again.
    NOTE: a crash between Slack accepting a note and the `sent` write resends it once on
    restart, because notes carry no Slack metadata to look up. Discord drops the resend by nonce.
    """

    def __init__(
        self,
        store: Store,
        posters: Mapping[Platform, Poster],
        clock: Clock,
        *,
        max_retries: int,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    ) -> None:
        self._store = store
        self._posters = posters
        self._clock = clock
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds

    async def send(self, channel: ChannelConfig, key: str, text: str) -> bool:
        """Post `text` to `channel` unless the note `key` was sent before; return True if sent.

        Failures are logged and not raised, because a missing note must not stop the job.
        """
        store_key = f"note:{key}"
        if await self._store.get_value(store_key) == "sent":
            _log.debug("note %s already sent to %s", key, channel.name)
            return False
        poster = self._posters.get(channel.platform)
        if poster is None:
            _log.error("note %s not sent to %s: no %s poster", key, channel.name, channel.platform)
            return False
        target = Target(channel_id=channel.id)
        nonce = message_nonce(channel.name, key, 0)
        payload = _NOTE_RENDERERS[channel.platform](text, target, nonce)
        await self._store.set_value(store_key, "in_flight")
        if not await self._post_with_retries(poster, target, payload, channel, key):
            return False
        await self._store.set_value(store_key, "sent")
        _log.info("note %s sent to %s", key, channel.name)
        return True

    async def _post_with_retries(
        self,
        poster: Poster,
        target: Target,
        payload: MessagePayload,
        channel: ChannelConfig,
        key: str,
    ) -> bool:
        for attempt in range(self._max_retries + 1):
            try:
                await poster.post(target, payload)
                return True
            except RateLimited as error:
                wait = error.retry_after
                cause: Exception = error
            except TransientError as error:
                wait = self._backoff_seconds * 2**attempt
                cause = error
            except Exception:
                _log.exception("note %s not sent to %s; it is not retried", key, channel.name)
                return False
            _log.warning(
                "note %s to %s failed (%s); attempt %d of %d, next in %.1f s",
                key,
                channel.name,
                cause,
                attempt + 1,
                self._max_retries + 1,
                wait,
            )
            if attempt < self._max_retries:
                await self._clock.sleep(wait)
        _log.error("note %s not sent to %s: gave up after retries", key, channel.name)
        return False


async def reconcile_in_flight(
    ledger: Ledger,
    channels: Sequence[ChannelConfig],
    posters: Mapping[Platform, Poster],
    day: dt.date,
) -> int:
    """Record as SENT the IN_FLIGHT messages of `day` that the platform already has.

    A crash between the platform accepting a message and the ledger's SENT write leaves an
    IN_FLIGHT record. Each one is looked up with `poster.find_sent`, in its thread when the
    channel posts in a thread under a header that was sent. Returns how many records were
    fixed. Delivery looks up the records still IN_FLIGHT again before sending them.

    Raises:
        PlatformError: The lookup failed; delivering now could post duplicates.
    """
    fixed = 0
    for channel in channels:
        poster = posters.get(channel.platform)
        if poster is None:
            continue
        records = {record.paper: record for record in await ledger.records(channel.name, day)}
        # Records come ordered by paper, so a header found here gives its thread to the papers.
        for paper, record in sorted(records.items()):
            if record.status is not DeliveryStatus.IN_FLIGHT:
                continue
            target = _target_of(channel, records, paper)
            message_id = await poster.find_sent(target, day, paper)
            if message_id is None:
                continue
            records[paper] = dataclasses.replace(
                record, status=DeliveryStatus.SENT, message_id=message_id
            )
            await ledger.put(records[paper])
            fixed += 1
            _log.info(
                "message %d of %s was already in %s (id %s); recorded as sent",
                paper,
                day,
                channel.name,
                message_id,
            )
    return fixed


def _target_of(channel: ChannelConfig, records: Mapping[int, DeliveryRecord], paper: int) -> Target:
    """Return where delivery sent `paper`: the thread under the sent header, or the channel."""
    header = records.get(HEADER_PAPER)
    in_thread = channel.thread and paper != HEADER_PAPER
    if in_thread and header is not None and header.status is DeliveryStatus.SENT:
        # Slack replies to the header's ts, and Discord gives a thread started from a
        # message that message's id.
        return Target(channel_id=channel.id, thread_id=header.message_id)
    return Target(channel_id=channel.id)


class DailyJob:
    """Runs the daily digest job on `clock` until cancelled.

    Args:
        config: The bot's config; `schedule`, `channels`, `locale`, `delivery` and
            `admin_channel` are used.
        store: Digests, the delivery ledger and the job's own state.
        source: Where the day's digest document comes from.
        posters: One poster per platform of `config.channels`.
        clock: Time source for the schedule, polling and delivery pacing.
        progress: Receives every delivery `ProgressEvent`, for metrics.
        ledger: Delivery ledger; the store's own ledger when None.
        deliver_digest: Delivery function, `bot.delivery.deliver` unless a test replaces it.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        source: DigestSource,
        posters: Mapping[Platform, Poster],
        clock: Clock,
        *,
        progress: ProgressCallback | None = None,
        ledger: Ledger | None = None,
        deliver_digest: Deliver = deliver,
    ) -> None:
        self._config = config
        self._store = store
        self._source = source
        self._posters = posters
        self._clock = clock
        self._progress = progress
        self._ledger = ledger if ledger is not None else store.ledger()
        self._deliver = deliver_digest
        self._notes = NoteSender(store, posters, clock, max_retries=config.delivery.max_retries)
        self.next_run_at: dt.datetime | None = None
        self.last_run: LastRun | None = None
        self.last_completed_date: dt.date | None = None
        self.polls = 0

    async def run_forever(self) -> None:
        """Finish today's missed run or edit watch if needed, then run at every scheduled time."""
        schedule = self._config.schedule
        catch_up = await self.catch_up_plan() or await self._edit_watch_plan()
        if catch_up is not None:
            await self.run_day(catch_up)
        while True:
            run_at = next_run(self._clock.now(), schedule)
            self.next_run_at = run_at
            local = run_at.astimezone(zone_of(schedule))
            _log.info("next digest run at %s (%s)", local.isoformat(), schedule.timezone)
            await self._sleep_until(run_at)
            await self.run_day(plan_day(run_at, schedule))

    async def catch_up_plan(self) -> DayPlan | None:
        """Return the plan of today's run when it was missed within the grace period."""
        now = self._clock.now()
        completed = await self.completed_date()
        day = missed_run_to_catch_up(now, completed, self._config.schedule)
        if day is None:
            return None
        plan = plan_day(previous_run(now, self._config.schedule), self._config.schedule)
        _log.info("the run of %s at %s was missed; catching up now", day, plan.run_at.isoformat())
        return plan

    async def _edit_watch_plan(self) -> DayPlan | None:
        """Return today's plan when today is delivered but its edits are still watched."""
        if not self._edit_channels():
            return None
        now = self._clock.now()
        plan = plan_day(previous_run(now, self._config.schedule), self._config.schedule)
        if await self.completed_date() != plan.day or now >= plan.deadline:
            return None
        return plan

    async def completed_date(self) -> dt.date | None:
        """Return the last digest date delivered to every channel, or None."""
        text = await self._store.get_value(COMPLETED_DATE_KEY)
        self.last_completed_date = dt.date.fromisoformat(text) if text else None
        return self.last_completed_date

    async def run_day(self, plan: DayPlan) -> DayOutcome:
        """Poll the source from `plan.run_at` until the digest appears or the deadline passes.

        The first poll is at once when `plan.run_at` is already past. After the day is
        delivered, channels with `on_edit: update` keep receiving its edits until the deadline.
        """
        completed = await self.completed_date()
        if completed is not None and completed >= plan.day:
            if completed == plan.day and self._edit_channels():
                # A restart may have missed an edit, so the first poll brings every message
                # up to date.
                await self._watch_for_edits(plan, resync=True)
            else:
                _log.info("digest of %s already posted; nothing to do", plan.day)
            return DayOutcome.ALREADY_POSTED
        await self._sleep_until(plan.run_at)
        while True:
            digest = await self._poll(plan)
            outcome = await self._post(digest) if digest is not None else None
            if outcome in (DayOutcome.POSTED, DayOutcome.EMPTY) and self._edit_channels():
                await self._watch_for_edits(plan, resync=False)
            if outcome is not None:
                return outcome
            next_poll = plan.next_poll(self._clock.now())
            if next_poll is None:
                return await self._deadline_missed(plan)
            await self._sleep_until(next_poll)

    async def _poll(self, plan: DayPlan, *, skip_unchanged: bool = False) -> Digest | None:
        self.polls += 1
        try:
            fetched = await self._source.fetch(plan.day)
            if fetched is None:
                _log.info("digest of %s not published yet (poll %d)", plan.day, self.polls)
                return None
            if skip_unchanged and not fetched.changed:
                _log.debug("digest of %s unchanged (poll %d)", plan.day, self.polls)
                return None
            digest = parse_digest(fetched.data, fetched.name)
        except (SourceError, DigestError) as error:
            _log.error(
                "digest of %s not loaded (%s); polling again until %s",
                plan.day,
                error,
                plan.deadline.isoformat(),
            )
            return None
        if digest.date != plan.day:
            _log.error(
                "%s is dated %s, not %s; it is not posted, to never post another day's digest",
                fetched.name,
                digest.date,
                plan.day,
            )
            return None
        return digest

    async def _post(self, digest: Digest) -> DayOutcome | None:
        outcome = await self._store.save_digest(digest, digest_hash(digest))
        _log.info(
            "digest of %s loaded from %s: %d papers (%s)",
            digest.date,
            digest.source,
            len(digest.papers),
            outcome,
        )
        if outcome is SaveOutcome.CHANGED:
            # Delivery edits the sent messages of `on_edit: update` channels and keeps those
            # of `on_edit: ignore` channels. Unsent papers go out in the new text everywhere.
            _log.warning(
                "digest of %s changed since it was first loaded; %d of %d channels update it",
                digest.date,
                len(self._edit_channels()),
                len(self._config.channels),
            )
        if not digest.papers:
            return await self._post_empty_day(digest)
        reports = await self._reconcile_and_deliver(digest, self._config.channels)
        if reports is None:
            return None
        ok = sum(1 for report in reports if report.ok)
        if ok == len(reports):
            await self._complete(digest.date)
            return self._finish(digest.date, DayOutcome.POSTED, ok, len(reports))
        _log.error(
            "digest of %s reached %d of %d channels; a restart within the grace period retries",
            digest.date,
            ok,
            len(reports),
        )
        return self._finish(digest.date, DayOutcome.PARTLY_POSTED, ok, len(reports))

    async def _reconcile_and_deliver(
        self, digest: Digest, channels: Sequence[ChannelConfig]
    ) -> list[ChannelReport] | None:
        """Deliver `digest` to `channels`; return None when the crash check failed first."""
        try:
            await reconcile_in_flight(self._ledger, channels, self._posters, digest.date)
        except PlatformError as error:
            _log.error(
                "digest of %s not delivered: checking for messages sent before a crash failed"
                " (%s); polling again",
                digest.date,
                error,
            )
            return None
        return await self._deliver(
            digest,
            channels,
            self._posters,
            self._ledger,
            self._clock,
            config=self._config.delivery,
            locale=self._config.locale,
            progress=self._progress,
        )

    async def _watch_for_edits(self, plan: DayPlan, *, resync: bool) -> None:
        """Poll until the deadline and bring `on_edit: update` channels up to date on a change.

        With `resync`, the first digest read is delivered even when the store has it already.
        A delivery that fails is tried again on the next poll with the latest digest.
        """
        channels = self._edit_channels()
        _log.info(
            "watching the digest of %s for edits until %s (%d channels have on_edit: update)",
            plan.day,
            plan.deadline.isoformat(),
            len(channels),
        )
        pending: Digest | None = None
        while True:
            if not resync:
                next_poll = plan.next_poll(self._clock.now())
                if next_poll is None:
                    return
                await self._sleep_until(next_poll)
            digest = await self._poll(plan, skip_unchanged=not resync)
            if digest is not None:
                saved = await self._store.save_digest(digest, digest_hash(digest))
                if resync or saved is SaveOutcome.CHANGED:
                    pending = digest
            resync = False
            if pending is not None and await self._deliver_edit(pending, channels):
                pending = None

    async def _deliver_edit(self, digest: Digest, channels: Sequence[ChannelConfig]) -> bool:
        """Deliver the changed `digest` to `channels`; return True when every channel is done."""
        _log.info(
            "bringing %d channels up to date with the digest of %s", len(channels), digest.date
        )
        reports = await self._reconcile_and_deliver(digest, channels)
        if reports is None:
            return False
        failed = [report.channel for report in reports if not report.ok]
        if failed:
            _log.error(
                "the changed digest of %s did not reach %s; trying again at the next poll",
                digest.date,
                ", ".join(failed),
            )
        return not failed

    def _edit_channels(self) -> tuple[ChannelConfig, ...]:
        return tuple(
            channel for channel in self._config.channels if channel.on_edit is EditPolicy.UPDATE
        )

    async def _post_empty_day(self, digest: Digest) -> DayOutcome:
        noted = [channel for channel in self._config.channels if channel.empty_day_note]
        _log.info(
            "digest of %s lists no papers; a note goes to %d channels", digest.date, len(noted)
        )
        for channel in noted:
            text = self._translator(channel)("no_papers_today", date=digest.date.isoformat())
            await self._notes.send(channel, f"empty:{channel.name}:{digest.date}", text)
        await self._complete(digest.date)
        total = len(self._config.channels)
        return self._finish(digest.date, DayOutcome.EMPTY, total, total)

    async def _deadline_missed(self, plan: DayPlan) -> DayOutcome:
        _log.warning(
            "no digest of %s by the deadline %s; nothing is posted today",
            plan.day,
            plan.deadline.isoformat(),
        )
        admin = self._admin_channel()
        if admin is not None:
            text = self._translator(admin)(
                "admin_deadline_missed",
                date=plan.day.isoformat(),
                deadline=self._local_time(plan.deadline),
            )
            await self._notes.send(admin, f"deadline:{plan.day}", text)
        return self._finish(plan.day, DayOutcome.DEADLINE_MISSED, 0, len(self._config.channels))

    async def _complete(self, day: dt.date) -> None:
        await self._store.set_value(COMPLETED_DATE_KEY, day.isoformat())
        self.last_completed_date = day

    def _finish(self, day: dt.date, outcome: DayOutcome, ok: int, total: int) -> DayOutcome:
        self.last_run = LastRun(day, outcome, self._clock.now(), ok, total)
        return outcome

    def _admin_channel(self) -> ChannelConfig | None:
        name = self._config.admin_channel
        if not name:
            return None
        for channel in self._config.channels:
            if channel.name == name:
                return channel
        _log.error("admin_channel %r is not a configured channel; no admin note is sent", name)
        return None

    def _translator(self, channel: ChannelConfig) -> Translator:
        return Translator(channel.locale or self._config.locale)

    def _local_time(self, when: dt.datetime) -> str:
        from bot.schedule import zone_of

        return when.astimezone(zone_of(self._config.schedule)).strftime("%H:%M %Z")

    async def _sleep_until(self, when: dt.datetime) -> None:
        while True:
            remaining = (when - self._clock.now()).total_seconds()
            if remaining <= 0:
                return
            await self._clock.sleep(min(remaining, _MAX_SLEEP_SECONDS))
