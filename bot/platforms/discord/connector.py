"""The Discord gateway client as a connector of `paperbot run`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.commands import PaperService
from bot.platforms.discord.commands import PaperClient
from bot.service import ConnectionState, ConnectorContext

_log = logging.getLogger(__name__)

# How long start() waits for READY before it returns and leaves the client connecting.
READY_TIMEOUT_SECONDS = 30.0


class DiscordCommandConnector:
    """Holds the gateway connection that receives `/paper`; discord.py reconnects by itself."""

    name = "discord-commands"

    def __init__(self, context: ConnectorContext, service: PaperService) -> None:
        config = context.config
        self._client = PaperClient(
            config.discord, service, context.store, default_locale=config.locale
        )
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    async def start(self) -> None:
        """Connect in a background task and wait for READY, at most `READY_TIMEOUT_SECONDS`.

        A rejected token or an unreachable gateway is logged, not raised, so posting goes on
        and /healthz reports the failure.
        """
        self._task = asyncio.create_task(self._serve(), name="discord-gateway")
        ready = asyncio.create_task(self._client.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._task, ready}, timeout=READY_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if not done:
            _log.warning(
                "Discord gateway not ready after %.0f s; still trying", READY_TIMEOUT_SECONDS
            )

    async def _serve(self) -> None:
        try:
            await self._client.serve()
        except (discord.DiscordException, OSError) as error:
            self._failed = True
            _log.error("Discord /paper unavailable: %s", error)
        except Exception:
            self._failed = True
            _log.exception("Discord client stopped on an error; /paper is unavailable")

    async def close(self) -> None:
        await self._client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def state(self) -> str:
        if self._failed:
            return str(ConnectionState.FAILED)
        if self._client.is_closed() and self._task is not None:
            return str(ConnectionState.CLOSED)
        if self._client.is_ready():
            return str(ConnectionState.CONNECTED)
        return str(ConnectionState.STARTING)
