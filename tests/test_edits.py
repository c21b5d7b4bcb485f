"""Edited digests (`on_edit`) and lost responses, through the real posters and renderers.

Every test runs on a FakeClock against the fake Slack and Discord servers on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError as SlackSdkApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import (
    ChannelConfig,
    Config,
    DeliveryConfig,
    EditPolicy,
    Platform,
    ScheduleConfig,
)
from bot.daily import COMPLETED_DATE_KEY, DailyJob, DayOutcome, reconcile_in_flight
from bot.delivery import ChannelReport, ProgressEvent, ProgressKind, deliver
from bot.digest.model import DateSource, Digest, Link, LinkKind, Paper
from bot.digest.parser import parse_digest
from bot.ledger import HEADER_PAPER, DeliveryStatus, MemoryLedger
from bot.metrics import Metrics
from bot.platforms.base import PermanentError, Poster, Target
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster, update_body
from bot.posting import digest_hash
from bot.schedule import plan_day
from bot.sources.base import FetchedDigest
from bot.store import Store
from tests.conftest import FIXTURES
from tests.fakes import slack_api
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (
    DISCORD_PAPERS,
    SLACK_DIGEST,
    SLACK_PAPERS,
    StartServer,
    discord_channels,
    discord_config,
    slack_channels,
    slack_config,
)
from tests.fakes.server import (
    DropAfterProcessing,
    HangAfterProcessing,
    RateLimit,
    ServerError,
)
from tests.fakes.slack_api import FakeSlack, SlackApiError

pytest_plugins = ["tests.fakes.fixtures"]

DATE = dt.date(2025, 9, 23)


def make_digest(count: int, *, retitled: dict[int, str] | None = None) -> Digest:
    titles = retitled or {}
    papers = tuple(
        Paper(
            number=number,
            title=titles.get(number, f"Paper {number}"),
            arxiv_id=f"2509.{17000 + number}",
            arxiv_version=None,
            links=(Link(LinkKind.ABS, f"https://arxiv.org/abs/2509.{17000 + number}"),),
        )
        for number in range(1, count + 1)
    )
    return Digest(DATE, "Daily Papers", "test", DateSource.FILENAME, papers)


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
        self, digest: Digest, channels: list[ChannelConfig], *, max_retries: int = 3
    ) -> list[ChannelReport]:
        self.events.clear()
        return await deliver(
            digest,
            channels,
            self.posters,
            self.ledger,
            self.clock,
            config=DeliveryConfig(max_retries=max_retries),
            progress=self.events.append,
        )

    def kinds(self, kind: ProgressKind) -> list[int | None]:
        return [event.paper for event in self.events if event.kind is kind]


@pytest.fixture
async def rig(start_server: StartServer) -> AsyncIterator[Rig]:
    clock = FakeClock()
    # The fakes enforce the posters' rates, so an edit that skips pacing shows up as a 429.
    slack = await start_server(FakeSlack(slack_channels(), rate_limit=(1, 1.0), clock=clock))
    discord = await start_server(FakeDiscord(discord_channels(), rate_limit=(5, 5.0), clock=clock))
    posters: dict[Platform, Poster] = {
        Platform.SLACK: SlackPoster(slack_config(slack, min_interval_seconds=1.0)),
        Platform.DISCORD: DiscordPoster(discord_config(discord, burst=5, per_seconds=5.0)),
    }
    yield Rig(clock, slack, discord, posters, MemoryLedger(), [])
    for poster in posters.values():
        await poster.close()


def slack_channel(on_edit: EditPolicy = EditPolicy.UPDATE, **options: Any) -> ChannelConfig:
    return ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS, on_edit=on_edit, **options)


def discord_channel(on_edit: EditPolicy = EditPolicy.UPDATE, **options: Any) -> ChannelConfig:
    return ChannelConfig(
        "discord-papers", Platform.DISCORD, DISCORD_PAPERS, on_edit=on_edit, **options
    )


def slack_paper_numbers(messages: list[dict[str, Any]]) -> list[int]:
    return [message["metadata"]["event_payload"]["paper"] for message in messages]


def posts(fake: FakeSlack | FakeDiscord) -> int:
    return len(fake.posts()) if isinstance(fake, FakeSlack) else len(fake.creates())


# --- on_edit: update --------------------------------------------------------------------


async def test_slack_edit_updates_message_in_place(rig: Rig) -> None:
    await rig.run(make_digest(3), [slack_channel()])
    before = {message["ts"]: message["text"] for message in rig.slack.messages(SLACK_PAPERS)}
    paper_two_ts = rig.slack.messages(SLACK_PAPERS)[2]["ts"]

    reports = await rig.run(make_digest(3, retitled={2: "Paper 2, revised"}), [slack_channel()])

    (update,) = rig.slack.updates(SLACK_PAPERS)
    assert update.body["ts"] == paper_two_ts
    assert "Paper 2, revised" in update.body["text"]
    assert len(rig.slack.posts()) == 4
    stored = rig.slack.messages(SLACK_PAPERS)
    assert [message["ts"] for message in stored] == list(before)
    assert "Paper 2, revised" in stored[2]["text"]
    assert stored[2]["edited"] is True
    assert stored[2]["metadata"]["event_payload"]["paper"] == 2
    assert [message["text"] for message in stored if message["ts"] != paper_two_ts] == [
        text for ts, text in before.items() if ts != paper_two_ts
    ]
    assert (reports[0].updated, reports[0].skipped, reports[0].posted) == (1, 2, 0)
    assert rig.kinds(ProgressKind.UPDATED) == [2]


async def test_slack_edit_stores_new_hash(rig: Rig) -> None:
    edited = make_digest(2, retitled={1: "Paper 1, revised"})
    await rig.run(make_digest(2), [slack_channel()])
    old = await rig.ledger.get("slack-papers", DATE, 1)

    await rig.run(edited, [slack_channel()])
    new = await rig.ledger.get("slack-papers", DATE, 1)
    requests = len(rig.slack.requests)
    await rig.run(edited, [slack_channel()])

    assert old is not None
    assert new is not None
    assert new.status is DeliveryStatus.SENT
    assert new.message_id == old.message_id
    assert new.nonce == old.nonce
    assert new.content_hash != old.content_hash
    # With the new hash stored, the same edited digest sends nothing more.
    assert len(rig.slack.requests) == requests


async def test_discord_edit_patches_same_message(rig: Rig) -> None:
    await rig.run(make_digest(3), [discord_channel()])
    ids = [message["id"] for message in rig.discord.messages(DISCORD_PAPERS)]

    reports = await rig.run(make_digest(3, retitled={3: "Paper 3, revised"}), [discord_channel()])

    (edit,) = rig.discord.edits(DISCORD_PAPERS)
    assert edit.path.endswith(f"/messages/{ids[3]}")
    assert "nonce" not in edit.body
    assert "enforce_nonce" not in edit.body
    assert edit.body["allowed_mentions"] == {"parse": []}
    assert len(rig.discord.creates()) == 4
    stored = rig.discord.messages(DISCORD_PAPERS)
    assert [message["id"] for message in stored] == ids
    assert "Paper 3, revised" in stored[3]["embeds"][0]["title"]
    assert stored[3]["edited_timestamp"] is not None
    assert reports[0].updated == 1


async def test_ignore_keeps_messages_and_logs_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    channels = [slack_channel(EditPolicy.IGNORE), discord_channel(EditPolicy.IGNORE)]
    await rig.run(make_digest(3), channels)
    edited = make_digest(3, retitled={1: "Paper 1, revised", 2: "Paper 2, revised"})

    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        reports = await rig.run(edited, channels)

    assert rig.slack.updates() == []
    assert rig.discord.edits() == []
    assert all("revised" not in m["text"] for m in rig.slack.messages(SLACK_PAPERS))
    assert [(report.updated, report.skipped) for report in reports] == [(0, 3), (0, 3)]
    kept = [r.getMessage() for r in caplog.records if "on_edit: ignore" in r.getMessage()]
    assert kept == [
        "2 sent messages in slack-papers differ from the changed digest of 2025-09-23 and are"
        " kept, because the channel has on_edit: ignore",
        "2 sent messages in discord-papers differ from the changed digest of 2025-09-23 and are"
        " kept, because the channel has on_edit: ignore",
    ]


async def test_unchanged_digest_not_edited(rig: Rig) -> None:
    channels = [slack_channel(), discord_channel()]
    await rig.run(make_digest(3), channels)
    requests = len(rig.slack.requests) + len(rig.discord.requests)

    reports = await rig.run(make_digest(3), channels)

    assert len(rig.slack.requests) + len(rig.discord.requests) == requests
    assert [(report.updated, report.skipped) for report in reports] == [(0, 3), (0, 3)]
    assert rig.kinds(ProgressKind.UPDATED) == []


async def test_new_paper_posted_after_others(rig: Rig) -> None:
    await rig.run(make_digest(2), [slack_channel(header=False)])

    reports = await rig.run(make_digest(3), [slack_channel(header=False)])

    assert slack_paper_numbers(rig.slack.messages(SLACK_PAPERS)) == [1, 2, 3]
    assert rig.slack.updates() == []
    assert (reports[0].posted, reports[0].skipped) == (1, 2)


async def test_header_edited_when_papers_added(rig: Rig) -> None:
    await rig.run(make_digest(2), [slack_channel()])
    header_ts = rig.slack.messages(SLACK_PAPERS)[0]["ts"]
    header_before = rig.slack.messages(SLACK_PAPERS)[0]["text"]

    await rig.run(make_digest(3), [slack_channel()])

    updated_ts = [request.body["ts"] for request in rig.slack.updates()]
    header_after = rig.slack.messages(SLACK_PAPERS)[0]["text"]
    # The header names the number of papers, so it changes with them.
    assert header_before != header_after
    assert updated_ts == [header_ts]
    assert slack_paper_numbers(rig.slack.messages(SLACK_PAPERS)) == [0, 1, 2, 3]
    # The header is not a paper, so it has no UPDATED event.
    assert rig.kinds(ProgressKind.UPDATED) == []


async def test_removed_paper_left_and_logged(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    await rig.run(make_digest(3), [discord_channel(header=False)])

    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        reports = await rig.run(make_digest(2), [discord_channel(header=False)])

    assert len(rig.discord.messages(DISCORD_PAPERS)) == 3
    assert rig.discord.edits() == []
    assert reports[0].ok
    removed = [
        r.getMessage() for r in caplog.records if "no longer in the digest" in r.getMessage()
    ]
    assert removed == [
        "papers 3 of 2025-09-23 are no longer in the digest; their messages in"
        " discord-papers are kept"
    ]


@pytest.mark.parametrize("platform", list(Platform))
async def test_edit_429_and_5xx_retried(rig: Rig, platform: Platform) -> None:
    if platform is Platform.SLACK:
        channel, fake, endpoint = slack_channel(header=False), rig.slack, "chat.update"
    else:
        channel, fake, endpoint = discord_channel(header=False), rig.discord, "edit_message"
    await rig.run(make_digest(2), [channel])
    fake.inject(endpoint, RateLimit(retry_after=3), ServerError(503))
    sleeps_before = len(rig.clock.sleeps)

    reports = await rig.run(make_digest(2, retitled={2: "Paper 2, revised"}), [channel])

    assert reports[0].ok
    assert reports[0].updated == 1
    retries = [e.wait_seconds for e in rig.events if e.kind is ProgressKind.RETRYING]
    # The backoff doubles with every retry of the message, the 429 included.
    assert retries == [3.0, 2.0]
    assert 3.0 in rig.clock.sleeps[sleeps_before:]
    statuses = [request.status for request in fake.requests if request.endpoint == endpoint]
    assert statuses == [429, 503, 200]
    assert posts(fake) == 2


async def test_edit_permanent_error_isolates_channel(rig: Rig) -> None:
    channels = [slack_channel(), discord_channel()]
    await rig.run(make_digest(3), channels)
    deleted = rig.slack.messages(SLACK_PAPERS).pop(2)  # paper 2, deleted by someone in Slack
    old_record = await rig.ledger.get("slack-papers", DATE, 2)
    edited = make_digest(3, retitled={2: "Paper 2, revised", 3: "Paper 3, revised"})

    slack_report, discord_report = await rig.run(edited, channels)

    assert slack_report.error is not None
    assert "paper 2 not updated" in slack_report.error
    assert "message_not_found" in slack_report.error
    assert (slack_report.skipped, slack_report.updated, slack_report.failed) == (1, 0, 2)
    assert discord_report.ok
    assert discord_report.updated == 2
    assert rig.kinds(ProgressKind.FAILED) == [2]
    # The ledger keeps paper 2 as sent with the old hash: a later run must not post it again.
    assert await rig.ledger.get("slack-papers", DATE, 2) == old_record
    assert [r.body["ts"] for r in rig.slack.updates()] == []
    assert deleted["ts"] not in [m["ts"] for m in rig.slack.messages(SLACK_PAPERS)]
    assert posts(rig.slack) == 4


@pytest.mark.parametrize("platform", list(Platform))
async def test_thread_reply_edited_in_thread(rig: Rig, platform: Platform) -> None:
    channel = (
        slack_channel(thread=True) if platform is Platform.SLACK else discord_channel(thread=True)
    )
    await rig.run(make_digest(2), [channel])

    await rig.run(make_digest(2, retitled={1: "Paper 1, revised"}), [channel])

    if platform is Platform.SLACK:
        header, first, _ = rig.slack.messages(SLACK_PAPERS)
        (update,) = rig.slack.updates()
        assert update.body["channel"] == SLACK_PAPERS
        assert update.body["ts"] == first["ts"]
        assert "thread_ts" not in update.body
        assert first["thread_ts"] == header["ts"]
        assert "Paper 1, revised" in first["text"]
    else:
        thread_id = rig.discord.messages(DISCORD_PAPERS)[0]["id"]
        first = rig.discord.messages(thread_id)[0]
        (edit,) = rig.discord.edits()
        assert edit.channel == thread_id
        assert edit.path.endswith(f"/messages/{first['id']}")
        assert "Paper 1, revised" in first["embeds"][0]["title"]


def test_slack_update_body_drops_post_fields() -> None:
    payload = {
        "channel": SLACK_PAPERS,
        "thread_ts": "1.000001",
        "text": "fallback",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
        "metadata": {"event_type": "paperbot_paper", "event_payload": {"paper": 1}},
        "unfurl_links": False,
        "unfurl_media": False,
    }

    body = update_body("C0OTHER", "1.000002", payload)

    assert body == {
        "channel": "C0OTHER",
        "ts": "1.000002",
        "parse": "none",
        "text": "fallback",
        "blocks": payload["blocks"],
        "metadata": payload["metadata"],
    }


async def test_fake_slack_rejects_post_fields_on_update(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack_api.TOKEN, base_url=fake_slack.api_url)
    posted = await client.chat_postMessage(channel=SLACK_PAPERS, text="first")

    with pytest.raises(SlackSdkApiError) as raised:
        await client.chat_update(
            channel=SLACK_PAPERS, ts=posted["ts"], text="second", unfurl_links=False
        )
    with pytest.raises(SlackSdkApiError) as too_long:
        await client.chat_update(channel=SLACK_PAPERS, ts=posted["ts"], text="x" * 40_001)

    assert raised.value.response["error"] == "invalid_arguments"
    assert too_long.value.response["error"] == "msg_too_long"
    assert fake_slack.messages(SLACK_PAPERS)[0]["text"] == "first"


async def test_fake_discord_rejects_nonce_on_edit(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    from discord.http import Route

    posted = await discord_poster.post(Target(DISCORD_PAPERS), {"content": "first"})
    http = await discord_poster._client()
    route = Route(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=DISCORD_PAPERS,
        message_id=posted.message_id,
    )

    with pytest.raises(Exception, match="50035"):
        await http.request(route, json={"content": "second", "nonce": "abc"})
    too_long = await _edit_status(discord_poster, posted.message_id, {"content": "x" * 2001})

    assert too_long == "400"
    assert fake_discord.messages(DISCORD_PAPERS)[0]["content"] == "first"


async def _edit_status(poster: DiscordPoster, message_id: str, body: dict[str, Any]) -> str:
    try:
        await poster.update(Target(DISCORD_PAPERS), message_id, body)
    except PermanentError as error:
        return str(error).split("HTTP ", 1)[1][:3]
    return "200"


def test_metrics_count_updated_papers() -> None:
    metrics = Metrics()
    event = ProgressEvent("papers", Platform.SLACK, ProgressKind.UPDATED, done=1, total=2, paper=1)

    metrics.observe(event)

    assert 'paperbot_messages_updated_total{platform="slack"} 1.0' in metrics.render().decode()


# --- lost responses ---------------------------------------------------------------------


@pytest.mark.parametrize("thread", [False, True], ids=["channel", "thread"])
async def test_slack_lost_response_posted_once(rig: Rig, thread: bool) -> None:
    # The header and paper 1 go through; paper 2's response is lost after Slack stored it.
    channel = slack_channel(thread=thread)
    await rig.run(make_digest(1), [channel])
    rig.slack.inject("chat.postMessage", DropAfterProcessing())

    reports = await rig.run(make_digest(3), [channel])

    assert reports[0].ok
    assert slack_paper_numbers(rig.slack.messages(SLACK_PAPERS)) == [0, 1, 2, 3]
    lookup = "conversations.replies" if thread else "conversations.history"
    assert [r.endpoint for r in rig.slack.requests].count(lookup) == 1
    record = await rig.ledger.get("slack-papers", DATE, 2)
    assert record is not None
    assert record.status is DeliveryStatus.SENT
    assert record.message_id == rig.slack.messages(SLACK_PAPERS)[2]["ts"]
    assert rig.kinds(ProgressKind.RETRYING) == [2]
    assert rig.kinds(ProgressKind.POSTED) == [2, 3]


async def test_slack_lost_header_posted_once(rig: Rig) -> None:
    rig.slack.inject("chat.postMessage", DropAfterProcessing())

    reports = await rig.run(make_digest(2), [slack_channel(thread=True)])

    assert reports[0].ok
    header, *replies = rig.slack.messages(SLACK_PAPERS)
    assert slack_paper_numbers([header, *replies]) == [0, 1, 2]
    assert [reply["thread_ts"] for reply in replies] == [header["ts"], header["ts"]]


async def test_discord_lost_response_posted_once(rig: Rig) -> None:
    rig.discord.inject("create_message", DropAfterProcessing(), DropAfterProcessing())

    reports = await rig.run(make_digest(2), [discord_channel()])

    assert reports[0].ok
    assert len(rig.discord.messages(DISCORD_PAPERS)) == 3
    nonces = [message["nonce"] for message in rig.discord.messages(DISCORD_PAPERS)]
    assert len(set(nonces)) == 3


async def test_slack_lookup_failure_retried_before_post(rig: Rig) -> None:
    rig.slack.inject("chat.postMessage", DropAfterProcessing())
    rig.slack.inject("conversations.history", ServerError(500))

    reports = await rig.run(make_digest(1), [slack_channel(header=False)])

    assert reports[0].ok
    assert slack_paper_numbers(rig.slack.messages(SLACK_PAPERS)) == [1]
    assert [r.status for r in rig.slack.requests if r.endpoint == "conversations.history"] == [
        500,
        200,
    ]
    # Exactly one chat.postMessage: no post happened between the failed and the good lookup.
    assert len([r for r in rig.slack.requests if r.endpoint == "chat.postMessage"]) == 1


async def test_slack_5xx_looks_up_then_posts(rig: Rig) -> None:
    # A 500 before processing leaves nothing in Slack, so the lookup finds nothing.
    rig.slack.inject("chat.postMessage", ServerError(500))

    reports = await rig.run(make_digest(1), [slack_channel(header=False)])

    assert reports[0].ok
    assert slack_paper_numbers(rig.slack.messages(SLACK_PAPERS)) == [1]
    assert [r.endpoint for r in rig.slack.requests] == [
        "chat.postMessage",
        "conversations.history",
        "chat.postMessage",
    ]


async def test_slack_429_not_looked_up(rig: Rig) -> None:
    rig.slack.inject("chat.postMessage", RateLimit(retry_after=2))

    await rig.run(make_digest(1), [slack_channel(header=False)])

    assert [r.endpoint for r in rig.slack.requests] == ["chat.postMessage", "chat.postMessage"]


async def test_slack_timeout_after_processing_posted_once(start_server: StartServer) -> None:
    clock = FakeClock()
    fake = await start_server(FakeSlack(slack_channels(), clock=clock))
    # aiohttp's timeout runs on the wall clock, so it is kept short.
    poster = SlackPoster(slack_config(fake), request_timeout_seconds=0.2)
    fake.inject("chat.postMessage", HangAfterProcessing())
    try:
        posters: dict[Platform, Poster] = {Platform.SLACK: poster}
        channels = [slack_channel(header=False)]
        reports = await deliver(make_digest(2), channels, posters, MemoryLedger(), clock)
    finally:
        fake.release()
        await poster.close()

    assert reports[0].ok
    assert slack_paper_numbers(fake.messages(SLACK_PAPERS)) == [1, 2]


async def test_in_flight_record_found_not_resent(rig: Rig) -> None:
    await rig.run(make_digest(2), [slack_channel()])
    # A crash after Slack accepted paper 2 but before the ledger's SENT write.
    record = await rig.ledger.get("slack-papers", DATE, 2)
    assert record is not None
    await rig.ledger.put(
        dataclasses.replace(record, status=DeliveryStatus.IN_FLIGHT, message_id=None)
    )

    reports = await rig.run(make_digest(2), [slack_channel()])

    assert reports[0].ok
    assert slack_paper_numbers(rig.slack.messages(SLACK_PAPERS)) == [0, 1, 2]
    fixed = await rig.ledger.get("slack-papers", DATE, 2)
    assert fixed is not None
    assert fixed.message_id == record.message_id


class RepliesRejectedSlack(FakeSlack):
    """Rejects conversations.replies as Slack's method reference says it may for bot tokens."""

    async def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        raise SlackApiError("not_allowed_token_type")


