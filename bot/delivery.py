"""Fan-out of one digest to many channels, with pacing, retries and the delivery ledger.

Papers go out in digest order within a channel, and channels run in parallel, one task each.
This module never looks inside a payload: a `MessageRenderer` builds it and a `Poster`
sends it, both chosen by the channel's platform. A message already sent is compared with its
new rendering by `payload_hash`. When they differ, the message is edited in place if the
channel has `on_edit: update` and kept as it is with `on_edit: ignore`.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from bot.clock import Clock
from bot.config import ChannelConfig, DeliveryConfig, EditPolicy, Platform
from bot.digest.model import Digest, Paper
from bot.i18n import DEFAULT_LOCALE, Translator
from bot.ledger import HEADER_PAPER, DeliveryRecord, DeliveryStatus, Ledger
from bot.platforms.base import (
    MessagePayload,
    MessageRenderer,
    PermanentError,
    Poster,
    PostResult,
    Rate,
    RateLimited,
    Target,
    TransientError,
    default_renderers,
)

_log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Discord accepts a nonce of at most 25 characters; 24 hex digits fit and leave 96 bits.
NONCE_LENGTH = 24

# First wait after a 5xx, timeout or dropped connection; it doubles on each further retry.
DEFAULT_BACKOFF_SECONDS = 1.0
DEFAULT_MAX_BACKOFF_SECONDS = 60.0

# Discord thread names may not be empty; this is used when the digest has no title.
_FALLBACK_THREAD_NAME = "papers"


class ProgressKind(enum.StrEnum):
    STARTED = "started"
    POSTED = "posted"
    # A posted paper message was edited in place to match the changed digest.
    UPDATED = "updated"
    SKIPPED = "skipped"
    RETRYING = "retrying"
    FAILED = "failed"
    FINISHED = "finished"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a channel's delivery, for progress lines in the CLI.

    `done` counts the papers posted, updated or skipped so far, out of `total`. `paper` is the
    paper number the step is about, 0 for the header. `wait_seconds` is set on RETRYING.
    """

    channel: str
    platform: Platform
    kind: ProgressKind
    done: int
    total: int
    paper: int | None = None
    wait_seconds: float | None = None
    error: str | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class ChannelReport:
    """The outcome of one channel: paper counts and the error that stopped it, if any.

    `updated` counts posted papers edited to match a changed digest, and `skipped` the posted
    papers left as they were. Papers left unsent or unedited after a failure count as
    failed. The header is not counted.
    """

    channel: str
    platform: Platform
    total: int
    posted: int
    skipped: int
    failed: int
    error: str | None = None
    updated: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.error is None


def message_nonce(channel: str, digest_date: object, paper: int) -> str:
    """Return the deterministic nonce of one (channel, date, paper) message.

    The same message gets the same nonce on every run, so Discord's `enforce_nonce` drops a
    resend of a message whose first send arrived but whose response was lost.
    """
    key = f"{channel}\x1f{digest_date}\x1f{paper}".encode()
    return hashlib.sha256(key).hexdigest()[:NONCE_LENGTH]


