"""The Slack bolt app of `/paper`, served over Socket Mode or on an aiohttp web server.

Socket Mode (the default) needs no public address: the bot opens a websocket to Slack
with the app-level `xapp-` token. HTTP mode mounts one route on the aiohttp application
that the service shares with its health server, and bolt checks each request's
signature with the signing secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.platforms.slack.commands import (
    DEFAULT_COMMAND,
    DEFAULT_GRACE_SECONDS,
    AnswerService,
    PaperCommandHandler,
)

_log = logging.getLogger(__name__)

SOCKET_MODE = "socket"
HTTP_MODE = "http"
DEFAULT_EVENTS_PATH = "/slack/events"
APP_TOKEN_PREFIX = "xapp-"


# The logger that slack-bolt 1.x's AsyncApp writes its framework warnings to.
BOLT_FRAMEWORK_LOGGER = "slack_bolt.AsyncApp"


class _TokenSkippedFilter(logging.Filter):
    """Drops bolt's warning that a `client` makes the token unused.

    bolt reads SLACK_BOT_TOKEN from the environment as a default token, so the warning fires
    whenever that variable is set, although the client carries the same token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _quiet_token_warning() -> None:
    logger = logging.getLogger(BOLT_FRAMEWORK_LOGGER)
    if not any(isinstance(f, _TokenSkippedFilter) for f in logger.filters):
        logger.addFilter(_TokenSkippedFilter())


# Web API error codes that reject the token itself rather than the request.
# NOTE: these are common authentication errors of the Web API, not checked against the
# apps.connections.open reference. An unlisted one is retried on the fast schedule.
_REJECTED_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)


class SlackStartError(Exception):
    """Slack rejected the Socket Mode connection, or could not be reached.

    Attributes:
        rejected_token: Slack answered with an authentication error such as `invalid_auth`,
            so retrying soon with the same token is unlikely to help.
    """

    def __init__(self, message: str, *, rejected_token: bool = False) -> None:
        super().__init__(message)
        self.rejected_token = rejected_token


@dataclass
class SlackApp:
    """The bolt app and the `/paper` handler that owns the answers in flight."""

    bolt: AsyncApp
    commands: PaperCommandHandler

    async def close(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        """Let answers in flight finish for `grace_seconds`, then cancel the rest."""
        await self.commands.close(grace_seconds)


def build_slack_app(
    config: Config, service: AnswerService, *, command: str = DEFAULT_COMMAND
) -> SlackApp:
    """Build the bolt app that answers `command` with `service`.

    Web API calls (auth.test, apps.connections.open) go to `config.slack.api_url`.

    Raises:
        ValueError: the bot token is missing, `slack.mode` is unknown, HTTP mode has no
            signing secret, or `command` is not a slash command name.
    """
    slack = config.slack
    if not slack.bot_token:
        raise ValueError("slack.bot_token is missing; set it to the bot's xoxb- token")
    if slack.mode not in (SOCKET_MODE, HTTP_MODE):
        raise ValueError(f"invalid slack.mode {slack.mode!r}: expected socket or http")
    if slack.mode == HTTP_MODE and not slack.signing_secret:
        raise ValueError(
            "slack.signing_secret is missing; HTTP mode needs it to verify Slack's requests"
        )

    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    _quiet_token_warning()
    bolt = AsyncApp(
        client=client,
        # An empty secret keeps bolt from reading SLACK_SIGNING_SECRET from the environment.
        # Socket Mode requests are not signed, so they need none.
        signing_secret=slack.signing_secret or "",
        # Listeners only acknowledge and start a task, so running them before the
        # response is sent costs nothing and the acknowledgement leaves at once.
        process_before_response=True,
    )
    handler = PaperCommandHandler.from_config(config, service)
    handler.register(bolt, command)
    _log.debug("Slack app built for %s in %s mode", command, slack.mode)
    return SlackApp(bolt, handler)


class SocketModeConnection:
    """A running Socket Mode connection; `close()` ends it."""

    def __init__(self, handler: AsyncSocketModeHandler) -> None:
        self._handler = handler

    async def close(self) -> None:
        """Close the websocket and stop reconnecting.

        Answers in flight keep running until `SlackApp.close()`.
        """
        await self._handler.close_async()
        _log.info("Slack Socket Mode connection closed")


async def start_socket_mode(app: SlackApp, config: Config) -> SocketModeConnection:
    """Open a Socket Mode connection that feeds Slack's requests to `app`.

    apps.connections.open goes to the same `slack.api_url` as every other Web API call.
    After this first connection, slack_sdk reconnects on its own when the socket drops.

    Raises:
        ValueError: `slack.app_token` is missing or is not an `xapp-` token.
        SlackStartError: Slack rejected the app token or could not be reached.
    """
    app_token = config.slack.app_token
    if not app_token or not app_token.startswith(APP_TOKEN_PREFIX):
        raise ValueError(
            "slack.app_token is missing or invalid; Socket Mode needs the app-level token "
            "that starts with xapp-"
        )
    handler = AsyncSocketModeHandler(app.bolt, app_token=app_token, web_client=app.bolt.client)
    try:
        await _connect(handler, config.slack.api_url)
    except BaseException:
        # Also on cancellation, so a connector closed during an attempt leaves no session open.
        await handler.close_async()
        raise
    _log.info("Slack Socket Mode connected")
    return SocketModeConnection(handler)


async def _connect(handler: AsyncSocketModeHandler, api_url: str) -> None:
    try:
        # Requested here rather than inside connect(), which retries a rejected token forever.
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
    except SlackApiError as error:
        code = error.response.get("error") or f"HTTP {error.response.status_code}"
        raise SlackStartError(
            f"apps.connections.open failed with {code}. Check slack.app_token and that "
            "Socket Mode is enabled for the app",
            rejected_token=code in _REJECTED_TOKEN_ERRORS,
        ) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise SlackStartError(f"apps.connections.open at {api_url} failed: {error!r}") from error
    await handler.connect_async()


def add_slack_routes(
    web_app: web.Application, bolt_app: AsyncApp, path: str = DEFAULT_EVENTS_PATH
) -> None:
    """Serve Slack's slash command and interactivity requests at POST `path` of `web_app`.

    Bolt rejects a request with 401 when its signature does not match the signing
    secret or its timestamp is more than 5 minutes away from the server's clock.
    """

    async def dispatch(request: web.Request) -> web.Response:
        bolt_response = await bolt_app.async_dispatch(await to_bolt_request(request))
        if bolt_response.status != 200:
            _log.warning("Slack request to %s rejected with HTTP %d", path, bolt_response.status)
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(path, dispatch)