async def test_replies_rejected_still_delivers(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    fake = await start_server(RepliesRejectedSlack(slack_channels(), clock=clock))
    poster = SlackPoster(slack_config(fake))
    posters: dict[Platform, Poster] = {Platform.SLACK: poster}
    ledger = MemoryLedger()
    channel = slack_channel(thread=True)
    try:
        await deliver(make_digest(1), [channel], posters, ledger, clock)
        # Paper 2 fails before Slack stores it, so its retry needs a thread lookup.
        fake.inject("chat.postMessage", ServerError(500))
        with caplog.at_level(logging.WARNING, logger="bot.platforms.slack.poster"):
            reports = await deliver(make_digest(2), [channel], posters, ledger, clock)
    finally:
        await poster.close()

    assert reports[0].ok
    assert slack_paper_numbers(fake.messages(SLACK_PAPERS)) == [0, 1, 2]
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert rejected == [
        "conversations.replies rejected in C0PAPERS (not_allowed_token_type);"
        " paper 2 is sent again without a check"
    ]


# --- the daily job ----------------------------------------------------------------------

TEN_PAPERS = FIXTURES / "digests" / "2025-08-29-daily-papers-20250829.md"
DAY = dt.date(2025, 8, 29)
SEOUL = dt.timezone(dt.timedelta(hours=9))
SCHEDULE = ScheduleConfig(time=dt.time(8, 30), timezone="Asia/Seoul", poll_interval_minutes=10)
OLD_TITLE = b"rStar2-Agent: Agentic Reasoning Technical Report"
NEW_TITLE = b"rStar2-Agent: Agentic Reasoning Technical Report (v2)"


def seoul(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 8, 29, hour, minute, tzinfo=SEOUL).astimezone(dt.UTC)


class EditedSource:
    """Serves the reference digest, edited from `edit_at` on; marks re-reads as unchanged."""

    def __init__(self, clock: FakeClock, edit_at: dt.datetime | None) -> None:
        self.clock = clock
        self.edit_at = edit_at
        self.fetches = 0
        self._last: bytes | None = None

    async def fetch(self, day: dt.date) -> FetchedDigest | None:
        self.fetches += 1
        data = TEN_PAPERS.read_bytes()
        if self.edit_at is not None and self.clock.now() >= self.edit_at:
            data = data.replace(OLD_TITLE, NEW_TITLE)
        changed, self._last = data != self._last, data
        return FetchedDigest(data=data, name=str(TEN_PAPERS), changed=changed)

    async def close(self) -> None:
        pass


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.sqlite3", clock=FakeClock())
    yield opened
    await opened.close()


@pytest.fixture
def daily_posters(
    slack_poster: SlackPoster, discord_poster: DiscordPoster
) -> dict[Platform, Poster]:
    return {Platform.SLACK: slack_poster, Platform.DISCORD: discord_poster}


def daily_config(tmp_path: Path, *channels: ChannelConfig) -> Config:
    return Config(
        path=tmp_path / "config.yaml",
        channels=channels,
        schedule=SCHEDULE,
        delivery=DeliveryConfig(max_retries=2),
    )


WATCHED = (
    ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS, on_edit=EditPolicy.UPDATE),
    ChannelConfig("slack-digest", Platform.SLACK, SLACK_DIGEST),
    ChannelConfig(
        "discord-papers", Platform.DISCORD, DISCORD_PAPERS, header=False, on_edit=EditPolicy.UPDATE
    ),
)


