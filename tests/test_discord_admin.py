"""`paperbot discord-sync` and `discord-invite` driven as subprocesses against the fake API."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.fakes import discord_api
from tests.fakes.discord_gateway import APPLICATION_ID, FakeDiscordApp
from tests.fakes.fixtures import discord_channels
from tests.test_cli import run_cli


def write_config(tmp_path: Path, api_base: str, application_id: str | None = None) -> Path:
    path = tmp_path / "paperbot.yaml"
    app_line = f'application_id: "{application_id}"' if application_id else ""
    path.write_text(
        textwrap.dedent(
            f"""
            source: {{path: {tmp_path}}}
            state_path: {tmp_path / "state.sqlite3"}
            discord:
              token: "${{DISCORD_BOT_TOKEN}}"
              api_base: "{api_base}"
              {app_line}
            """
        ),
        encoding="utf-8",
    )
    return path


async def test_discord_sync_registers_the_command(tmp_path, start_server):
    fake = await start_server(FakeDiscordApp(discord_channels()))
    config = write_config(tmp_path, fake.api_base, str(APPLICATION_ID))

    code, stdout, stderr = await run_cli(
        "discord-sync", "--config", str(config), env={"DISCORD_BOT_TOKEN": discord_api.TOKEN}
    )

    assert code == 0, stderr
    assert "synced" in stdout
    [put] = fake.requests_to("bulk_overwrite_commands")
    assert [command["name"] for command in put.body] == ["paper"]
    assert discord_api.TOKEN not in stdout + stderr


async def test_discord_sync_rejected_token_exits_2(tmp_path, start_server):
    fake = await start_server(FakeDiscordApp(discord_channels()))
    config = write_config(tmp_path, fake.api_base, str(APPLICATION_ID))

    code, _, stderr = await run_cli(
        "discord-sync", "--config", str(config), env={"DISCORD_BOT_TOKEN": "revoked"}
    )

    assert code == 2
    assert "discord.token was rejected" in stderr
    assert fake.requests_to("bulk_overwrite_commands") == []


async def test_discord_sync_without_token_names_the_variable(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v10")

    code, _, stderr = await run_cli("discord-sync", "--config", str(config))

    assert code == 2
    assert "discord.token is not set; export DISCORD_BOT_TOKEN" in stderr


async def test_discord_invite_prints_scopes_and_permissions(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v10", "123456789012345678")

    code, stdout, stderr = await run_cli("discord-invite", "--config", str(config))

    assert code == 0, stderr
    assert stdout.strip().startswith("https://discord.com/oauth2/authorize?")
    assert "client_id=123456789012345678" in stdout
    assert "scope=bot+applications.commands" in stdout
    assert "permissions=" in stdout


async def test_discord_invite_without_application_id_exits_2(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v10")

    code, _, stderr = await run_cli("discord-invite", "--config", str(config))

    assert code == 2
    assert "discord.application_id is not set" in stderr
