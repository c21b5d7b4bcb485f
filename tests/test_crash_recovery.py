"""`python -m bot run` killed with SIGKILL at random points, and stopped with SIGTERM.

The fakes run in the test process on 127.0.0.1 and keep running across restarts, so they
see every message that any of the bot processes sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.delivery import message_nonce
from tests.conftest import FIXTURES, REPO_ROOT
from tests.fakes import discord_api, slack_api
from tests.fakes.discord_api import DiscordChannel, FakeDiscord
from tests.fakes.slack_api import FakeSlack, SlackChannel

DIGEST_39 = FIXTURES / "digests" / "2025-09-03-daily-papers-20250903.md"
PAPERS = 39
# Header plus papers in every channel.
MESSAGES_PER_CHANNEL = PAPERS + 1

SLACK_IDS = ("C0CRASHA", "C0CRASHB")
DISCORD_IDS = ("1000000000000000101", "1000000000000000102")
CHANNELS = (
    ("slack-a", "slack", SLACK_IDS[0]),
    ("slack-b", "slack", SLACK_IDS[1]),
    ("discord-a", "discord", DISCORD_IDS[0]),
    ("discord-b", "discord", DISCORD_IDS[1]),
)
TOTAL_MESSAGES = MESSAGES_PER_CHANNEL * len(CHANNELS)

KILLS = 30
# Hang guards only; the normal run is far shorter.
WAIT_GUARD_SECONDS = 60.0
SIGTERM_GUARD_SECONDS = 10.0


class NotifyingSlack(FakeSlack):
    """FakeSlack with real-time message ts, which notifies `changed` on every stored message.

    The ts follows the wall clock like Slack's, so the bot's conversations.history lookup,
    which starts a day before the digest date, finds the messages.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed = asyncio.Event()
        self._sequence = 0

    def _store(self, channel: SlackChannel, args: dict[str, Any]) -> dict[str, Any]:
        message = super()._store(channel, args)
        self._sequence += 1
        message["ts"] = f"{int(time.time())}.{self._sequence:06d}"
        self.changed.set()
        return message


class NotifyingDiscord(FakeDiscord):
    """FakeDiscord that notifies `changed` on every created message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed = asyncio.Event()

    def _new_message(self, channel: DiscordChannel, body: dict[str, Any]) -> dict[str, Any]:
        message = super()._new_message(channel, body)
        self.changed.set()
        return message


@dataclass
class Fakes:
    slack: NotifyingSlack
    discord: NotifyingDiscord

    def count(self) -> int:
        slack = sum(len(self.slack.messages(channel)) for channel in SLACK_IDS)
        discord = sum(len(self.discord.channels[channel].messages) for channel in DISCORD_IDS)
        return slack + discord


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    slack = NotifyingSlack([SlackChannel(SLACK_IDS[0], "a"), SlackChannel(SLACK_IDS[1], "b")])
    discord = NotifyingDiscord(
        [DiscordChannel(DISCORD_IDS[0], "a"), DiscordChannel(DISCORD_IDS[1], "b")]
    )
    await slack.start()
    await discord.start()
    yield Fakes(slack, discord)
    await slack.close()
    await discord.close()


def noon_zone() -> tuple[str, dt.datetime]:
    """Return an Etc/GMT zone whose local time is within an hour of noon, and that time.

    The run's local date then cannot change during the test. Etc/GMT-N is UTC+N (POSIX sign).
    """
    now = dt.datetime.now(dt.UTC)
    offset = 12 - now.hour
    name = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    return name, now + dt.timedelta(hours=offset)


def write_setup(tmp_path: Path, fakes: Fakes) -> tuple[Path, dt.date]:
    """Write today's digest and a config whose run time passed a minute ago."""
    zone, local_now = noon_zone()
    today = local_now.date()
    posts = tmp_path / "posts"
    posts.mkdir()
    text = DIGEST_39.read_text(encoding="utf-8").replace("2025-09-03", today.isoformat())
    (posts / f"{today}-daily-papers-{today:%Y%m%d}.md").write_text(text, encoding="utf-8")
    run_at = local_now - dt.timedelta(minutes=1)
    config = {
        "locale": "ko",
        "source": {"kind": "folder", "path": str(posts), "pattern": "{date}-daily-papers-*.md"},
        "schedule": {
            "time": run_at.strftime("%H:%M"),
            "timezone": zone,
            "poll_interval_minutes": 1,
            "deadline": "23:59",
            "grace_minutes": 240,
        },
        "slack": {
            "bot_token": slack_api.TOKEN,
            "api_url": fakes.slack.api_url,
            "min_interval_seconds": 0,
        },
        "discord": {
            "token": discord_api.TOKEN,
            "api_base": fakes.discord.api_base,
            "per_seconds": 0,
        },
        "delivery": {"max_retries": 5, "request_timeout_seconds": 5},
        "health": {"host": "127.0.0.1", "port": 0},
        "state_path": str(tmp_path / "state.sqlite3"),
        "channels": [
            {"name": name, "platform": platform, "id": channel_id}
            for name, platform, channel_id in CHANNELS
        ],
    }
    path = tmp_path / "config.yaml"
    # JSON is valid YAML, and json.dumps quotes every string.
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path, today