async def test_daily_edit_after_post_updates_channels(
    tmp_path: Path,
    store: Store,
    daily_posters: dict[Platform, Poster],
    fake_slack: FakeSlack,
    fake_discord: FakeDiscord,
) -> None:
    clock = FakeClock(seoul(8, 30))
    source = EditedSource(clock, edit_at=seoul(9, 5))
    job = DailyJob(daily_config(tmp_path, *WATCHED), store, source, daily_posters, clock)

    outcome = await job.run_day(plan_day(seoul(8, 30), SCHEDULE))

    assert outcome is DayOutcome.POSTED
    # Polls every 10 minutes from 08:30 to the 12:00 deadline, both ends included.
    assert source.fetches == 22
    assert clock.now() == seoul(12, 0)
    (update,) = fake_slack.updates()
    assert update.channel == SLACK_PAPERS
    assert "(v2)" in fake_slack.messages(SLACK_PAPERS)[2]["text"]
    assert len(fake_slack.posts(SLACK_PAPERS)) == 11
    assert [m for m in fake_slack.messages(SLACK_DIGEST) if "(v2)" in m["text"]] == []
    assert fake_slack.updates(SLACK_DIGEST) == []
    (edit,) = fake_discord.edits(DISCORD_PAPERS)
    assert "(v2)" in fake_discord.messages(DISCORD_PAPERS)[1]["embeds"][0]["title"]
    assert len(fake_discord.creates(DISCORD_PAPERS)) == 10


