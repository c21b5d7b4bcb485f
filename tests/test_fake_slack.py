"""The fake Slack Web API, driven by slack_sdk's AsyncWebClient and by raw aiohttp requests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack_api
from tests.fakes.clock import FakeClock
from tests.fakes.fixtures import (
    SLACK_NOT_MEMBER,
    SLACK_PAPERS,
    SLACK_PRIVATE,
    StartServer,
    slack_channels,
)
from tests.fakes.server import RateLimit, ServerError
from tests.fakes.slack_api import FakeSlack

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture
async def client(fake_slack: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    web_client = AsyncWebClient(
        token=slack_api.TOKEN, base_url=fake_slack.api_url, retry_handlers=[]
    )
    yield web_client


async def test_fake_slack_form_body_accepted(client: AsyncWebClient, fake_slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]

    await client.api_call(
        "chat.postMessage",
        data={"channel": SLACK_PAPERS, "text": "hi", "blocks": json.dumps(blocks)},
    )

    request = fake_slack.requests[0]
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.body["blocks"] == blocks
    assert fake_slack.messages(SLACK_PAPERS)[0]["blocks"] == blocks


async def test_fake_slack_token_checked(fake_slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        url = fake_slack.api_url + "auth.test"
        async with session.post(url) as response:
            missing = await response.json()
        async with session.post(url, data={"token": "xoxb-wrong"}) as response:
            wrong = await response.json()
        async with session.post(url, data={"token": slack_api.TOKEN}) as response:
            form_token = await response.json()

    assert missing == {"ok": False, "error": "not_authed"}
    assert wrong == {"ok": False, "error": "invalid_auth"}
    assert form_token["ok"] is True


async def test_fake_slack_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.scheduleMessage", json={"channel": SLACK_PAPERS})

    assert raised.value.response["error"] == "unknown_method"


async def test_fake_slack_invalid_blocks_lists_errors(client: AsyncWebClient) -> None:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]

    with pytest.raises(SlackApiError) as raised:
        await client.api_call(
            "chat.postMessage", json={"channel": SLACK_PAPERS, "text": "t", "blocks": blocks}
        )

    assert raised.value.response["error"] == "invalid_blocks"
    assert any("151" in problem for problem in raised.value.response["errors"])


async def test_fake_slack_history_pages_and_metadata(
    client: AsyncWebClient, fake_slack: FakeSlack
) -> None:
    metadata = {"event_type": "paper_posted", "event_payload": {"paper": 1}}
    sent = []
    for number in range(5):
        response = await client.chat_postMessage(
            channel=SLACK_PAPERS, text=f"m{number}", metadata=metadata
        )
        sent.append(response["ts"])
    await client.chat_postMessage(channel=SLACK_PAPERS, text="reply", thread_ts=sent[0])

    first = await client.conversations_history(channel=SLACK_PAPERS, limit=3)
    second = await client.conversations_history(
        channel=SLACK_PAPERS, limit=3, cursor=first["response_metadata"]["next_cursor"]
    )
    with_metadata = await client.conversations_history(
        channel=SLACK_PAPERS, oldest=sent[3], include_all_metadata=True
    )

    assert [m["ts"] for m in first["messages"]] == sent[:1:-1]
    assert first["has_more"] is True
    assert [m["ts"] for m in second["messages"]] == [sent[1], sent[0]]
    assert second["has_more"] is False
    assert "metadata" not in first["messages"][0]
    assert [m["ts"] for m in with_metadata["messages"]] == [sent[4]]
    assert with_metadata["messages"][0]["metadata"] == metadata


async def test_fake_slack_join_and_info(client: AsyncWebClient) -> None:
    before = await client.conversations_info(channel=SLACK_NOT_MEMBER)
    await client.conversations_join(channel=SLACK_NOT_MEMBER)
    after = await client.conversations_info(channel=SLACK_NOT_MEMBER)
    posted = await client.chat_postMessage(channel=SLACK_NOT_MEMBER, text="now a member")

    assert before["channel"]["is_member"] is False
    assert after["channel"]["is_member"] is True
    assert posted["ok"] is True


async def test_fake_slack_private_join_rejected(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_join(channel=SLACK_PRIVATE)

    assert raised.value.response["error"] == "method_not_supported_for_channel_type"


async def test_fake_slack_update_unknown_ts(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel=SLACK_PAPERS, ts="1.000001", text="edited")

    assert raised.value.response["error"] == "message_not_found"


async def test_fake_slack_injected_faults_in_order(
    client: AsyncWebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.inject("chat.postMessage", RateLimit(retry_after=2.5), ServerError(503))
    statuses = []
    for _ in range(3):
        try:
            await client.chat_postMessage(channel=SLACK_PAPERS, text="hi")
            statuses.append(200)
        except SlackApiError as error:
            statuses.append(error.response.status_code)
            if error.response.status_code == 429:
                assert error.response.headers["Retry-After"] == "3"

    assert statuses == [429, 503, 200]
    assert fake_slack.pending_faults("chat.postMessage") == 0
    assert [r.status for r in fake_slack.requests] == [429, 503, 200]


async def test_fake_slack_rate_window(start_server: StartServer) -> None:
    clock = FakeClock()
    fake = await start_server(FakeSlack(slack_channels(), rate_limit=(2, 10.0), clock=clock))
    client = AsyncWebClient(token=slack_api.TOKEN, base_url=fake.api_url, retry_handlers=[])

    await client.chat_postMessage(channel=SLACK_PAPERS, text="1")
    clock.advance(4.0)
    await client.chat_postMessage(channel=SLACK_PAPERS, text="2")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=SLACK_PAPERS, text="3")
    clock.advance(6.0)
    await client.chat_postMessage(channel=SLACK_PAPERS, text="4")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "6"
    assert [m["text"] for m in fake.messages(SLACK_PAPERS)] == ["1", "2", "4"]
