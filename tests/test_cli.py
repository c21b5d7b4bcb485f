"""The `paperbot` command driven as a subprocess, the way the README uses it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from bot.render.limits import discord_payload_problems, slack_payload_problems
from tests.fakes import discord_api, slack_api
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import DISCORD_DIGEST, DISCORD_PAPERS, SLACK_DIGEST, SLACK_PAPERS
from tests.fakes.slack_api import FakeSlack

from .conftest import EXAMPLE_DIGEST, FIXTURES, REFERENCE_IDS, REPO_ROOT

# Hang guard for one CLI run; posting 48 messages at test pacing takes well under a second.
RUN_TIMEOUT_SECONDS = 60


async def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT):
    """Run `python -m bot ARGS` and return (exit code, stdout, stderr)."""
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    return process.returncode, stdout.decode(), stderr.decode()


def fake_config(
    tmp_path: Path, slack: FakeSlack, discord: FakeDiscord, *, thread: bool = False
) -> Path:
    digests = REPO_ROOT / "examples" / "digests"
    path = tmp_path / "paperbot.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            locale: en
            source: {{path: {digests}, pattern: "{{date}}-daily-papers-*.md"}}
            slack:
              bot_token: "${{SLACK_BOT_TOKEN}}"
              api_url: "{slack.api_url}"
              min_interval_seconds: 0
            discord:
              token: "${{DISCORD_BOT_TOKEN}}"
              api_base: "{discord.api_base}"
              per_seconds: 0
            delivery: {{max_retries: 2}}
            state_path: {tmp_path / "state.sqlite3"}
            channels:
              - {{name: slack-papers, platform: slack, id: {SLACK_PAPERS}, thread: {thread}}}
              - {{name: slack-digest, platform: slack, id: {SLACK_DIGEST}, header: false}}
              - {{name: discord-papers, platform: discord, id: "{DISCORD_PAPERS}"}}
              - {{name: discord-digest, platform: discord, id: "{DISCORD_DIGEST}", header: false}}
            """
        ),
        encoding="utf-8",
    )
    return path


TOKENS = {"SLACK_BOT_TOKEN": slack_api.TOKEN, "DISCORD_BOT_TOKEN": discord_api.TOKEN}


async def test_readme_dry_run_prints_reference_papers():
    code, stdout, stderr = await run_cli("post", "--date", "2025-09-23", "--dry-run")

    assert code == 0, stderr
    assert "11 papers" in stdout
    for arxiv_id in REFERENCE_IDS:
        assert stdout.count(f"https://arxiv.org/abs/{arxiv_id}") == 2, arxiv_id
    assert "Daily Papers — 2025-09-23 · 11편" in stdout


async def test_dry_run_json_is_one_valid_payload_per_line():
    code, stdout, stderr = await run_cli(
        "--log-level",
        "WARNING",
        "post",
        "--digest",
        str(EXAMPLE_DIGEST),
        "--dry-run",
        "--output",
        "json",
    )

    assert code == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert len(records) == 2 * 12
    assert all(set(record) == {"platform", "channel", "paper", "payload"} for record in records)
    for record in records:
        check = (
            slack_payload_problems if record["platform"] == "slack" else discord_payload_problems
        )
        assert check(record["payload"]) == [], record["paper"]
    slack_papers = [r["paper"] for r in records if r["platform"] == "slack"]
    assert slack_papers == list(range(12))
    discord_first = next(r for r in records if r["platform"] == "discord" and r["paper"] == 1)
    assert discord_first["payload"]["embeds"][0]["url"] == "https://arxiv.org/abs/2509.17765"
    assert discord_first["payload"]["allowed_mentions"] == {"parse": []}


async def test_real_post_reaches_fakes_and_prints_summary(tmp_path, fake_slack, fake_discord):
    config = fake_config(tmp_path, fake_slack, fake_discord)

    code, stdout, stderr = await run_cli(
        "post", "--date", "2025-09-23", "--config", str(config), env=TOKENS
    )

    assert code == 0, stderr
    assert stdout.splitlines() == [
        "slack-papers (slack): ok: posted 11, skipped 0, failed 0 of 11",
        "slack-digest (slack): ok: posted 11, skipped 0, failed 0 of 11",
        "discord-papers (discord): ok: posted 11, skipped 0, failed 0 of 11",
        "discord-digest (discord): ok: posted 11, skipped 0, failed 0 of 11",
    ]
    assert "slack-papers: 11/11 posted" in stderr
    assert len(fake_slack.posts(SLACK_PAPERS)) == 12
    assert len(fake_slack.posts(SLACK_DIGEST)) == 11
    assert len(fake_discord.messages(DISCORD_PAPERS)) == 12
    assert len(fake_discord.messages(DISCORD_DIGEST)) == 11
    for secret in TOKENS.values():
        assert secret not in stdout
        assert secret not in stderr


