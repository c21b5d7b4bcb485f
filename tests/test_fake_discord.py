"""The fake Discord REST API, driven by raw aiohttp requests so status codes and headers show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes import discord_api
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (
    DISCORD_NO_ACCESS,
    DISCORD_PAPERS,
    StartServer,
    discord_channels,
)
from tests.fakes.server import RateLimit

pytest_plugins = ["tests.fakes.fixtures"]

AUTH = {"Authorization": f"Bot {discord_api.TOKEN}"}
EMBED = {"title": "Paper 1", "description": "Summary"}


class Api:
    """Sends JSON requests to a fake and returns (status, headers, body)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def __call__(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        async with self.session.request(
            method, self.base + path, json=body, headers=AUTH if headers is None else headers
        ) as response:
            return response.status, dict(response.headers), await response.json()


@pytest.fixture
async def api(fake_discord: FakeDiscord) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, fake_discord.api_base)


async def test_fake_discord_rejects_bad_token(api: Api) -> None:
    status, _, body = await api("GET", "/users/@me", headers={"Authorization": "Bot wrong"})

    assert status == 401
    assert body == {"message": "401: Unauthorized", "code": 0}


async def test_fake_discord_json_content_type(api: Api) -> None:
    _, headers, body = await api("GET", "/users/@me")

    # discord.py decodes a body as JSON only for exactly this Content-Type.
    assert headers["Content-Type"] == "application/json"
    assert body["id"] == discord_api.BOT_USER_ID


async def test_fake_discord_channel_errors(api: Api) -> None:
    unknown = await api("POST", "/channels/42/messages", {"embeds": [EMBED]})
    no_access = await api("POST", f"/channels/{DISCORD_NO_ACCESS}/messages", {"embeds": [EMBED]})
    info = await api("GET", f"/channels/{DISCORD_PAPERS}")

    assert (unknown[0], unknown[2]["code"]) == (404, discord_api.UNKNOWN_CHANNEL)
    assert (no_access[0], no_access[2]["code"]) == (403, discord_api.MISSING_ACCESS)
    assert info[2]["id"] == DISCORD_PAPERS
    assert info[2]["type"] == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [EMBED] * 11}, "embeds"),
        ({"embeds": [{"title": "x" * 257}]}, "title"),
        ({"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]}, "total"),
        ({"content": "hi", "nonce": "n" * 26}, "nonce"),
    ],
)
async def test_fake_discord_limits_give_50035(
    api: Api, body: dict[str, Any], fragment: str
) -> None:
    status, _, answer = await api("POST", f"/channels/{DISCORD_PAPERS}/messages", body)

    assert status == 400
    assert answer["code"] == discord_api.INVALID_FORM_BODY
    messages = [error["message"] for error in answer["errors"]["_errors"]]
    assert any(fragment in message for message in messages), messages


async def test_fake_discord_empty_message(api: Api) -> None:
    status, _, answer = await api("POST", f"/channels/{DISCORD_PAPERS}/messages", {"content": ""})

    assert status == 400
    assert answer["code"] == discord_api.EMPTY_MESSAGE


async def test_fake_discord_nonce_needs_enforce(api: Api, fake_discord: FakeDiscord) -> None:
    path = f"/channels/{DISCORD_PAPERS}/messages"
    loose = {"content": "hi", "nonce": "n1"}

    first = await api("POST", path, loose)
    second = await api("POST", path, loose)

    assert first[2]["id"] != second[2]["id"]
    assert len(fake_discord.messages(DISCORD_PAPERS)) == 2


async def test_fake_discord_nonce_window_expires(start_server: StartServer) -> None:
    clock = FakeClock()
    fake = await start_server(FakeDiscord(discord_channels(), clock=clock))
    body = {"content": "hi", "nonce": "n1", "enforce_nonce": True}
    async with aiohttp.ClientSession() as session:
        api = Api(session, fake.api_base)
        path = f"/channels/{DISCORD_PAPERS}/messages"
        first = await api("POST", path, body)
        clock.advance(discord_api.NONCE_WINDOW_SECONDS - 1)
        repeat = await api("POST", path, body)
        clock.advance(2)
        late = await api("POST", path, body)

    assert repeat[2]["id"] == first[2]["id"]
    assert late[2]["id"] != first[2]["id"]
    assert len(fake.messages(DISCORD_PAPERS)) == 2


async def test_fake_discord_thread_rules(api: Api, fake_discord: FakeDiscord) -> None:
    _, _, message = await api("POST", f"/channels/{DISCORD_PAPERS}/messages", {"content": "hi"})
    threads = f"/channels/{DISCORD_PAPERS}/messages/{message['id']}/threads"

    unnamed = await api("POST", threads, {"name": ""})
    created = await api("POST", threads, {"name": "Papers"})
    again = await api("POST", threads, {"name": "Papers"})
    missing = await api("POST", f"/channels/{DISCORD_PAPERS}/messages/7/threads", {"name": "x"})

    assert (unnamed[0], unnamed[2]["code"]) == (400, discord_api.INVALID_FORM_BODY)
    assert "name" in unnamed[2]["errors"]
    assert created[2]["id"] == message["id"]
    assert created[2]["parent_id"] == DISCORD_PAPERS
    assert (again[0], again[2]["code"]) == (400, discord_api.THREAD_ALREADY_CREATED)
    assert (missing[0], missing[2]["code"]) == (404, discord_api.UNKNOWN_MESSAGE)


async def test_fake_discord_429_headers(api: Api, fake_discord: FakeDiscord) -> None:
    fake_discord.inject("create_message", RateLimit(retry_after=1.5))

    status, headers, body = await api("POST", f"/channels/{DISCORD_PAPERS}/messages", EMBED)

    assert status == 429
    assert body == {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
    assert headers["Retry-After"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Reset-After"] == "1.500"
    assert headers["Via"] == "1.1 google"
    assert fake_discord.messages(DISCORD_PAPERS) == []


async def test_fake_discord_pings_follow_allowed_mentions(
    api: Api, fake_discord: FakeDiscord
) -> None:
    path = f"/channels/{DISCORD_PAPERS}/messages"
    content = "hi @everyone <@123> <@&456>"

    await api("POST", path, {"content": content})
    await api("POST", path, {"content": content, "allowed_mentions": {"parse": ["users"]}})
    await api("POST", path, {"content": content, "allowed_mentions": {"parse": []}})

    pings = [message["pings"] for message in fake_discord.messages(DISCORD_PAPERS)]
    assert pings == [["@everyone", "<@123>", "<@&456>"], ["<@123>"], []]


async def test_fake_discord_gateway_points_home(api: Api, fake_discord: FakeDiscord) -> None:
    _, _, body = await api("GET", "/gateway/bot")

    assert body["url"] == f"ws://127.0.0.1:{fake_discord.port}"
    assert body["shards"] == 1
