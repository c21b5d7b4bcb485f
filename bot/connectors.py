"""The `/paper` command connectors that `paperbot run` starts, built from the config.

Slack commands arrive over Socket Mode (an `xapp-` app token, no public URL needed) or as
HTTP requests on the health server's port (a signing secret). Discord commands arrive over
the gateway. A platform
whose settings are missing gets no connector, and the log says what to set.
"""

from __future__ import annotations

import logging

from bot.arxiv_lookup import ArxivLookup
from bot.commands import PaperService
from bot.config import Config
from bot.service import ConnectionState, Connector, ConnectorContext

_log = logging.getLogger(__name__)


class SlackCommandConnector:
    """Receives Slack's `/paper` commands and share clicks."""

    name = "slack-commands"

    def __init__(self, context: ConnectorContext, service: PaperService) -> None:
        from bot.platforms.slack.app import HTTP_MODE, add_slack_routes, build_slack_app

        self._config = context.config
        self._app = build_slack_app(context.config, service)
        self._http = context.config.slack.mode == HTTP_MODE
        if self._http:
            add_slack_routes(context.web_app, self._app.bolt)
        self._connection = None
        self._state = ConnectionState.STARTING

    async def start(self) -> None:
        """Open the Socket Mode connection; in HTTP mode the routes are already served.

        A refused connection is logged, not raised, so posting goes on and /healthz reports it.
        """
        from bot.platforms.slack.app import SlackStartError, start_socket_mode

        if self._http:
            self._state = ConnectionState.CONNECTED
            _log.info("Slack /paper served over HTTP at /slack/events")
            return
        try:
            self._connection = await start_socket_mode(self._app, self._config)
        except SlackStartError as error:
            self._state = ConnectionState.FAILED
            _log.error("Slack /paper unavailable: %s", error)
            return
        self._state = ConnectionState.CONNECTED

    async def close(self) -> None:
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