async def test_daily_ignore_only_stops_after_post(
    tmp_path: Path,
    store: Store,
    daily_posters: dict[Platform, Poster],
    fake_slack: FakeSlack,
) -> None:
    clock = FakeClock(seoul(8, 30))
    source = EditedSource(clock, edit_at=seoul(9, 5))
    channels = (ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS),)
    job = DailyJob(daily_config(tmp_path, *channels), store, source, daily_posters, clock)

    outcome = await job.run_day(plan_day(seoul(8, 30), SCHEDULE))

    assert outcome is DayOutcome.POSTED
    assert source.fetches == 1
    assert clock.now() < seoul(8, 31)


async def test_daily_restart_applies_missed_edit(
    tmp_path: Path,
    store: Store,
    daily_posters: dict[Platform, Poster],
    fake_slack: FakeSlack,
    fake_discord: FakeDiscord,
) -> None:
    clock = FakeClock(seoul(8, 30))
    config = daily_config(tmp_path, *WATCHED)
    first = DailyJob(config, store, EditedSource(clock, edit_at=None), daily_posters, clock)
    await first.run_day(plan_day(seoul(8, 30), SCHEDULE))
    # A crash after the store saved the edited digest but before any message was edited.
    clock.set(seoul(10, 0))
    edited = parse_digest(TEN_PAPERS.read_bytes().replace(OLD_TITLE, NEW_TITLE), str(TEN_PAPERS))
    await store.save_digest(edited, digest_hash(edited))

    restarted = DailyJob(
        config, store, EditedSource(clock, edit_at=seoul(10, 0)), daily_posters, clock
    )
    plan = await restarted._edit_watch_plan()
    assert plan is not None
    outcome = await restarted.run_day(plan)

    assert outcome is DayOutcome.ALREADY_POSTED
    assert await store.get_value(COMPLETED_DATE_KEY) == "2025-08-29"
    assert len(fake_slack.updates(SLACK_PAPERS)) == 1
    assert len(fake_discord.edits(DISCORD_PAPERS)) == 1
    assert len(fake_slack.posts(SLACK_PAPERS)) == 11


