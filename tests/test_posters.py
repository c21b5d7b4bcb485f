"""SlackPoster and DiscordPoster, running slack_sdk and discord.py against the fake servers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.config import DiscordConfig, SlackConfig
from bot.platforms.base import PermanentError, RateLimited, Target, TransientError
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from tests.fakes import discord_api, slack_api
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (
    DISCORD_DIGEST,
    DISCORD_NO_ACCESS,
    DISCORD_PAPERS,
    SLACK_NOT_MEMBER,
    SLACK_PAPERS,
    StartServer,
    discord_channels,
    discord_config,
    slack_config,
)
from tests.fakes.server import Drop, Hang, RateLimit, ServerError
from tests.fakes.slack_api import FakeSlack

pytest_plugins = ["tests.fakes.fixtures"]

# Upper bound for calls that must not wait on a rate limit; it only turns a hang into a failure.
GUARD_SECONDS = 10


def slack_payload(channel: str = SLACK_PAPERS, **extra: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "text": "Paper 1: Test & <b>",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Paper 1"}}],
        "unfurl_links": False,
        "unfurl_media": False,
        **extra,
    }


def discord_payload(**extra: Any) -> dict[str, Any]:
    return {
        "embeds": [{"title": "Paper 1", "description": "Summary", "url": "https://example.org/1"}],
        "allowed_mentions": {"parse": []},
        **extra,
    }


# --- Slack -------------------------------------------------------------------------------


async def test_slack_post_sends_payload_unchanged(
    slack_poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    payload = slack_payload()

    result = await slack_poster.post(Target(SLACK_PAPERS), payload)

    posts = fake_slack.posts(SLACK_PAPERS)
    assert len(posts) == 1
    assert posts[0].body == payload
    assert posts[0].headers["Authorization"] == f"Bearer {slack_api.TOKEN}"
    assert result.message_id == posts[0].message_id
    assert result.channel_id == SLACK_PAPERS


async def test_slack_thread_reply_records_thread_ts(
    slack_poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    parent = await slack_poster.post(Target(SLACK_PAPERS), slack_payload())
    target = await slack_poster.open_thread(SLACK_PAPERS, parent.message_id, "ignored")

    await slack_poster.post(target, slack_payload(thread_ts=parent.message_id))

    stored = fake_slack.messages(SLACK_PAPERS)
    assert target == Target(SLACK_PAPERS, parent.message_id)
    assert stored[1]["thread_ts"] == parent.message_id
    assert len(fake_slack.requests) == 2


@pytest.mark.parametrize(
    ("target", "payload"),
    [
        (Target("C0OTHER"), slack_payload()),
        (Target(SLACK_PAPERS, "1.0"), slack_payload()),
        (Target(SLACK_PAPERS), slack_payload(thread_ts="1.0")),
    ],
)
async def test_slack_post_rejects_misaddressed_payload(
    slack_poster: SlackPoster, fake_slack: FakeSlack, target: Target, payload: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="does not match"):
        await slack_poster.post(target, payload)

    assert fake_slack.requests == []


async def test_slack_invalid_token_is_permanent(fake_slack: FakeSlack) -> None:
    poster = SlackPoster(SlackConfig(bot_token="xoxb-wrong", api_url=fake_slack.api_url))
    try:
        with pytest.raises(PermanentError, match="invalid_auth") as raised:
            await poster.post(Target(SLACK_PAPERS), slack_payload())
    finally:
        await poster.close()

    assert raised.value.code == "invalid_auth"
    assert "xoxb-wrong" not in str(raised.value)


def test_slack_poster_requires_token() -> None:
    with pytest.raises(ValueError, match="bot_token"):
        SlackPoster(SlackConfig(bot_token=None))


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (slack_payload(channel="C0MISSING"), "channel_not_found"),
        (slack_payload(channel=SLACK_NOT_MEMBER), "not_in_channel"),
        (slack_payload(blocks=[{"type": "divider"}] * 51), "invalid_blocks"),
        (slack_payload(text="x" * 40_001), "msg_too_long"),
        ({"channel": SLACK_PAPERS, "text": ""}, "no_text"),
    ],
)
async def test_slack_rejections_are_permanent(
    slack_poster: SlackPoster, payload: dict[str, Any], code: str
) -> None:
    target = Target(payload["channel"])

    with pytest.raises(PermanentError) as raised:
        await slack_poster.post(target, payload)

    assert raised.value.code == code
    assert code in str(raised.value)


async def test_slack_429_surfaces_retry_after(
    slack_poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    fake_slack.inject("chat.postMessage", RateLimit(retry_after=7))

    with pytest.raises(RateLimited) as raised:
        async with asyncio.timeout(GUARD_SECONDS):
            await slack_poster.post(Target(SLACK_PAPERS), slack_payload())

    assert raised.value.retry_after == 7.0
    assert len(fake_slack.requests) == 1


@pytest.mark.parametrize("fault", [ServerError(500), ServerError(503), Drop()])
async def test_slack_server_failures_are_transient(
    slack_poster: SlackPoster, fake_slack: FakeSlack, fault: ServerError | Drop
) -> None:
    fake_slack.inject("chat.postMessage", fault)

    with pytest.raises(TransientError):
        await slack_poster.post(Target(SLACK_PAPERS), slack_payload())

    # slack_sdk's own retry handlers are off, so the fake saw exactly one request.
    assert len(fake_slack.requests) == 1
    assert fake_slack.messages(SLACK_PAPERS) == []


async def test_slack_timeout_is_transient(fake_slack: FakeSlack) -> None:
    # The timeout runs on the wall clock inside aiohttp, so it is kept short.
    poster = SlackPoster(slack_config(fake_slack), request_timeout_seconds=0.2)
    fake_slack.inject("chat.postMessage", Hang())
    try:
        with pytest.raises(TransientError, match="Timeout"):
            await poster.post(Target(SLACK_PAPERS), slack_payload())
    finally:
        fake_slack.release()
        await poster.close()


async def test_slack_update_replaces_message(
    slack_poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    posted = await slack_poster.post(Target(SLACK_PAPERS), slack_payload())

    await slack_poster.update(Target(SLACK_PAPERS), posted.message_id, slack_payload(text="edited"))

    stored = fake_slack.messages(SLACK_PAPERS)
    assert len(stored) == 1
    assert stored[0]["text"] == "edited"
    assert fake_slack.requests[-1].body["ts"] == posted.message_id


async def test_slack_history_returns_metadata_newest_first(
    slack_poster: SlackPoster, fake_slack: FakeSlack
) -> None:
    sent = []
    for number in (1, 2, 3):
        metadata = {"event_type": "paper_posted", "event_payload": {"paper": number}}
        result = await slack_poster.post(Target(SLACK_PAPERS), slack_payload(metadata=metadata))
        sent.append(result.message_id)

    history = await slack_poster.history(SLACK_PAPERS, oldest=sent[0])

    assert [message.ts for message in history] == [sent[2], sent[1]]
    assert history[0].metadata == {"event_type": "paper_posted", "event_payload": {"paper": 3}}


async def test_slack_verify_returns_bot_user(slack_poster: SlackPoster) -> None:
    assert await slack_poster.verify() == slack_api.BOT_USER_ID


# --- Discord -----------------------------------------------------------------------------


async def test_discord_post_sends_payload_unchanged(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    payload = discord_payload(nonce="abc", enforce_nonce=True)

    result = await discord_poster.post(Target(DISCORD_PAPERS), payload)

    creates = fake_discord.creates(DISCORD_PAPERS)
    assert len(creates) == 1
    assert creates[0].body == payload
    assert creates[0].headers["Authorization"] == f"Bot {discord_api.TOKEN}"
    assert result.message_id == creates[0].message_id
    assert result.channel_id == DISCORD_PAPERS


async def test_discord_invalid_token_is_permanent(fake_discord: FakeDiscord) -> None:
    poster = DiscordPoster(DiscordConfig(token="wrong-token", api_base=fake_discord.api_base))
    try:
        with pytest.raises(PermanentError, match="invalid token") as raised:
            await poster.post(Target(DISCORD_PAPERS), discord_payload())
    finally:
        await poster.close()

    assert "wrong-token" not in str(raised.value)
    assert fake_discord.creates() == []


def test_discord_poster_requires_token() -> None:
    with pytest.raises(ValueError, match="discord.token"):
        DiscordPoster(DiscordConfig(token=None))


@pytest.mark.parametrize(
    ("channel_id", "payload", "code"),
    [
        ("1999999999999999999", discord_payload(), str(discord_api.UNKNOWN_CHANNEL)),
        (DISCORD_NO_ACCESS, discord_payload(), str(discord_api.MISSING_ACCESS)),
        (DISCORD_PAPERS, {"content": "x" * 2001}, str(discord_api.INVALID_FORM_BODY)),
        (
            DISCORD_PAPERS,
            discord_payload(embeds=[{"description": "x" * 4097}]),
            str(discord_api.INVALID_FORM_BODY),
        ),
        (DISCORD_PAPERS, {"content": ""}, str(discord_api.EMPTY_MESSAGE)),
    ],
)
async def test_discord_rejections_are_permanent(
    discord_poster: DiscordPoster, channel_id: str, payload: dict[str, Any], code: str
) -> None:
    with pytest.raises(PermanentError) as raised:
        await discord_poster.post(Target(channel_id), payload)

    assert raised.value.code == code


async def test_discord_429_surfaces_without_sleeping(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    # discord.py would sleep 60 s and retry on its own; the poster must raise at once.
    fake_discord.inject("create_message", RateLimit(retry_after=60.25))

    with pytest.raises(RateLimited) as raised:
        async with asyncio.timeout(GUARD_SECONDS):
            await discord_poster.post(Target(DISCORD_PAPERS), discord_payload())

    assert raised.value.retry_after == 60.25
    assert len(fake_discord.requests) == 2  # login (GET /users/@me), then one create
    assert fake_discord.messages(DISCORD_PAPERS) == []


@pytest.mark.parametrize("fault", [ServerError(500), ServerError(502), ServerError(503), Drop()])
async def test_discord_server_failures_are_transient(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord, fault: ServerError | Drop
) -> None:
    fake_discord.inject("create_message", fault)

    with pytest.raises(TransientError):
        async with asyncio.timeout(GUARD_SECONDS):
            await discord_poster.post(Target(DISCORD_PAPERS), discord_payload())

    # discord.py retries 500/502 after sleeping; the poster stops that after one request.
    assert len([r for r in fake_discord.requests if r.endpoint == "create_message"]) == 1


async def test_discord_timeout_is_transient(fake_discord: FakeDiscord) -> None:
    # The timeout runs on the wall clock around the request, so it is kept short.
    poster = DiscordPoster(discord_config(fake_discord), request_timeout_seconds=0.2)
    fake_discord.inject("create_message", Hang())
    try:
        await poster.verify()
        with pytest.raises(TransientError, match="Timeout"):
            await poster.post(Target(DISCORD_PAPERS), discord_payload())
    finally:
        fake_discord.release()
        await poster.close()


async def test_discord_thread_receives_replies(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    header = await discord_poster.post(Target(DISCORD_PAPERS), discord_payload())

    target = await discord_poster.open_thread(DISCORD_PAPERS, header.message_id, "x" * 150)
    reply = await discord_poster.post(target, discord_payload())

    assert target == Target(DISCORD_PAPERS, header.message_id)
    assert reply.channel_id == header.message_id
    assert len(fake_discord.messages(header.message_id)) == 1
    assert len(fake_discord.messages(DISCORD_PAPERS)) == 1
    thread_request = [r for r in fake_discord.requests if r.endpoint == "start_thread"][0]
    assert len(thread_request.body["name"]) == 100


async def test_discord_existing_thread_is_reused(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    header = await discord_poster.post(Target(DISCORD_PAPERS), discord_payload())
    first = await discord_poster.open_thread(DISCORD_PAPERS, header.message_id, "Papers")

    second = await discord_poster.open_thread(DISCORD_PAPERS, header.message_id, "Papers")

    assert second == first
    thread_errors = [r.error for r in fake_discord.requests if r.endpoint == "start_thread"]
    assert thread_errors == [None, str(discord_api.THREAD_ALREADY_CREATED)]


async def test_discord_enforced_nonce_drops_duplicate(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    payload = discord_payload(nonce="n1", enforce_nonce=True)

    first = await discord_poster.post(Target(DISCORD_PAPERS), payload)
    second = await discord_poster.post(Target(DISCORD_PAPERS), payload)

    assert second.message_id == first.message_id
    assert len(fake_discord.messages(DISCORD_PAPERS)) == 1


async def test_discord_update_edits_message(
    discord_poster: DiscordPoster, fake_discord: FakeDiscord
) -> None:
    posted = await discord_poster.post(Target(DISCORD_PAPERS), discord_payload())

    await discord_poster.update(Target(DISCORD_PAPERS), posted.message_id, {"content": "edited"})

    stored = fake_discord.messages(DISCORD_PAPERS)[0]
    assert stored["content"] == "edited"
    assert stored["edited_timestamp"] is not None


async def test_discord_window_429_carries_fraction(start_server: StartServer) -> None:
    fake = await start_server(FakeDiscord(discord_channels(), rate_limit=(1, 30.0)))
    poster = DiscordPoster(discord_config(fake))
    try:
        await poster.post(Target(DISCORD_DIGEST), discord_payload())
        with pytest.raises(RateLimited) as raised:
            async with asyncio.timeout(GUARD_SECONDS):
                await poster.post(Target(DISCORD_DIGEST), discord_payload())
    finally:
        await poster.close()

    assert 29.0 < raised.value.retry_after <= 30.0
    assert len(fake.messages(DISCORD_DIGEST)) == 1


async def test_discord_bucket_headers_parsed(start_server: StartServer) -> None:
    # With X-RateLimit-Remaining: 0 discord.py waits for the bucket reset itself (0.2 s on
    # the wall clock here), so three sends in a 2-per-0.2 s window all succeed.
    fake = await start_server(
        FakeDiscord(discord_channels(), rate_limit=(2, 0.2), bucket_headers=True)
    )
    poster = DiscordPoster(discord_config(fake))
    try:
        for _ in range(3):
            await poster.post(Target(DISCORD_DIGEST), discord_payload())
    finally:
        await poster.close()

    assert len(fake.messages(DISCORD_DIGEST)) == 3
    assert [r.status for r in fake.requests if r.endpoint == "create_message"] == [200] * 3


async def test_discord_verify_returns_bot_user(discord_poster: DiscordPoster) -> None:
    assert await discord_poster.verify() == discord_api.BOT_USER_ID
