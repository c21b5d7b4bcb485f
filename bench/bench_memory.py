"""Memory benchmark: resident set size (VmRSS) of `python -m bot run` against local fakes.

It measures two processes: one idle after start-up (today's run is an hour away) and one
idle after posting the 39-paper digest to 2 Slack and 2 Discord channels. Both have checked
their tokens with the fakes (Slack auth.test, Discord GET /users/@me) and hold both command
connections: Slack Socket Mode and the Discord gateway, each to a fake on 127.0.0.1.

Run: `python bench/bench_memory.py` from the repository root (Linux only: reads /proc).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.fakes.discord_api import DiscordChannel  # noqa: E402
from tests.fakes.discord_gateway import APPLICATION_ID, FakeDiscordApp, FakeGateway  # noqa: E402
from tests.fakes.slack_api import SlackChannel  # noqa: E402
from tests.fakes.slack_socket import APP_TOKEN, FakeSlackSocket  # noqa: E402
from tests.test_crash_recovery import (  # noqa: E402
    DISCORD_IDS,
    SLACK_IDS,
    TOTAL_MESSAGES,
    Fakes,
    NotifyingDiscord,
    NotifyingSlack,
    start_bot,
    wait_for_messages,
    write_setup,
)


class SocketSlack(NotifyingSlack, FakeSlackSocket):
    """The crash test's Slack fake plus Socket Mode, so the command connector connects."""


class GatewayDiscord(NotifyingDiscord, FakeDiscordApp):
    """The crash test's Discord fake plus the application and gateway routes."""


# Seconds to let the process settle (start-up, verify, or the last ledger writes).
SETTLE_SECONDS = 3.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def move_run_time(config: Path, hours: int) -> None:
    data = json.loads(config.read_text())
    local = dt.datetime.strptime(data["schedule"]["time"], "%H:%M")
    data["schedule"]["time"] = (local + dt.timedelta(hours=hours)).strftime("%H:%M")
    config.write_text(json.dumps(data))


def enable_commands(config: Path) -> None:
    data = json.loads(config.read_text())
    data["slack"]["app_token"] = APP_TOKEN
    data["discord"]["application_id"] = APPLICATION_ID
    config.write_text(json.dumps(data))


async def measure(after_digest: bool) -> int:
    slack = SocketSlack([SlackChannel(i, i) for i in SLACK_IDS])
    discord = GatewayDiscord([DiscordChannel(i, i) for i in DISCORD_IDS])
    await slack.start()
    await discord.start()
    gateway = FakeGateway(discord)
    await gateway.start()
    fakes = Fakes(slack, discord)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        config, _ = write_setup(tmp, fakes)
        enable_commands(config)
        if not after_digest:
            move_run_time(config, 1)
        log = tmp / "bot.log"
        bot = await start_bot(config, log)
        try:
            if after_digest:
                await wait_for_messages(fakes, TOTAL_MESSAGES, bot, log)
            await asyncio.sleep(SETTLE_SECONDS)
            socket_mode = slack.connected
            identified = gateway.identified.is_set()
            kib = rss_kib(bot.pid)
        finally:
            bot.terminate()
            await bot.wait()
            await gateway.close()
            await slack.close()
            await discord.close()
    print(f"  Slack Socket Mode connected: {socket_mode}; Discord gateway identified: {identified}")
    return kib


async def main() -> None:
    idle = await measure(after_digest=False)
    print(f"paperbot run, idle after start-up: VmRSS {idle / 1024:.1f} MiB")
    posted = await measure(after_digest=True)
    print(f"paperbot run, idle after one 39-paper digest to 4 channels: {posted / 1024:.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