async def test_reconcile_finds_thread_reply(
    tmp_path: Path,
    store: Store,
    daily_posters: dict[Platform, Poster],
    fake_slack: FakeSlack,
) -> None:
    clock = FakeClock(seoul(8, 30))
    channel = ChannelConfig("slack-papers", Platform.SLACK, SLACK_PAPERS, thread=True)
    ledger = store.ledger()
    await DailyJob(
        daily_config(tmp_path, channel), store, EditedSource(clock, None), daily_posters, clock
    ).run_day(plan_day(seoul(8, 30), SCHEDULE))
    record = await ledger.get("slack-papers", DAY, 4)
    assert record is not None
    await ledger.put(dataclasses.replace(record, status=DeliveryStatus.IN_FLIGHT, message_id=None))

    fixed = await reconcile_in_flight(ledger, [channel], daily_posters, DAY)

    assert fixed == 1
    found = await ledger.get("slack-papers", DAY, 4)
    assert found is not None
    assert found.status is DeliveryStatus.SENT
    assert found.message_id == record.message_id
    header = await ledger.get("slack-papers", DAY, HEADER_PAPER)
    assert header is not None
    replies = [r for r in fake_slack.requests if r.endpoint == "conversations.replies"]
    assert [r.body["ts"] for r in replies] == [header.message_id]
