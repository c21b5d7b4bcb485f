"""The `/paper` connectors retry a failed first connection, with backoff on the injected clock.

Each fake rejects the first connections, then accepts them. The connector-level tests use a
clock whose sleeps wait until the test wakes them, so a test can check the connector's state
during a delay and close it then. The service-level tests run `paperbot run` in-process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.arxiv_lookup import ArxivLookup
from bot.commands import PaperService
from bot.config import Config, Platform
from bot.connectors import SlackCommandConnector, build_connectors
from bot.platforms.discord.connector import DiscordCommandConnector
from bot.platforms.discord.poster import DiscordPoster
from bot.reconnect import Backoff
from bot.service import ConnectorContext, Service
from bot.store import Store
from tests.fakes.clock import FakeClock
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_gateway import APPLICATION_ID, FakeDiscordApp, FakeGateway
from tests.fakes.fixtures import DISCORD_PAPERS, SLACK_PAPERS, discord_channels, discord_config
from tests.fakes.server import RecordedRequest, ServerError
from tests.fakes.slack_api import TOKEN as SLACK_TOKEN
from tests.fakes.slack_api import SlackChannel
from tests.fakes.slack_socket import APP_TOKEN, FakeSlackSocket
from tests.test_connectors import JobParkingClock, slack_only_config, start_service, stop_service
from tests.test_service import GUARD_SECONDS, get_json, make_config, seoul

OPEN_CONNECTION = "apps.connections.open"
GET_ME = "get_me"
GET_GATEWAY_BOT = "get_gateway_bot"
SLACK_LOGGER = "bot.connectors"
DISCORD_LOGGER = "bot.platforms.discord.connector"


class SteppedClock(FakeClock):
    """A FakeClock whose sleeps wait until `wake()`, then advance the virtual time."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        woken = asyncio.get_running_loop().create_future()
        entry = (seconds, woken)
        self.pending.append(entry)
        async with self._changed:
            self._changed.notify_all()
        try:
            await woken
        finally:
            if entry in self.pending:
                self.pending.remove(entry)
        self.advance(seconds)

    async def next_sleep(self) -> float:
        """Wait until something sleeps on this clock and return the seconds it asked for."""
        async with self._changed, asyncio.timeout(GUARD_SECONDS):
            await self._changed.wait_for(lambda: bool(self.pending))
        return self.pending[0][0]

    def wake(self) -> None:
        """End the oldest sleep."""
        _seconds, woken = self.pending.pop(0)
        woken.set_result(None)