async def test_second_post_skips_what_the_ledger_has(tmp_path, fake_slack, fake_discord):
    config = fake_config(tmp_path, fake_slack, fake_discord)
    first, _, _ = await run_cli("post", "--date", "2025-09-23", "--config", str(config), env=TOKENS)

    code, stdout, stderr = await run_cli(
        "post", "--date", "2025-09-23", "--config", str(config), env=TOKENS
    )

    assert (first, code) == (0, 0), stderr
    assert "slack-papers (slack): ok: posted 0, skipped 11, failed 0 of 11" in stdout
    assert len(fake_slack.posts(SLACK_PAPERS)) == 12


async def test_channel_option_limits_the_post(tmp_path, fake_slack, fake_discord):
    config = fake_config(tmp_path, fake_slack, fake_discord)

    code, stdout, stderr = await run_cli(
        "post",
        "--date",
        "2025-09-23",
        "--config",
        str(config),
        "--channel",
        "discord-digest",
        env=TOKENS,
    )

    assert code == 0, stderr
    assert stdout.splitlines() == [
        "discord-digest (discord): ok: posted 11, skipped 0, failed 0 of 11"
    ]
    assert fake_slack.posts() == []


async def test_failing_channel_reported_and_others_served(tmp_path, fake_slack, fake_discord):
    config = fake_config(tmp_path, fake_slack, fake_discord)
    text = config.read_text(encoding="utf-8").replace(SLACK_DIGEST, "C0NOSUCHCHANNEL")
    config.write_text(text, encoding="utf-8")

    code, stdout, stderr = await run_cli(
        "post", "--date", "2025-09-23", "--config", str(config), env=TOKENS
    )

    assert code == 1, stderr
    assert "slack-digest (slack): FAILED: posted 0" in stdout
    assert "channel_not_found" in stdout
    assert "discord-digest (discord): ok: posted 11" in stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["post", "--digest", "tests/fixtures/no-such-file.md", "--dry-run"], "no-such-file.md"),
        (["post", "--date", "2025-09-24", "--dry-run"], "no digest for 2025-09-24"),
        (
            ["post", "--date", "2025-09-23", "--dry-run", "--channel", "nope"],
            "no channel named nope",
        ),
        (["post", "--date", "2025-13-01", "--dry-run"], "invalid date '2025-13-01'"),
        (["post", "--date", "2025-09-23"], "SLACK_BOT_TOKEN is not set"),
        (["check-config", "--config", "README.md"], "README.md"),
    ],
)
async def test_bad_input_exits_2_with_one_line(args, expected):
    code, stdout, stderr = await run_cli(*args)

    assert code == 2
    assert expected in stderr
    assert "Traceback" not in stderr
    assert stdout == ""


async def test_binary_digest_rejected_and_nothing_posted(tmp_path, fake_slack, fake_discord):
    config = fake_config(tmp_path, fake_slack, fake_discord)
    digest = tmp_path / "2025-09-23-daily-papers-x.md"
    digest.write_bytes(b"\x00\x01\x02binary\xff")

    code, stdout, stderr = await run_cli(
        "post", "--digest", str(digest), "--config", str(config), env=TOKENS
    )

    assert code == 2
    assert str(digest) in stderr or digest.name in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert fake_slack.requests == []
    assert fake_discord.requests == []


async def test_not_a_digest_is_reported_as_such():
    code, _, stderr = await run_cli(
        "post", "--digest", str(FIXTURES / "digests" / "2025-07-01-test.md"), "--dry-run"
    )

    assert code == 2
    assert "not a digest" in stderr
    assert "Traceback" not in stderr


async def test_check_config_accepts_example_with_tokens():
    code, stdout, stderr = await run_cli(
        "check-config", env={"SLACK_BOT_TOKEN": "x", "DISCORD_BOT_TOKEN": "y"}
    )

    assert code == 0, stderr
    assert "papers-slack (slack)" in stdout
    assert "papers-discord (discord)" in stdout


async def test_module_and_console_script_share_help():
    code, stdout, _ = await run_cli("--help")

    assert code == 0
    assert "post" in stdout
    assert "check-config" in stdout


async def test_paperbot_config_variable_picks_the_default_file(tmp_path):
    code, _, stderr = await run_cli(
        "check-config", env={"PAPERBOT_CONFIG": str(tmp_path / "x.yaml")}
    )

    assert code == 2
    assert f"{tmp_path / 'x.yaml'}: file not found" in stderr


def bare_config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"source: {{path: {tmp_path}}}\n"
        f"state_path: {tmp_path / 'state.sqlite3'}\n"
        f"health: {{host: 127.0.0.1, port: {port}}}\n",
        encoding="utf-8",
    )
    return path


async def test_run_on_busy_health_port_exits_2(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        code, _, stderr = await run_cli("run", "--config", str(bare_config(tmp_path, port)))
    finally:
        holder.close()

    assert code == 2
    assert f"health server cannot listen on 127.0.0.1:{port}" in stderr
    assert "set health.port, or $PORT, to a free port" in stderr
    assert "Traceback" not in stderr


async def test_run_with_bad_port_variable_exits_2(tmp_path):
    config = bare_config(tmp_path, 0)

    code, _, stderr = await run_cli("run", "--config", str(config), env={"PORT": "abc"})

    assert code == 2
    assert "$PORT must be a port number, got 'abc'" in stderr
    assert "Traceback" not in stderr
