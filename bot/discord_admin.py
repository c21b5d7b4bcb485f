"""`paperbot discord-sync` and `paperbot discord-invite`: one-off Discord set-up steps."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import aiohttp

from bot.arxiv_lookup import ArxivLookup
from bot.clock import SystemClock
from bot.commands import PaperService
from bot.config import Config
from bot.config_loader import build_config
from bot.platforms.discord.commands import discord_invite_url, discord_sync
from bot.store import Store

_log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class DiscordSetupError(ValueError):
    """The config lacks a Discord setting that the command needs."""


def run_invite_command(args: argparse.Namespace) -> int:
    """Print the URL that adds the bot to a server with the scopes and permissions it needs."""
    config = build_config(args.config, require_tokens=False)
    application_id = config.discord.application_id
    if not application_id:
        raise DiscordSetupError(
            f"{config.path}: discord.application_id is not set; copy the Application ID from "
            "the Discord Developer Portal (General Information) into it"
        )
    print(discord_invite_url(application_id))
    return EXIT_OK


def run_sync_command(args: argparse.Namespace) -> int:
    """Register the /paper command with Discord now, whether or not it changed."""
    config = build_config(args.config, require_tokens=False)
    if not config.discord.token:
        raise DiscordSetupError(
            f"{config.path}: discord.token is not set; export DISCORD_BOT_TOKEN"
        )
    return asyncio.run(_sync(config))


async def _sync(config: Config) -> int:
    import discord

    clock = SystemClock()
    store = await Store.open(config.state_path, clock=clock)
    service = PaperService(
        store, ArxivLookup(store, clock), clock, timezone=config.schedule.timezone
    )
    try:
        await discord_sync(config.discord, service, store, force=True)
    except discord.LoginFailure:
        print(
            "paperbot: error: discord.token was rejected; check DISCORD_BOT_TOKEN", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    except discord.HTTPException as error:
        _log.error("Discord rejected the command sync: %s", error)
        return EXIT_FAILED
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        print(
            f"paperbot: error: cannot reach the Discord API at {config.discord.api_base} "
            f"({type(error).__name__}); check discord.api_base and the network",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        await store.close()
    print("Discord /paper command synced")
    return EXIT_OK