class LogWaiter(logging.Handler):
    """Sets `seen` when a record whose message contains `text` reaches the logger."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.INFO)
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()

    async def wait(self) -> None:
        async with asyncio.timeout(GUARD_SECONDS):
            await self.seen.wait()


@pytest.fixture
def log_waiter(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[str, str], LogWaiter]]:
    """Return a function that attaches a `LogWaiter` to a logger until the test ends."""
    attached: list[tuple[logging.Logger, LogWaiter]] = []

    def attach(logger_name: str, text: str) -> LogWaiter:
        # The logger passes INFO records to its handlers only at INFO or below.
        caplog.set_level(logging.INFO, logger=logger_name)
        logger = logging.getLogger(logger_name)
        waiter = LogWaiter(text)
        logger.addHandler(waiter)
        attached.append((logger, waiter))
        return waiter

    yield attach
    for logger, waiter in attached:
        logger.removeHandler(waiter)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
async def store(clock: SteppedClock) -> AsyncIterator[Store]:
    opened = await Store.open(":memory:", clock=clock)
    yield opened
    await opened.close()


@pytest.fixture
def service(store: Store, clock: SteppedClock) -> PaperService:
    return PaperService(store, ArxivLookup(store, clock), clock)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackSocket]:
    server = FakeSlackSocket([SlackChannel(SLACK_PAPERS, "papers")])
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def discord_api(start_server) -> FakeDiscordApp:
    return await start_server(FakeDiscordApp(discord_channels()))


@pytest.fixture
async def gateway(discord_api: FakeDiscordApp) -> AsyncIterator[FakeGateway]:
    server = FakeGateway(discord_api)
    await server.start()
    yield server
    await server.close()


def context_for(config: Config, store: Store, clock: SteppedClock) -> ConnectorContext:
    return ConnectorContext(config, store, clock, web.Application())


def requests_to(server: FakeSlackSocket, endpoint: str) -> list[RecordedRequest]:
    return [request for request in server.requests if request.endpoint == endpoint]


def failed_attempt_logs(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    messages = [record.getMessage() for record in caplog.records if record.name == logger]
    return [message for message in messages if "next attempt in" in message]


def discord_only_config(tmp_path: Path, api: FakeDiscordApp, **discord_settings: object) -> Config:
    config = make_config(tmp_path)
    settings: dict[str, object] = {"per_seconds": 0, "application_id": APPLICATION_ID}
    settings.update(discord_settings)
    return dataclasses.replace(
        config,
        channels=tuple(c for c in config.channels if c.platform is Platform.DISCORD),
        discord=discord_config(api, **settings),
    )


# Backoff


def test_backoff_doubles_up_to_five_minutes():
    backoff = Backoff()

    delays = [backoff.next_delay() for _ in range(8)]

    assert delays == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]


def test_backoff_rejected_waits_maximum():
    backoff = Backoff()
    backoff.next_delay()

    assert backoff.next_delay(rejected=True) == 300.0
    assert backoff.next_delay(rejected=True) == 300.0
    assert backoff.next_delay() == 10.0


def test_backoff_reset_starts_again():
    backoff = Backoff()
    for _ in range(4):
        backoff.next_delay()

    backoff.reset()

    assert backoff.next_delay() == 5.0


@pytest.mark.parametrize(("first", "maximum"), [(0.0, 300.0), (-1.0, 300.0), (10.0, 5.0)])
def test_backoff_rejects_invalid_bounds(first: float, maximum: float):
    with pytest.raises(ValueError, match="invalid backoff"):
        Backoff(first, maximum)


# Slack Socket Mode


async def test_slack_retries_until_socket_opens(
    tmp_path, slack, store, service, clock, caplog, log_waiter
):
    slack.inject(OPEN_CONNECTION, ServerError(503), ServerError(503))
    connected = log_waiter(SLACK_LOGGER, "Slack /paper available after 2 failed attempts")
    connector = SlackCommandConnector(
        context_for(slack_only_config(tmp_path, slack), store, clock), service
    )
    states = [connector.state()]

    try:
        await connector.start()
        states.append(connector.state())
        first_delay = await clock.next_sleep()
        clock.wake()
        second_delay = await clock.next_sleep()
        states.append(connector.state())
        clock.wake()
        await connected.wait()
        states.append(connector.state())
        await slack.wait_connected()
        envelope = await slack.slash_command("help", channel_id=SLACK_PAPERS)
        [response] = await slack.wait_responses(envelope)
    finally:
        await connector.close()

    assert states == ["starting", "failed", "failed", "connected"]
    assert (first_delay, second_delay) == (5.0, 10.0)
    assert len(requests_to(slack, OPEN_CONNECTION)) == 3
    assert response.status == 200
    assert connector.state() == "closed"
    logs = failed_attempt_logs(caplog, SLACK_LOGGER)
    assert len(logs) == 2
    assert "attempt 1 failed" in logs[0]
    assert "next attempt in 5 s" in logs[0]
    assert "next attempt in 10 s" in logs[1]
    assert APP_TOKEN not in caplog.text
    assert SLACK_TOKEN not in caplog.text


async def test_slack_rejected_token_retried_slowly(
    tmp_path, slack, store, service, clock, caplog, log_waiter
):
    slack.app_token = "xapp-1-A0FAKEAPP-1-other"
    connected = log_waiter(SLACK_LOGGER, "Slack /paper available after 2 failed attempts")
    connector = SlackCommandConnector(
        context_for(slack_only_config(tmp_path, slack), store, clock), service
    )

    try:
        await connector.start()
        state_after_start = connector.state()
        first_delay = await clock.next_sleep()
        clock.wake()
        second_delay = await clock.next_sleep()
        # The operator fixes the app, for example by switching Socket Mode on again.
        slack.app_token = APP_TOKEN
        clock.wake()
        await connected.wait()
        state_after_fix = connector.state()
    finally:
        await connector.close()

    assert state_after_start == "failed"
    assert (first_delay, second_delay) == (300.0, 300.0)
    assert state_after_fix == "connected"
    logs = failed_attempt_logs(caplog, SLACK_LOGGER)
    assert len(logs) == 2
    assert all("invalid_auth" in line for line in logs)
    assert APP_TOKEN not in caplog.text
    assert "xapp-1-A0FAKEAPP-1-other" not in caplog.text


async def test_slack_close_during_backoff_returns(tmp_path, slack, store, service, clock):
    slack.inject(OPEN_CONNECTION, ServerError(503))
    connector = SlackCommandConnector(
        context_for(slack_only_config(tmp_path, slack), store, clock), service
    )
    await connector.start()
    delay = await clock.next_sleep()

    # The clock never ends this sleep by itself, so only a cancelled retry lets close() return.
    async with asyncio.timeout(GUARD_SECONDS):
        await connector.close()

    assert delay == 5.0
    assert connector.state() == "closed"
    assert clock.pending == []
    assert len(requests_to(slack, OPEN_CONNECTION)) == 1
    assert not slack.connected


async def test_slack_invalid_app_token_not_retried(tmp_path, slack, store, service, clock, caplog):
    config = slack_only_config(tmp_path, slack, app_token=SLACK_TOKEN)
    connector = SlackCommandConnector(context_for(config, store, clock), service)

    try:
        await connector.start()
        state = connector.state()
    finally:
        await connector.close()

    assert state == "failed"
    assert clock.sleeps == []
    assert requests_to(slack, OPEN_CONNECTION) == []
    assert "Slack /paper disabled: slack.app_token is missing or invalid" in caplog.text
    assert SLACK_TOKEN not in caplog.text


async def test_slack_connected_at_once_never_sleeps(tmp_path, slack, store, service, clock):
    connector = SlackCommandConnector(
        context_for(slack_only_config(tmp_path, slack), store, clock), service
    )

    try:
        await connector.start()
        state = connector.state()
    finally:
        await connector.close()

    assert state == "connected"
    assert clock.sleeps == []


# Discord gateway


async def test_discord_retries_until_login_succeeds(
    tmp_path, discord_api, gateway, store, service, clock, caplog, log_waiter
):
    discord_api.inject(GET_ME, ServerError(503), ServerError(503))
    ready = log_waiter(DISCORD_LOGGER, "Discord /paper available after 2 failed attempts")
    connector = DiscordCommandConnector(
        context_for(discord_only_config(tmp_path, discord_api), store, clock), service
    )
    states = [connector.state()]

    try:
        await connector.start()
        states.append(connector.state())
        first_delay = await clock.next_sleep()
        clock.wake()
        second_delay = await clock.next_sleep()
        states.append(connector.state())
        clock.wake()
        await ready.wait()
        states.append(connector.state())
        interaction = await gateway.send_command([{"name": "query", "type": 3, "value": "help"}])
        async with asyncio.timeout(GUARD_SECONDS):
            await interaction.followed_up.wait()
    finally:
        await connector.close()

    assert states == ["starting", "failed", "failed", "connected"]
    assert (first_delay, second_delay) == (5.0, 10.0)
    assert len(discord_api.requests_to(GET_ME)) == 3
    assert interaction.followup["allowed_mentions"] == {"parse": []}
    assert connector.state() == "closed"
    logs = failed_attempt_logs(caplog, DISCORD_LOGGER)
    assert len(logs) == 2
    assert "next attempt in 5 s" in logs[0]
    assert "next attempt in 10 s" in logs[1]
    assert DISCORD_TOKEN not in caplog.text


async def test_discord_rejected_token_retried_slowly(
    tmp_path, discord_api, gateway, store, service, clock, caplog, log_waiter
):
    token = "revoked-discord-token"
    ready = log_waiter(DISCORD_LOGGER, "Discord /paper available after 2 failed attempts")
    config = discord_only_config(tmp_path, discord_api, token=token)
    connector = DiscordCommandConnector(context_for(config, store, clock), service)

    try:
        await connector.start()
        state_after_start = connector.state()
        first_delay = await clock.next_sleep()
        clock.wake()
        second_delay = await clock.next_sleep()
        # Discord accepts the token again.
        discord_api.token = token
        clock.wake()
        await ready.wait()
        state_after_fix = connector.state()
    finally:
        await connector.close()

    assert state_after_start == "failed"
    assert (first_delay, second_delay) == (300.0, 300.0)
    assert state_after_fix == "connected"
    assert gateway.identified.is_set()
    logs = failed_attempt_logs(caplog, DISCORD_LOGGER)
    assert len(logs) == 2
    assert all("Improper token" in line for line in logs)
    assert token not in caplog.text


async def test_discord_close_during_backoff_returns(
    tmp_path, discord_api, gateway, store, service, clock
):
    discord_api.inject(GET_ME, ServerError(503))
    connector = DiscordCommandConnector(
        context_for(discord_only_config(tmp_path, discord_api), store, clock), service
    )
    await connector.start()
    delay = await clock.next_sleep()

    async with asyncio.timeout(GUARD_SECONDS):
        await connector.close()

    assert delay == 5.0
    assert connector.state() == "closed"
    assert clock.pending == []
    assert len(discord_api.requests_to(GET_ME)) == 1
    assert not gateway.identified.is_set()


# Inside `paperbot run`


async def test_service_slack_paper_after_failed_connections(tmp_path, slack, caplog):
    slack.inject(OPEN_CONNECTION, ServerError(503), ServerError(503))
    clock = JobParkingClock(seoul(29, 9, 0))
    service, running = await start_service(slack_only_config(tmp_path, slack), clock)

    await slack.wait_connected()
    envelope = await slack.slash_command("3", channel_id=SLACK_PAPERS)
    [response] = await slack.wait_responses(envelope)
    status, health = await get_json(service, "/healthz")
    exit_code = await stop_service(service, running)

    assert exit_code == 0
    headers = [b["text"]["text"] for b in response.body["blocks"] if b["type"] == "header"]
    assert headers[0].startswith("3. ")
    assert status == 200
    assert health["connectors"] == {"slack-commands": "connected"}
    assert len(failed_attempt_logs(caplog, SLACK_LOGGER)) == 2
    assert APP_TOKEN not in caplog.text


async def test_service_discord_paper_after_failed_connections(
    tmp_path, discord_api, gateway, log_waiter
):
    discord_api.inject(GET_GATEWAY_BOT, ServerError(503), ServerError(503))
    ready = log_waiter(DISCORD_LOGGER, "Discord /paper available after 2 failed attempts")
    config = discord_only_config(tmp_path, discord_api)
    clock = JobParkingClock(seoul(29, 9, 0))
    service = Service(
        config,
        clock=clock,
        posters={Platform.DISCORD: DiscordPoster(config.discord)},
        connectors=build_connectors,
        environ={},
    )
    running = asyncio.create_task(service.run())

    async with asyncio.timeout(GUARD_SECONDS):
        await service.wait_started()
        await clock.idle.wait()
        await gateway.identified.wait()
    interaction = await gateway.send_command([{"name": "query", "type": 3, "value": "3"}])
    async with asyncio.timeout(GUARD_SECONDS):
        await interaction.followed_up.wait()
    await ready.wait()
    status, health = await get_json(service, "/healthz")
    exit_code = await stop_service(service, running)

    assert exit_code == 0
    assert status == 200
    assert health["connectors"] == {"discord-commands": "connected"}
    assert len(discord_api.requests_to(GET_GATEWAY_BOT)) == 3
    assert interaction.followup["embeds"][0]["title"].startswith("3. ")
    assert len(discord_api.messages(DISCORD_PAPERS)) == 11
