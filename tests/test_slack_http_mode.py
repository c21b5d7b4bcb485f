"""`/paper` on Slack in HTTP mode: bolt's signature check and answers through response_url.

The bolt app is mounted with `add_slack_routes` on an aiohttp server that the test starts
on 127.0.0.1, and requests are signed with slack_sdk's SignatureVerifier as Slack signs
them. Web API calls and response_url POSTs go to the fake Slack server.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.commands import PaperService
from bot.i18n import Translator
from bot.platforms.slack.answers import SHARE_ACTION_ID
from bot.platforms.slack.app import SlackApp, add_slack_routes, build_slack_app
from bot.platforms.slack.commands import ShareRequest
from tests import test_slack_commands as socket_mode_tests
from tests.fakes.slack_socket import TEAM_ID, FakeSlackSocket, ResponsePost, block_actions_payload
from tests.test_slack_commands import ACK_DEADLINE_SECONDS, KOREAN_CHANNEL, make_config

# The archive, arXiv and Slack fakes of the Socket Mode tests.
digest = socket_mode_tests.digest
store = socket_mode_tests.store
arxiv_api = socket_mode_tests.arxiv_api
service = socket_mode_tests.service
slack = socket_mode_tests.slack

SIGNING_SECRET = "fake-signing-secret-for-tests"
EVENTS_PATH = "/slack/events"
# Bolt rejects a request whose timestamp is more than 5 minutes from its clock.
REPLAY_AGE_SECONDS = 6 * 60


@pytest.fixture
async def http_bot(slack: FakeSlackSocket, service: PaperService):
    config = make_config(slack, mode="http", signing_secret=SIGNING_SECRET)
    app = build_slack_app(config, service)
    web_app = web.Application()
    add_slack_routes(web_app, app.bolt, EVENTS_PATH)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield app, f"http://127.0.0.1:{port}{EVENTS_PATH}"
    await app.close()
    await runner.cleanup()


def command_body(slack: FakeSlackSocket, text: str, path: str) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "channel_id": KOREAN_CHANNEL,
            "user_id": "U0ALICE",
            "command": "/paper",
            "text": text,
            "response_url": f"{slack.origin}{path}",
            "trigger_id": "1.2.3",
        }
    )


def signed_headers(body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET):
    # Bolt compares the timestamp with its own wall clock, so a valid request carries the
    # current time. No test waits on this clock or asserts about it.
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


async def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str, float]:
    """POST to the app; return status, body and the event loop time the answer arrived."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=headers) as response,
    ):
        text = await response.text()
        return response.status, text, asyncio.get_running_loop().time()


async def responses_at(slack: FakeSlackSocket, path: str, count: int) -> list[ResponsePost]:
    def arrived() -> list[ResponsePost]:
        return [post for post in slack.responses if post.path == path]

    await slack.wait_until(lambda: len(arrived()) >= count, f"{count} POSTs to {path}")
    return arrived()


async def test_signed_command_answered(
    slack: FakeSlackSocket, http_bot: tuple[SlackApp, str]
) -> None:
    _, url = http_bot
    body = command_body(slack, "3", "/response/http-1")
    sent_at = asyncio.get_running_loop().time()

    status, text, answered_at = await post(url, body, signed_headers(body))
    [response] = await responses_at(slack, "/response/http-1", 1)

    assert status == 200
    assert text == ""
    assert answered_at - sent_at < ACK_DEADLINE_SECONDS
    assert answered_at <= response.received_at
    assert response.body["response_type"] == "ephemeral"
    assert response.body["blocks"][1]["text"]["text"].startswith("3. EpiCache")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"secret": "another-secret"}, id="wrong-secret"),
        pytest.param({"timestamp": -REPLAY_AGE_SECONDS}, id="replayed"),
        pytest.param({"timestamp": REPLAY_AGE_SECONDS}, id="future"),
    ],
)
async def test_bad_signature_rejected(
    slack: FakeSlackSocket, http_bot: tuple[SlackApp, str], headers: dict[str, Any]
) -> None:
    app, url = http_bot
    body = command_body(slack, "3", "/response/http-bad")
    if "timestamp" in headers:
        # Correctly signed, but stamped outside bolt's 5-minute window.
        headers = {"timestamp": int(time.time()) + headers["timestamp"]}

    status, _, _ = await post(url, body, signed_headers(body, **headers))

    assert status == 401
    assert app.commands.pending == 0
    assert slack.responses == []
    # Rejected before authorization, so not even auth.test was called.
    assert slack.requests == []


async def test_tampered_body_rejected(
    slack: FakeSlackSocket, http_bot: tuple[SlackApp, str]
) -> None:
    app, url = http_bot
    body = command_body(slack, "3", "/response/http-tampered")
    headers = signed_headers(body)
    tampered = body.replace("text=3", "text=999")

    status, _, _ = await post(url, tampered, headers)

    assert status == 401
    assert app.commands.pending == 0


async def test_unsigned_request_rejected(
    slack: FakeSlackSocket, http_bot: tuple[SlackApp, str]
) -> None:
    _, url = http_bot
    body = command_body(slack, "3", "/response/http-unsigned")

    status, _, _ = await post(url, body, {"Content-Type": "application/x-www-form-urlencoded"})

    assert status == 401
    assert slack.responses == []


async def test_get_not_allowed(http_bot: tuple[SlackApp, str]) -> None:
    _, url = http_bot
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 405


async def test_share_click_over_http(
    slack: FakeSlackSocket, http_bot: tuple[SlackApp, str]
) -> None:
    _, url = http_bot
    path = "/response/http-share"
    value = ShareRequest("2025-09-23 3", "ko").encode()
    payload = block_actions_payload(SHARE_ACTION_ID, value, response_url=f"{slack.origin}{path}")
    body = urlencode({"payload": json.dumps(payload)})

    status, _, _ = await post(url, body, signed_headers(body))
    shared, removal = await responses_at(slack, path, 2)

    assert status == 200
    assert shared.body["response_type"] == "in_channel"
    assert shared.body["blocks"][1]["text"]["text"].startswith("3. EpiCache")
    assert removal.body["delete_original"] is True


async def test_http_bad_input_localized(
    slack: FakeSlackSocket, http_bot: tuple[SlackApp, str]
) -> None:
    _, url = http_bot
    body = command_body(slack, "0", "/response/http-zero")

    status, _, _ = await post(url, body, signed_headers(body))
    [response] = await responses_at(slack, "/response/http-zero", 1)

    assert status == 200
    assert response.body["text"] == Translator("ko")("error_invalid_number")