async def start_bot(config: Path, log: Path) -> asyncio.subprocess.Process:
    env = {key: value for key, value in os.environ.items() if key != "PORT"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    with log.open("ab") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--log-level",
            "INFO",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            cwd=str(REPO_ROOT),
            env=env,
        )


async def wait_for_messages(
    fakes: Fakes, count: int, bot: asyncio.subprocess.Process, log: Path
) -> None:
    """Wait until the fakes hold `count` messages; fail with the log if the bot exits first."""
    async with asyncio.timeout(WAIT_GUARD_SECONDS):
        while fakes.count() < count:
            waiters = [
                asyncio.create_task(fakes.slack.changed.wait()),
                asyncio.create_task(fakes.discord.changed.wait()),
                asyncio.create_task(bot.wait()),
            ]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            fakes.slack.changed.clear()
            fakes.discord.changed.clear()
            if bot.returncode is not None:
                tail = read_log(log)[-3000:]
                pytest.fail(
                    f"bot exited with {bot.returncode} at {fakes.count()} messages:\n{tail}"
                )


def read_log(log: Path) -> str:
    return log.read_text(encoding="utf-8")


def slack_papers(fakes: Fakes, channel: str) -> list[int]:
    return [
        message["metadata"]["event_payload"]["paper"] for message in fakes.slack.messages(channel)
    ]


def discord_papers(fakes: Fakes, name: str, channel: str, day: dt.date) -> list[int]:
    by_nonce = {message_nonce(name, day, paper): paper for paper in range(MESSAGES_PER_CHANNEL)}
    return [by_nonce[message["nonce"]] for message in fakes.discord.channels[channel].messages]


def delivered_papers(fakes: Fakes, day: dt.date) -> dict[str, list[int]]:
    return {
        "slack-a": slack_papers(fakes, SLACK_IDS[0]),
        "slack-b": slack_papers(fakes, SLACK_IDS[1]),
        "discord-a": discord_papers(fakes, "discord-a", DISCORD_IDS[0], day),
        "discord-b": discord_papers(fakes, "discord-b", DISCORD_IDS[1], day),
    }


def ledger_rows(state: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(state) as connection:
        return connection.execute("SELECT channel, paper, status FROM deliveries").fetchall()


async def stop_with_sigterm(bot: asyncio.subprocess.Process) -> int:
    bot.send_signal(signal.SIGTERM)
    async with asyncio.timeout(SIGTERM_GUARD_SECONDS):
        return await bot.wait()


async def test_run_survives_random_sigkills(tmp_path: Path, fakes: Fakes) -> None:
    config, today = write_setup(tmp_path, fakes)
    log = tmp_path / "bot.log"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kill_points = []

    for _ in range(KILLS):
        target = min(fakes.count() + rng.randint(1, 4), TOTAL_MESSAGES - 1)
        bot = await start_bot(config, log)
        await wait_for_messages(fakes, target, bot, log)
        bot.kill()
        await bot.wait()
        kill_points.append(fakes.count())

    bot = await start_bot(config, log)
    await wait_for_messages(fakes, TOTAL_MESSAGES, bot, log)
    # Every message is at the fakes; SIGTERM lets the bot record the last one and exit.
    exit_code = await stop_with_sigterm(bot)

    context = f"seed {seed}, kills after {kill_points}; log {log}"
    assert exit_code == 0, context
    expected = list(range(MESSAGES_PER_CHANNEL))
    for name, papers in delivered_papers(fakes, today).items():
        assert papers == expected, f"{name}: {context}"
    statuses = {status for _, _, status in ledger_rows(tmp_path / "state.sqlite3")}
    assert statuses == {"sent"}, context


async def test_run_sigterm_exits_cleanly(tmp_path: Path, fakes: Fakes) -> None:
    config, today = write_setup(tmp_path, fakes)
    log = tmp_path / "bot.log"
    bot = await start_bot(config, log)
    await wait_for_messages(fakes, 30, bot, log)

    exit_code = await stop_with_sigterm(bot)

    assert exit_code == 0, read_log(log)
    delivered = delivered_papers(fakes, today)
    rows = ledger_rows(tmp_path / "state.sqlite3")
    for channel, paper, status in rows:
        if status == "in_flight":
            assert paper not in delivered[channel], f"{channel} paper {paper} sent but in flight"
    sent = {(channel, paper) for channel, paper, status in rows if status == "sent"}
    at_fakes = {(channel, paper) for channel, papers in delivered.items() for paper in papers}
    assert sent == at_fakes
    assert "paperbot stopped" in read_log(log)


async def test_run_resumes_after_sigterm(tmp_path: Path, fakes: Fakes) -> None:
    config, today = write_setup(tmp_path, fakes)
    log = tmp_path / "bot.log"
    bot = await start_bot(config, log)
    await wait_for_messages(fakes, 50, bot, log)
    assert await stop_with_sigterm(bot) == 0

    bot = await start_bot(config, log)
    await wait_for_messages(fakes, TOTAL_MESSAGES, bot, log)
    assert await stop_with_sigterm(bot) == 0

    for name, papers in delivered_papers(fakes, today).items():
        assert papers == list(range(MESSAGES_PER_CHANNEL)), name
