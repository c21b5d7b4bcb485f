"""`paperbot run` with its `/paper` connectors: Socket Mode and HTTP mode inside the service."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.config import Config, Platform, SlackConfig
from bot.connectors import build_connectors
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.slack.poster import SlackPoster
from bot.service import Service
from tests.fakes.clock import FakeClock
from tests.fakes.discord_gateway import APPLICATION_ID, FakeDiscordApp, FakeGateway
from tests.fakes.fixtures import DISCORD_PAPERS, SLACK_PAPERS, discord_channels, discord_config
from tests.fakes.slack_api import TOKEN, SlackChannel
from tests.fakes.slack_socket import APP_TOKEN, FakeSlackSocket
from tests.test_service import GUARD_SECONDS, ParkingClock, get_json, make_config, seoul

SIGNING_SECRET = "connector-test-signing-secret"
# Name of the service's daily job task, whose parking sleep `JobParkingClock` reports.
DAILY_JOB_TASK = "daily-job"
# A connector's retry after a rejected token waits this long, which parks it in these tests.
SLOW_RETRY_SECONDS = 300.0


class JobParkingClock(ParkingClock):
    """A ParkingClock whose `idle` means that the daily job parked.

    The connectors retry on the same clock: their short delays pass at once, and their
    slow retry parks without setting `idle`.
    """

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name() == DAILY_JOB_TASK:
            await super().sleep(seconds)
            return
        if seconds >= SLOW_RETRY_SECONDS:
            await asyncio.Future()
        await FakeClock.sleep(self, seconds)


@pytest.fixture
async def slack():
    server = FakeSlackSocket([SlackChannel(SLACK_PAPERS, "papers")])
    await server.start()
    yield server
    await server.close()


def slack_only_config(tmp_path: Path, slack: FakeSlackSocket, **slack_settings: object) -> Config:
    config = make_config(tmp_path)
    settings: dict[str, object] = {
        "bot_token": TOKEN,
        "app_token": APP_TOKEN,
        "api_url": slack.api_url,
        "min_interval_seconds": 0,
    }
    settings.update(slack_settings)
    slack_channels = tuple(c for c in config.channels if c.platform is Platform.SLACK)
    return dataclasses.replace(config, channels=slack_channels, slack=SlackConfig(**settings))


async def start_service(config: Config, clock: ParkingClock) -> tuple[Service, asyncio.Task[int]]:
    poster = SlackPoster(config.slack)
    service = Service(
        config,
        clock=clock,
        posters={Platform.SLACK: poster},
        connectors=build_connectors,
        environ={},
    )
    running = asyncio.create_task(service.run())
    async with asyncio.timeout(GUARD_SECONDS):
        await service.wait_started()
        await clock.idle.wait()
    return service, running


async def stop_service(service: Service, running: asyncio.Task[int]) -> int:
    service.stop()
    async with asyncio.timeout(GUARD_SECONDS):
        return await running


async def test_socket_mode_answers_paper_from_posted_digest(tmp_path, slack):
    clock = ParkingClock(seoul(29, 9, 0))
    service, running = await start_service(slack_only_config(tmp_path, slack), clock)

    await slack.wait_connected()
    envelope = await slack.slash_command("3", channel_id=SLACK_PAPERS)
    ack = await slack.wait_ack(envelope)
    [response] = await slack.wait_responses(envelope)
    status, health = await get_json(service, "/healthz")
    exit_code = await stop_service(service, running)

    assert exit_code == 0
    assert ack.envelope_id == envelope.envelope_id
    assert response.body["response_type"] == "ephemeral"
    headers = [b["text"]["text"] for b in response.body["blocks"] if b["type"] == "header"]
    assert headers[0].startswith("3. ")
    assert status == 200
    assert health["connectors"] == {"slack-commands": "connected"}


async def test_rejected_app_token_reported_in_health(tmp_path, slack):
    clock = JobParkingClock(seoul(29, 9, 0))
    config = slack_only_config(tmp_path, slack, app_token="xapp-1-wrong")
    service, running = await start_service(config, clock)

    status, health = await get_json(service, "/healthz")
    exit_code = await stop_service(service, running)

    assert exit_code == 0
    assert status == 503
    assert health["connectors"] == {"slack-commands": "failed"}
    # Posting is independent of the command connection.
    assert len(slack.messages(SLACK_PAPERS)) == 11


async def test_http_mode_serves_signed_commands_on_health_port(tmp_path, slack):
    clock = ParkingClock(seoul(29, 9, 0))
    config = slack_only_config(tmp_path, slack, mode="http", signing_secret=SIGNING_SECRET)
    service, running = await start_service(config, clock)
    body = urlencode(
        {
            "command": "/paper",
            "text": "help",
            "channel_id": SLACK_PAPERS,
            "user_id": "U0ALICE",
            "team_id": "T0FAKE",
            "response_url": f"{slack.origin}/response/http-1",
            "trigger_id": "1.2.3",
        }
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=stamp, body=body
        ),
    }
    url = f"http://127.0.0.1:{service.health_server.port}/slack/events"

    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as signed:
            signed_status = signed.status
        bad_headers = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
        async with session.post(url, data=body, headers=bad_headers) as forged:
            forged_status = forged.status
    await slack.wait_until(
        lambda: any(post.path.endswith("/http-1") for post in slack.responses), "HTTP-mode answer"
    )
    exit_code = await stop_service(service, running)

    assert exit_code == 0
    assert signed_status == 200
    assert forged_status == 401
    [answer] = [p for p in slack.responses if p.path.endswith("/http-1")]
    assert "/paper" in json.dumps(answer.body, ensure_ascii=False)


def test_no_connector_without_command_settings(tmp_path, slack):
    config = slack_only_config(tmp_path, slack, app_token=None)

    assert [c for c in build_connectors_for(config)] == []


def build_connectors_for(config: Config) -> list[object]:
    from bot.service import ConnectorContext

    context = ConnectorContext(config, store=None, clock=None, web_app=None)  # type: ignore[arg-type]
    return build_connectors(context)


async def test_discord_gateway_answers_paper_inside_service(tmp_path, start_server):
    api = await start_server(FakeDiscordApp(discord_channels()))
    gateway = FakeGateway(api)
    await gateway.start()
    config = make_config(tmp_path)
    config = dataclasses.replace(
        config,
        channels=tuple(c for c in config.channels if c.platform is Platform.DISCORD),
        discord=discord_config(api, per_seconds=0, application_id=APPLICATION_ID),
    )
    clock = ParkingClock(seoul(29, 9, 0))
    poster = DiscordPoster(config.discord)
    service = Service(
        config,
        clock=clock,
        posters={Platform.DISCORD: poster},
        connectors=build_connectors,
        environ={},
    )
    running = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(GUARD_SECONDS):
            await service.wait_started()
            await clock.idle.wait()
            await gateway.identified.wait()
        interaction = await gateway.send_command([{"name": "query", "type": 3, "value": "3"}])
        async with asyncio.timeout(GUARD_SECONDS):
            await interaction.followed_up.wait()
        status, health = await get_json(service, "/healthz")
        exit_code = await stop_service(service, running)
    finally:
        await gateway.close()

    assert exit_code == 0
    assert status == 200
    assert health["connectors"] == {"discord-commands": "connected"}
    assert interaction.followup["embeds"][0]["title"].startswith("3. ")
    assert interaction.followup["allowed_mentions"] == {"parse": []}
    assert len(api.messages(DISCORD_PAPERS)) == 11