def payload_hash(payload: MessagePayload) -> str:
    """Return a short hash of the payload as sent, to notice a changed digest later."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class Pacer:
    """Keeps one channel under its platform rate: at most `burst` requests in any window.

    Every request counts, retries included, because the platform counts them too. A request
    is recorded when its response arrives. The platform counted it at some earlier moment, so
    the window here never ends before the platform's does.
    """

    def __init__(self, rate: Rate, clock: Clock) -> None:
        self._rate = rate
        self._clock = clock
        self._done: collections.deque[float] = collections.deque()

    async def wait(self) -> None:
        """Wait on the clock until one more request fits in the window."""
        while True:
            window_start = self._clock.monotonic() - self._rate.per_seconds
            while self._done and self._done[0] <= window_start:
                self._done.popleft()
            if len(self._done) < self._rate.burst:
                return
            await self._clock.sleep(self._done[0] - window_start)

    def record(self) -> None:
        """Count a request whose response, or failure, has just arrived."""
        self._done.append(self._clock.monotonic())


class _ChannelStopped(Exception):
    """A message failed for good; the channel sends nothing more."""


RenderFunction = Callable[[Target, str], MessagePayload]


@dataclass
class _ChannelRun:
    channel: ChannelConfig
    digest: Digest
    poster: Poster
    renderer: MessageRenderer
    translator: Translator
    ledger: Ledger
    clock: Clock
    config: DeliveryConfig
    backoff_seconds: float
    max_backoff_seconds: float
    progress: ProgressCallback | None
    pacer: Pacer = field(init=False)
    posted: int = 0
    skipped: int = 0
    updated: int = 0
    # Sent messages that differ from the current digest and stay as they are (on_edit: ignore).
    kept_outdated: int = 0

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.poster.rate, self.clock)

    @property
    def total(self) -> int:
        return len(self.digest.papers)

    @property
    def _done(self) -> int:
        return self.posted + self.updated + self.skipped

    async def run(self) -> ChannelReport:
        self._emit(ProgressKind.STARTED)
        _log.info(
            "delivering %d papers of %s to %s (%s)",
            self.total,
            self.digest.date,
            self.channel.name,
            self.channel.platform,
        )
        try:
            target = await self._send_header_and_open_thread()
            for paper in self.digest.papers:
                render = self._paper_renderer(paper)
                await self._send(paper.number, target, render)
        except _ChannelStopped as stop:
            return self._finish(error=str(stop))
        await self._log_removed_papers()
        return self._finish(error=None)

    def _paper_renderer(self, paper: Paper) -> RenderFunction:
        def render(target: Target, nonce: str) -> MessagePayload:
            return self.renderer.paper(
                paper, self.digest, self.translator, target=target, nonce=nonce
            )

        return render

    def _wants_header(self) -> bool:
        # A thread needs a parent message, so thread mode implies a header. An empty digest
        # gets no header because the caller posts the empty-day note.
        if not self.digest.papers:
            return False
        return self.channel.header or self.channel.thread

    async def _send_header_and_open_thread(self) -> Target:
        target = Target(channel_id=self.channel.id)
        if not self._wants_header():
            return target

        def render(header_target: Target, nonce: str) -> MessagePayload:
            return self.renderer.header(
                self.digest, self.translator, target=header_target, nonce=nonce
            )

        header_id = await self._send(HEADER_PAPER, target, render)
        if not (self.channel.thread and self.digest.papers):
            return target
        name = self.digest.title or _FALLBACK_THREAD_NAME
        try:
            return await self._with_retries(
                HEADER_PAPER,
                lambda: self.poster.open_thread(self.channel.id, header_id, name),
                paced=False,
            )
        except (PermanentError, _ChannelStopped) as error:
            self._fail(HEADER_PAPER, f"thread not opened: {error}")
            raise _ChannelStopped(f"thread not opened: {error}") from error

    async def _send(self, paper: int, target: Target, render: RenderFunction) -> str:
        """Send one message, or bring the sent one up to date; return its message id."""
        key = (self.channel.name, self.digest.date, paper)
        previous = await self.ledger.get(*key)
        if previous is not None and previous.status is DeliveryStatus.SENT:
            return await self._check_sent(paper, target, render, previous)

        nonce = previous.nonce if previous is not None else message_nonce(*key)
        payload = render(target, nonce)
        record = DeliveryRecord(
            channel=self.channel.name,
            digest_date=self.digest.date,
            paper=paper,
            status=DeliveryStatus.IN_FLIGHT,
            nonce=nonce,
            content_hash=payload_hash(payload),
        )
        # An IN_FLIGHT record left by a crashed run may stand for a message the platform has,
        # and so may a FAILED one whose last attempt timed out after the platform accepted it.
        look_up_first = previous is not None
        await self.ledger.put(record)
        try:
            result = await self._post_once(paper, target, payload, look_up_first=look_up_first)
        except (PermanentError, _ChannelStopped) as error:
            reason = f"{_describe(paper)}: {error}"
            await self._record_failure(record, reason)
            raise _ChannelStopped(reason) from error

        await self.ledger.put(
            replace(record, status=DeliveryStatus.SENT, message_id=result.message_id)
        )
        if paper != HEADER_PAPER:
            self.posted += 1
            _log.debug("paper %d posted to %s", paper, self.channel.name)
            self._emit(ProgressKind.POSTED, paper=paper)
        return result.message_id

    async def _post_once(
        self, paper: int, target: Target, payload: MessagePayload, *, look_up_first: bool
    ) -> PostResult:
        """Post `payload` with retries, and never post it twice.

        A timeout or dropped connection can follow a send that the platform accepted, so
        each retry after a `TransientError` first asks `poster.find_sent` for the message.
        A 429 means the platform rejected the send, so no lookup follows it. A failed lookup
        counts as a failed attempt, and the next attempt looks again before any post.
        """
        look_up = look_up_first

        async def attempt() -> PostResult:
            nonlocal look_up
            if look_up:
                found = await self.poster.find_sent(target, self.digest.date, paper)
                look_up = False
                if found is not None:
                    _log.info(
                        "%s was already in %s (message %s); recorded as sent, not resent",
                        _describe(paper),
                        self.channel.name,
                        found,
                    )
                    return PostResult(message_id=found, channel_id=target.channel_id)
            try:
                return await self.poster.post(target, payload)
            except TransientError:
                look_up = True
                raise

        return await self._with_retries(paper, attempt, paced=True)

    async def _check_sent(
        self, paper: int, target: Target, render: RenderFunction, previous: DeliveryRecord
    ) -> str:
        """Edit a sent message whose payload changed when on_edit is update, else skip it."""
        message_id = self._sent_message_id(paper, previous)
        payload = render(target, previous.nonce)
        content_hash = payload_hash(payload)
        if content_hash == previous.content_hash:
            return self._skip(paper, message_id)
        if self.channel.on_edit is EditPolicy.IGNORE:
            self.kept_outdated += 1
            return self._skip(paper, message_id)
        await self._update(paper, target, payload, replace(previous, content_hash=content_hash))
        return message_id

    async def _update(
        self, paper: int, target: Target, payload: MessagePayload, updated: DeliveryRecord
    ) -> None:
        assert updated.message_id is not None
        message_id = updated.message_id
        try:
            await self._with_retries(
                paper,
                lambda: self.poster.update(target, message_id, payload),
                paced=True,
            )
        except (PermanentError, _ChannelStopped) as error:
            # The ledger keeps the old hash because the message still shows the old text.
            reason = f"{_describe(paper)} not updated: {error}"
            self._fail(paper, reason, action="updated")
            raise _ChannelStopped(reason) from error
        await self.ledger.put(replace(updated, error=None))
        _log.debug("%s updated in %s", _describe(paper), self.channel.name)
        if paper != HEADER_PAPER:
            self.updated += 1
            self._emit(ProgressKind.UPDATED, paper=paper)

    def _sent_message_id(self, paper: int, previous: DeliveryRecord) -> str:
        if previous.message_id is None:
            self._fail(paper, "ledger has it as sent without a message id")
            raise _ChannelStopped(
                f"{_describe(paper)} is recorded as sent without a message id; "
                "remove the ledger record to send it again"
            )
        return previous.message_id

    def _skip(self, paper: int, message_id: str) -> str:
        if paper != HEADER_PAPER:
            self.skipped += 1
            _log.debug("paper %d already in %s; skipped", paper, self.channel.name)
            self._emit(ProgressKind.SKIPPED, paper=paper)
        return message_id

    async def _log_removed_papers(self) -> None:
        """Log the sent papers that the digest no longer lists; their messages stay."""
        numbers = {paper.number for paper in self.digest.papers}
        removed = [
            record.paper
            for record in await self.ledger.records(self.channel.name, self.digest.date)
            if record.paper != HEADER_PAPER
            and record.paper not in numbers
            and record.status is DeliveryStatus.SENT
        ]
        if removed:
            _log.warning(
                "papers %s of %s are no longer in the digest; their messages in %s are kept",
                ", ".join(map(str, removed)),
                self.digest.date,
                self.channel.name,
            )

    async def _with_retries(
        self, paper: int, request: Callable[[], Awaitable[_T]], *, paced: bool
    ) -> _T:
        """Run `request`, waiting out 429s and backing off on transient errors.

        Each message gets at most `max_retries` retries, whatever their cause.
        """
        retries = 0
        while True:
            if paced:
                await self.pacer.wait()
            try:
                return await request()
            except RateLimited as error:
                wait, cause = error.retry_after, error
            except TransientError as error:
                backoff = self.backoff_seconds * 2**retries
                wait, cause = min(backoff, self.max_backoff_seconds), error
            finally:
                if paced:
                    self.pacer.record()
            if retries >= self.config.max_retries:
                raise _ChannelStopped(f"gave up after {retries + 1} attempts: {cause}") from cause
            retries += 1
            _log.warning(
                "%s to %s failed (%s); retry %d of %d in %.1f s",
                _describe(paper),
                self.channel.name,
                cause,
                retries,
                self.config.max_retries,
                wait,
            )
            self._emit(ProgressKind.RETRYING, paper=paper, wait_seconds=wait, error=str(cause))
            await self.clock.sleep(wait)

    async def _record_failure(self, record: DeliveryRecord, error: str) -> None:
        failed = DeliveryRecord(
            channel=record.channel,
            digest_date=record.digest_date,
            paper=record.paper,
            status=DeliveryStatus.FAILED,
            nonce=record.nonce,
            content_hash=record.content_hash,
            error=error,
        )
        await self.ledger.put(failed)
        self._fail(record.paper, error)

    def _fail(self, paper: int, error: str, *, action: str = "posted") -> None:
        _log.error(
            "%s not %s in %s, so its remaining %d papers are not sent: %s",
            _describe(paper),
            action,
            self.channel.name,
            self.total - self._done,
            error,
        )
        self._emit(ProgressKind.FAILED, paper=paper, error=error)

    def _finish(self, *, error: str | None) -> ChannelReport:
        report = ChannelReport(
            channel=self.channel.name,
            platform=self.channel.platform,
            total=self.total,
            posted=self.posted,
            skipped=self.skipped,
            failed=self.total - self._done,
            error=error,
            updated=self.updated,
        )
        if self.kept_outdated:
            _log.warning(
                "%d sent messages in %s differ from the changed digest of %s and are kept,"
                " because the channel has on_edit: ignore",
                self.kept_outdated,
                self.channel.name,
                self.digest.date,
            )
        _log.info(
            "%s: %d posted, %d updated, %d skipped, %d failed",
            self.channel.name,
            report.posted,
            report.updated,
            report.skipped,
            report.failed,
        )
        self._emit(ProgressKind.FINISHED, error=error)
        return report

    def _emit(
        self,
        kind: ProgressKind,
        *,
        paper: int | None = None,
        wait_seconds: float | None = None,
        error: str | None = None,
    ) -> None:
        if self.progress is None:
            return
        event = ProgressEvent(
            channel=self.channel.name,
            platform=self.channel.platform,
            kind=kind,
            done=self._done,
            total=self.total,
            paper=paper,
            wait_seconds=wait_seconds,
            error=error,
        )
        self.progress(event)


async def deliver(
    digest: Digest,
    channels: Sequence[ChannelConfig],
    posters: Mapping[Platform, Poster],
    ledger: Ledger,
    clock: Clock,
    *,
    config: DeliveryConfig | None = None,
    renderers: Mapping[Platform, MessageRenderer] | None = None,
    locale: str = DEFAULT_LOCALE,
    progress: ProgressCallback | None = None,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
) -> list[ChannelReport]:
    """Post `digest` to every channel and return one report per channel, in `channels` order.

    Each channel runs in its own task: an optional header (always sent in thread mode),
    then the papers in digest order, in a thread under the header when `channel.thread`.
    A digest without papers posts nothing, so the caller sends any empty-day note.
    Sends and edits are paced by `poster.rate` on `clock`. A 429 waits its Retry-After and a
    transient error backs off from `backoff_seconds`, doubling up to `max_backoff_seconds`,
    for at most `config.max_retries` retries per message. Before a message is sent again after
    a transient error, or when an earlier run left it IN_FLIGHT or FAILED, `poster.find_sent`
    looks for it. A permanent error or exhausted retries stops that channel only. A message
    the ledger has as sent is skipped when its payload is unchanged, and otherwise edited in
    place if the channel has `on_edit: update`. Ledger records of papers no longer in the
    digest are left.

    Args:
        digest: The day's digest; paper numbers must be unique and positive.
        channels: Destinations; names must be unique because the ledger is keyed by name.
        posters: One poster per platform used by `channels`.
        ledger: Records every send before and after it happens.
        clock: Time source for pacing and retry waits.
        config: Retry settings; the defaults of `DeliveryConfig` when None.
        renderers: Payload builders per platform; `default_renderers()` when None.
        locale: Locale of channels that set none.
        progress: Called with every `ProgressEvent`, from the event loop.
        backoff_seconds: First wait after a transient error.
        max_backoff_seconds: Maximum wait after a transient error.

    Raises:
        ValueError: A channel has no poster or renderer, a locale is unknown, channel names
            repeat, or paper numbers repeat or are below 1.
    """
    config = config or DeliveryConfig()
    renderers = renderers if renderers is not None else default_renderers()
    _check_inputs(digest, channels, posters, renderers, config)
    runs = [
        _ChannelRun(
            channel=channel,
            digest=digest,
            poster=posters[channel.platform],
            renderer=renderers[channel.platform],
            translator=_translator(channel, locale),
            ledger=ledger,
            clock=clock,
            config=config,
            backoff_seconds=backoff_seconds,
            max_backoff_seconds=max_backoff_seconds,
            progress=progress,
        )
        for channel in channels
    ]
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run.run(), name=f"deliver:{run.channel.name}") for run in runs]
    return [task.result() for task in tasks]


def _check_inputs(
    digest: Digest,
    channels: Sequence[ChannelConfig],
    posters: Mapping[Platform, Poster],
    renderers: Mapping[Platform, MessageRenderer],
    config: DeliveryConfig,
) -> None:
    if config.max_retries < 0:
        raise ValueError(f"delivery.max_retries must be 0 or more, got {config.max_retries}")
    names = [channel.name for channel in channels]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"channel names must be unique; repeated: {', '.join(repeated)}")
    for channel in channels:
        if channel.platform not in posters:
            raise ValueError(f"no {channel.platform} poster for channel {channel.name!r}")
        if channel.platform not in renderers:
            raise ValueError(f"no {channel.platform} renderer for channel {channel.name!r}")
    numbers = [paper.number for paper in digest.papers]
    if len(set(numbers)) != len(numbers) or any(number <= HEADER_PAPER for number in numbers):
        raise ValueError(
            f"paper numbers of the {digest.date} digest must be unique and 1 or more, got {numbers}"
        )


def _translator(channel: ChannelConfig, locale: str) -> Translator:
    chosen = channel.locale or locale
    try:
        return Translator(chosen)
    except KeyError as error:
        raise ValueError(f"channel {channel.name!r}: unknown locale {chosen!r}") from error


def _describe(paper: int) -> str:
    return "header" if paper == HEADER_PAPER else f"paper {paper}"
