"""The Discord gateway client as a connector of `paperbot run`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

import aiohttp
import discord

from bot.commands import PaperService
from bot.platforms.discord.commands import PaperClient
from bot.reconnect import Backoff, wait_first_attempt
from bot.service import ConnectionState, ConnectorContext

_log = logging.getLogger(__name__)

# How long start() waits for READY before it returns and leaves the client connecting.
READY_TIMEOUT_SECONDS = 30.0

# Gateway close code 4004, "Authentication failed" (Discord "Gateway Close Event Codes").
_AUTHENTICATION_FAILED = 4004


class DiscordCommandConnector:
    """Holds the gateway connection that receives `/paper`.

    discord.py reconnects a dropped gateway connection by itself. When the client stops on
    an error instead (a failed login, `GET /gateway/bot` failing, a fatal close code), a new
    client is started after a delay from `Backoff` on the injected clock, until `close()`.
    """

    name = "discord-commands"

    def __init__(self, context: ConnectorContext, service: PaperService) -> None:
        self._config = context.config
        self._service = service
        self._store = context.store
        self._clock = context.clock
        # Built here so that an invalid token or application id fails at start-up.
        self._client = self._new_client()
        self._backoff = Backoff()
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        self._failed_attempts = 0
        self._closing = False

    def _new_client(self) -> PaperClient:
        config = self._config
        return PaperClient(
            config.discord,
            self._service,
            self._store,
            default_locale=config.locale,
            ready_callback=self._on_ready,
        )

    async def start(self) -> None:
        """Connect in a background task and wait for READY, at most `READY_TIMEOUT_SECONDS`.

        A rejected token or an unreachable API is logged, not raised, so posting goes on,
        /healthz reports `failed`, and the task keeps retrying.
        """
        self._task = asyncio.create_task(self._keep_connecting(), name="discord-gateway")
        if not await wait_first_attempt(self._settled, READY_TIMEOUT_SECONDS):
            _log.warning(
                "Discord gateway not ready after %.0f s; still trying", READY_TIMEOUT_SECONDS
            )

    def _on_ready(self) -> None:
        if self._failed_attempts:
            _log.info("Discord /paper available after %d failed attempts", self._failed_attempts)
        self._failed_attempts = 0
        self._backoff.reset()
        self._settled.set()

    async def _keep_connecting(self) -> None:
        try:
            for attempt in itertools.count(1):
                error = await self._serve(self._client)
                if self._closing:
                    return
                self._failed_attempts += 1
                delay = self._backoff.next_delay(rejected=_is_rejected_token(error))
                _log.error(
                    "Discord /paper unavailable: attempt %d failed, next attempt in %.0f s: %s",
                    attempt,
                    delay,
                    error,
                )
                self._settled.set()
                await self._clock.sleep(delay)
                self._client = self._new_client()
        finally:
            self._settled.set()

    async def _serve(self, client: PaperClient) -> BaseException | str:
        """Run `client` until it stops; return the error it stopped on, closing it first."""
        try:
            await client.serve()
        except (discord.DiscordException, OSError, aiohttp.ClientError, TimeoutError) as error:
            return error
        except Exception as error:
            _log.exception("Discord client stopped on an unexpected error")
            return error
        finally:
            await client.close()
        return "the gateway connection ended"

    async def close(self) -> None:
        """Stop retrying and close the client."""
        self._closing = True
        await self._client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # A retry may have built a new client before the task was cancelled.
        await self._client.close()

    def state(self) -> str:
        if self._closing:
            return str(ConnectionState.CLOSED)
        if self._client.is_ready():
            return str(ConnectionState.CONNECTED)
        if self._failed_attempts:
            return str(ConnectionState.FAILED)
        return str(ConnectionState.STARTING)


def _is_rejected_token(error: BaseException | str) -> bool:
    if isinstance(error, discord.LoginFailure):
        return True
    return isinstance(error, discord.ConnectionClosed) and error.code == _AUTHENTICATION_FAILED
