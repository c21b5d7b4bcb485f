"""Delivery fan-out on a FakeClock, through the real posters and the fake platform servers."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import ChannelConfig, DeliveryConfig, Platform
from bot.delivery import (
    ChannelReport,
    Pacer,
    ProgressEvent,
    ProgressKind,
    deliver,
    message_nonce,
)
from bot.digest.model import DateSource, Digest, Link, LinkKind, Paper
from bot.i18n import Translator
from bot.ledger import HEADER_PAPER, DeliveryStatus, MemoryLedger
from bot.platforms.base import MessagePayload, Poster, Rate, Target
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (
    DISCORD_PAPERS,
    SLACK_DIGEST,
    SLACK_NOT_MEMBER,
    SLACK_PAPERS,
    StartServer,
    discord_channels,
    discord_config,
    slack_channels,
    slack_config,
)
from tests.fakes.server import Drop, Hang, RateLimit, ServerError
from tests.fakes.slack_api import FakeSlack

pytest_plugins = ["tests.fakes.fixtures"]

DATE = dt.date(2025, 9, 23)


def make_digest(count: int, *, first: int = 1) -> Digest:
    papers = tuple(
        Paper(
            number=number,
            title=f"Paper {number}",
            arxiv_id=f"2509.{17000 + number}",
            arxiv_version=None,
            links=(Link(LinkKind.ABS, f"https://arxiv.org/abs/2509.{17000 + number}"),),
        )
        for number in range(first, first + count)
    )
    return Digest(DATE, "Daily Papers", "test", DateSource.FILENAME, papers)


class TextRenderer:
    """Renders `header` and `paper N` as plain text; `too_long` papers break Slack's limit."""

    def __init__(self, platform: Platform, *, too_long: frozenset[int] = frozenset()) -> None:
        self.platform = platform
        self.too_long = too_long

    def header(
        self, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        return self._payload("header", target, nonce)

    def paper(
        self, paper: Paper, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        text = "x" * 40_001 if paper.number in self.too_long else f"paper {paper.number}"
        return self._payload(text, target, nonce)

    def _payload(self, text: str, target: Target, nonce: str) -> MessagePayload:
        if self.platform is Platform.SLACK:
            payload: MessagePayload = {"channel": target.channel_id, "text": text}
            if target.thread_id:
                payload["thread_ts"] = target.thread_id
            return payload
        return {
            "content": text,
            "nonce": nonce,
            "enforce_nonce": True,
            "allowed_mentions": {"parse": []},
        }


RENDERERS = {platform: TextRenderer(platform) for platform in Platform}


@dataclasses.dataclass
class Rig:
    """Both fakes and posters on one FakeClock, with a ledger and recorded progress events."""

    clock: FakeClock
    slack: FakeSlack
    discord: FakeDiscord
    posters: dict[Platform, Poster]
    ledger: MemoryLedger
    events: list[ProgressEvent]

    async def run(
        self,
        digest: Digest,
        channels: list[ChannelConfig],
        *,
        max_retries: int = 3,
        renderers: Any = None,
    ) -> list[ChannelReport]:
        return await deliver(
            digest,
            channels,
            self.posters,
            self.ledger,
            self.clock,
            config=DeliveryConfig(max_retries=max_retries),
            renderers=renderers or RENDERERS,
            progress=self.events.append,
        )


@pytest.fixture
async def rig(start_server: StartServer) -> AsyncIterator[Rig]:
    clock = FakeClock()
    # The fakes enforce the same rates as the posters, so a pacing mistake shows up as a 429.
    slack = await start_server(FakeSlack(slack_channels(), rate_limit=(1, 1.0), clock=clock))
    discord = await start_server(FakeDiscord(discord_channels(), rate_limit=(5, 5.0), clock=clock))
    posters: dict[Platform, Poster] = {
        Platform.SLACK: SlackPoster(slack_config(slack, min_interval_seconds=1.0)),
        Platform.DISCORD: DiscordPoster(discord_config(discord, burst=5, per_seconds=5.0)),
    }
    yield Rig(clock, slack, discord, posters, MemoryLedger(), [])
    for poster in posters.values():
        await poster.close()


def slack_channel(name: str = "slack-papers", channel_id: str = SLACK_PAPERS, **options: Any):
    return ChannelConfig(name, Platform.SLACK, channel_id, **options)


def discord_channel(name: str = "discord-papers", channel_id: str = DISCORD_PAPERS, **options: Any):
    return ChannelConfig(name, Platform.DISCORD, channel_id, **options)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message.get("text") or message.get("content") for message in messages]


def statuses(requests: list[Any], endpoint: str) -> list[int]:
    return [request.status for request in requests if request.endpoint == endpoint]


# --- order, parallelism, pacing -----------------------------------------------------------


async def test_slack_papers_posted_in_order(rig: Rig) -> None:
    reports = await rig.run(make_digest(4), [slack_channel()])

    assert texts(rig.slack.messages(SLACK_PAPERS)) == [
        "header",
        "paper 1",
        "paper 2",
        "paper 3",
        "paper 4",
    ]
    assert reports == [
        ChannelReport("slack-papers", Platform.SLACK, total=4, posted=4, skipped=0, failed=0)
    ]


async def test_header_off_posts_papers_only(rig: Rig) -> None:
    await rig.run(make_digest(2), [discord_channel(header=False)])

    assert texts(rig.discord.messages(DISCORD_PAPERS)) == ["paper 1", "paper 2"]


async def test_slack_pacing_one_per_interval(rig: Rig) -> None:
    start = rig.clock.monotonic()

    await rig.run(make_digest(3), [slack_channel()])

    arrivals = [r.received_at - start for r in rig.slack.requests]
    assert arrivals == [0.0, 1.0, 2.0, 3.0]
    assert statuses(rig.slack.requests, "chat.postMessage") == [200] * 4


async def test_discord_pacing_sliding_window(rig: Rig) -> None:
    start = rig.clock.monotonic()

    await rig.run(make_digest(11), [discord_channel()])

    creates = [r for r in rig.discord.requests if r.endpoint == "create_message"]
    arrivals = [r.received_at - start for r in creates]
    assert arrivals == [0.0] * 5 + [5.0] * 5 + [10.0] * 2
    assert statuses(rig.discord.requests, "create_message") == [200] * 12


async def test_pacer_waits_for_oldest_send() -> None:
    clock = FakeClock()
    pacer = Pacer(Rate(2, 1.0), clock)
    start = clock.monotonic()
    sends = []

    for _ in range(5):
        await pacer.wait()
        sends.append(clock.monotonic() - start)
        clock.advance(0.25)  # the request takes 0.25 s
        pacer.record()

    # A request leaves the window exactly 1 s after its response arrived.
    assert sends == [0.0, 0.25, 1.25, 1.5, 2.5]
    assert clock.sleeps == [0.75, 0.75]


async def test_channels_run_in_parallel(rig: Rig) -> None:
    discord_done = asyncio.Event()

    def on_progress(event: ProgressEvent) -> None:
        rig.events.append(event)
        if event.platform is Platform.DISCORD and event.kind is ProgressKind.FINISHED:
            discord_done.set()

    rig.slack.inject("chat.postMessage", Hang())
    delivery = asyncio.create_task(
        deliver(
            make_digest(3),
            [slack_channel(), discord_channel()],
            rig.posters,
            rig.ledger,
            rig.clock,
            renderers=RENDERERS,
            progress=on_progress,
        )
    )
    await rig.slack.wait_held()
    await discord_done.wait()

    # Discord finished while Slack's first message was still held.
    assert len(rig.discord.messages(DISCORD_PAPERS)) == 4
    assert rig.slack.messages(SLACK_PAPERS) == []

    rig.slack.release()
    reports = await delivery

    assert [report.ok for report in reports] == [True, True]
    assert len(rig.slack.messages(SLACK_PAPERS)) == 4


# --- retries and failures -----------------------------------------------------------------


async def test_429_waits_retry_after(rig: Rig) -> None:
    rig.slack.inject("chat.postMessage", RateLimit(retry_after=7))

    reports = await rig.run(make_digest(1), [slack_channel()])

    assert reports[0].ok
    assert 7.0 in rig.clock.sleeps
    assert texts(rig.slack.messages(SLACK_PAPERS)) == ["header", "paper 1"]
    retries = [event for event in rig.events if event.kind is ProgressKind.RETRYING]
    assert [(event.paper, event.wait_seconds) for event in retries] == [(HEADER_PAPER, 7.0)]


async def test_discord_429_waits_retry_after(rig: Rig) -> None:
    rig.discord.inject("create_message", RateLimit(retry_after=2.5))

    reports = await rig.run(make_digest(1), [discord_channel()])

    assert reports[0].ok
    assert 2.5 in rig.clock.sleeps
    assert texts(rig.discord.messages(DISCORD_PAPERS)) == ["header", "paper 1"]


@pytest.mark.parametrize("platform", list(Platform))
async def test_server_errors_back_off_and_retry(rig: Rig, platform: Platform) -> None:
    faults = (ServerError(500), ServerError(503), Drop())
    if platform is Platform.SLACK:
        rig.slack.inject("chat.postMessage", *faults)
        channel, fake, channel_id = slack_channel(header=False), rig.slack, SLACK_PAPERS
    else:
        rig.discord.inject("create_message", *faults)
        channel, fake, channel_id = discord_channel(header=False), rig.discord, DISCORD_PAPERS

    reports = await rig.run(make_digest(2), [channel])

    assert reports[0].ok
    retries = [event.wait_seconds for event in rig.events if event.kind is ProgressKind.RETRYING]
    assert retries == [1.0, 2.0, 4.0]
    assert texts(fake.messages(channel_id)) == ["paper 1", "paper 2"]


async def test_exhausted_retries_stop_channel(rig: Rig) -> None:
    rig.slack.inject("chat.postMessage", *[ServerError(500)] * 3)

    reports = await rig.run(make_digest(3), [slack_channel(header=False)], max_retries=2)

    report = reports[0]
    assert (report.posted, report.skipped, report.failed) == (0, 0, 3)
    assert report.error is not None
    assert "paper 1: gave up after 3 attempts" in report.error
    assert rig.slack.messages(SLACK_PAPERS) == []
    record = await rig.ledger.get("slack-papers", DATE, 1)
    assert record is not None
    assert record.status is DeliveryStatus.FAILED
    assert await rig.ledger.get("slack-papers", DATE, 2) is None


async def test_permanent_error_isolates_channel(rig: Rig) -> None:
    channels = [
        slack_channel("outside", SLACK_NOT_MEMBER),
        slack_channel("digest", SLACK_DIGEST),
        discord_channel(),
    ]

    reports = await rig.run(make_digest(2), channels)

    failed, slack_ok, discord_ok = reports
    assert failed.error is not None
    assert "not_in_channel" in failed.error
    assert (failed.posted, failed.failed) == (0, 2)
    assert slack_ok.ok
    assert discord_ok.ok
    assert len(rig.slack.messages(SLACK_DIGEST)) == 3
    assert len(rig.discord.messages(DISCORD_PAPERS)) == 3
    assert [r.error for r in rig.slack.requests if r.channel == SLACK_NOT_MEMBER] == [
        "not_in_channel"
    ]


async def test_invalid_paper_stops_rest_of_channel(rig: Rig) -> None:
    renderers = {**RENDERERS, Platform.SLACK: TextRenderer(Platform.SLACK, too_long=frozenset({3}))}

    reports = await rig.run(make_digest(5), [slack_channel()], renderers=renderers)

    report = reports[0]
    assert (report.posted, report.failed) == (2, 3)
    assert report.error is not None
    assert report.error.startswith("paper 3: ")
    assert "msg_too_long" in report.error
    assert texts(rig.slack.messages(SLACK_PAPERS)) == ["header", "paper 1", "paper 2"]
    failures = [event for event in rig.events if event.kind is ProgressKind.FAILED]
    assert [event.paper for event in failures] == [3]


# --- ledger ------------------------------------------------------------------------------


async def test_second_run_skips_sent(rig: Rig) -> None:
    channels = [slack_channel(), discord_channel()]
    await rig.run(make_digest(3), channels)
    requests_after_first = len(rig.slack.requests) + len(rig.discord.requests)

    reports = await rig.run(make_digest(3), channels)

    assert [(report.posted, report.skipped) for report in reports] == [(0, 3), (0, 3)]
    assert len(rig.slack.requests) + len(rig.discord.requests) == requests_after_first
    assert len(rig.slack.messages(SLACK_PAPERS)) == 4


async def test_ledger_in_flight_during_send(rig: Rig) -> None:
    rig.slack.inject("chat.postMessage", Hang())
    delivery = asyncio.create_task(rig.run(make_digest(1), [slack_channel(header=False)]))
    await rig.slack.wait_held()

    in_flight = await rig.ledger.get("slack-papers", DATE, 1)
    rig.slack.release()
    await delivery
    sent = await rig.ledger.get("slack-papers", DATE, 1)

    assert in_flight is not None
    assert in_flight.status is DeliveryStatus.IN_FLIGHT
    assert in_flight.nonce == message_nonce("slack-papers", DATE, 1)
    assert sent is not None
    assert sent.status is DeliveryStatus.SENT
    assert sent.message_id == rig.slack.messages(SLACK_PAPERS)[0]["ts"]
    assert sent.content_hash == in_flight.content_hash


async def test_discord_payload_carries_ledger_nonce(rig: Rig) -> None:
    await rig.run(make_digest(2), [discord_channel()])

    nonces = [r.body["nonce"] for r in rig.discord.creates(DISCORD_PAPERS)]
    expected = [message_nonce("discord-papers", DATE, paper) for paper in (0, 1, 2)]
    assert nonces == expected


def test_message_nonce_fits_discord() -> None:
    first = message_nonce("papers", DATE, 1)

    assert first == message_nonce("papers", DATE, 1)
    assert len(first) <= 25
    assert first != message_nonce("papers", DATE, 2)
    assert first != message_nonce("other", DATE, 1)
    assert first != message_nonce("papers", DATE + dt.timedelta(days=1), 1)


# --- threads -----------------------------------------------------------------------------


async def test_slack_thread_mode_replies_to_header(rig: Rig) -> None:
    await rig.run(make_digest(2), [slack_channel(header=False, thread=True)])

    header, *replies = rig.slack.messages(SLACK_PAPERS)
    assert header["text"] == "header"
    assert "thread_ts" not in header
    assert [reply["thread_ts"] for reply in replies] == [header["ts"], header["ts"]]
    assert texts(replies) == ["paper 1", "paper 2"]


async def test_discord_thread_mode_posts_in_thread(rig: Rig) -> None:
    await rig.run(make_digest(2), [discord_channel(thread=True)])

    channel_messages = rig.discord.messages(DISCORD_PAPERS)
    assert texts(channel_messages) == ["header"]
    thread_id = channel_messages[0]["id"]
    assert texts(rig.discord.messages(thread_id)) == ["paper 1", "paper 2"]
    thread_requests = [r for r in rig.discord.requests if r.endpoint == "start_thread"]
    assert [r.body["name"] for r in thread_requests] == ["Daily Papers"]


async def test_discord_thread_resumed_on_rerun(rig: Rig) -> None:
    channel = discord_channel(thread=True)
    await rig.run(make_digest(2), [channel])

    reports = await rig.run(make_digest(4), [channel])

    assert (reports[0].posted, reports[0].skipped) == (2, 2)
    thread_id = rig.discord.messages(DISCORD_PAPERS)[0]["id"]
    assert texts(rig.discord.messages(thread_id)) == ["paper 1", "paper 2", "paper 3", "paper 4"]
    assert len(rig.discord.messages(DISCORD_PAPERS)) == 1


# --- progress and guards -----------------------------------------------------------------


async def test_progress_events_in_order(rig: Rig) -> None:
    await rig.run(make_digest(2), [slack_channel()])

    steps = [(event.kind, event.paper, event.done, event.total) for event in rig.events]
    assert steps == [
        (ProgressKind.STARTED, None, 0, 2),
        (ProgressKind.POSTED, 1, 1, 2),
        (ProgressKind.POSTED, 2, 2, 2),
        (ProgressKind.FINISHED, None, 2, 2),
    ]


async def test_empty_digest_posts_nothing(rig: Rig) -> None:
    reports = await rig.run(make_digest(0), [slack_channel(thread=True), discord_channel()])

    assert [(report.total, report.ok) for report in reports] == [(0, True), (0, True)]
    assert rig.slack.requests == []
    assert [r for r in rig.discord.requests if r.endpoint == "create_message"] == []


@pytest.mark.parametrize(
    ("digest", "channels", "config", "message"),
    [
        (make_digest(1), [discord_channel("a"), slack_channel("a")], None, "unique"),
        (
            dataclasses.replace(make_digest(2), papers=make_digest(1).papers * 2),
            [slack_channel()],
            None,
            "paper numbers",
        ),
        (make_digest(1, first=0), [slack_channel()], None, "paper numbers"),
        (make_digest(1), [slack_channel(locale="fr")], None, "unknown locale 'fr'"),
        (make_digest(1), [slack_channel()], DeliveryConfig(max_retries=-1), "max_retries"),
    ],
)
async def test_deliver_rejects_bad_input(
    rig: Rig,
    digest: Digest,
    channels: list[ChannelConfig],
    config: DeliveryConfig | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        await deliver(digest, channels, rig.posters, rig.ledger, rig.clock, config=config)

    assert rig.slack.requests == []


async def test_deliver_requires_poster(rig: Rig) -> None:
    slack_only = {Platform.SLACK: rig.posters[Platform.SLACK]}

    with pytest.raises(ValueError, match="no discord poster for channel 'discord-papers'"):
        await deliver(make_digest(1), [discord_channel()], slack_only, rig.ledger, rig.clock)
