"""The `/paper` command connectors that `paperbot run` starts, built from the config.

Slack commands arrive over Socket Mode (an `xapp-` app token, no public URL needed) or as
HTTP requests on the health server's port (a signing secret). Discord commands arrive over
the gateway. A platform
whose settings are missing gets no connector, and the log says what to set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

from bot.arxiv_lookup import ArxivLookup
from bot.commands import PaperService
from bot.config import Config
from bot.reconnect import Backoff, wait_first_attempt
from bot.service import ConnectionState, Connector, ConnectorContext

_log = logging.getLogger(__name__)

# How long start() waits for the first connection attempt before it returns and lets the
# attempt go on in the background. It bounds the delay that a hanging connection adds to
# the start of the daily job.
FIRST_ATTEMPT_SECONDS = 30.0


class SlackCommandConnector:
    """Receives Slack's `/paper` commands and share clicks.

    In Socket Mode a failed `apps.connections.open` is retried in a background task, with
    delays from `Backoff` on the injected clock, until it succeeds or `close()` is called.
    After that first connection, slack_sdk reconnects a dropped socket by itself.
    """

    name = "slack-commands"

    def __init__(self, context: ConnectorContext, service: PaperService) -> None:
        from bot.platforms.slack.app import HTTP_MODE, add_slack_routes, build_slack_app

        self._config = context.config
        self._clock = context.clock
        self._app = build_slack_app(context.config, service)
        self._http = context.config.slack.mode == HTTP_MODE
        if self._http:
            add_slack_routes(context.web_app, self._app.bolt)
        self._connection = None
        self._state = ConnectionState.STARTING
        self._backoff = Backoff()
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()

    async def start(self) -> None:
        """Start connecting and wait for the first attempt, at most `FIRST_ATTEMPT_SECONDS`.

        In HTTP mode the routes are already served. A failed attempt is logged, not raised,
        so posting goes on, /healthz reports `failed`, and the task keeps retrying.
        """
        if self._http:
            self._state = ConnectionState.CONNECTED
            _log.info("Slack /paper served over HTTP at /slack/events")
            return
        self._task = asyncio.create_task(self._keep_connecting(), name="slack-socket-mode")
        if not await wait_first_attempt(self._settled, FIRST_ATTEMPT_SECONDS):
            _log.warning(
                "Slack Socket Mode not connected after %.0f s; still trying", FIRST_ATTEMPT_SECONDS
            )

    async def _keep_connecting(self) -> None:
        try:
            for attempt in itertools.count(1):
                delay = await self._attempt(attempt)
                self._settled.set()
                if delay is None:
                    return
                await self._clock.sleep(delay)
        finally:
            self._settled.set()

    async def _attempt(self, attempt: int) -> float | None:
        """Connect once; return the seconds until the next attempt, or None to stop trying."""
        from bot.platforms.slack.app import SlackStartError, start_socket_mode

        try:
            self._connection = await start_socket_mode(self._app, self._config)
        except ValueError as error:
            # An invalid slack.app_token stays invalid until the config is fixed and paperbot
            # restarts, so retrying cannot help.
            self._state = ConnectionState.FAILED
            _log.error("Slack /paper disabled: %s", error)
            return None
        except SlackStartError as error:
            delay = self._backoff.next_delay(rejected=error.rejected_token)
            self._state = ConnectionState.FAILED
            _log.error(
                "Slack /paper unavailable: attempt %d failed, next attempt in %.0f s: %s",
                attempt,
                delay,
                error,
            )
            return delay
        except Exception:
            delay = self._backoff.next_delay()
            self._state = ConnectionState.FAILED
            _log.exception(
                "Slack /paper unavailable: attempt %d failed on an unexpected error, "
                "next attempt in %.0f s",
                attempt,
                delay,
            )
            return delay
        self._state = ConnectionState.CONNECTED
        if attempt > 1:
            _log.info("Slack /paper available after %d failed attempts", attempt - 1)
        return None

    async def close(self) -> None:
        """Stop retrying, close the connection and let the answers in flight finish."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._connection is not None:
            await self._connection.close()
        await self._app.close()
        self._state = ConnectionState.CLOSED

    def state(self) -> str:
        return str(self._state)


def _slack_enabled(config: Config) -> bool:
    slack = config.slack
    if not slack.bot_token:
        return False
    if slack.mode == "http" and not slack.signing_secret:
        _log.warning(
            "Slack /paper disabled: slack.mode is http but slack.signing_secret is not set"
        )
        return False
    if slack.mode == "socket" and not slack.app_token:
        _log.info("Slack /paper disabled: set slack.app_token (xapp-…) to enable Socket Mode")
        return False
    return True


def _discord_enabled(config: Config) -> bool:
    return bool(config.discord.token)


def build_connectors(context: ConnectorContext) -> list[Connector]:
    """Create a connector for every platform whose command settings are present."""
    config = context.config
    lookup = ArxivLookup(context.store, context.clock)
    service = PaperService(context.store, lookup, context.clock, timezone=config.schedule.timezone)
    connectors: list[Connector] = []
    if _slack_enabled(config):
        connectors.append(SlackCommandConnector(context, service))
    if _discord_enabled(config):
        connectors.append(_discord_connector(context, service))
    return connectors


def _discord_connector(context: ConnectorContext, service: PaperService) -> Connector:
    from bot.platforms.discord.connector import DiscordCommandConnector

    return DiscordCommandConnector(context, service)
