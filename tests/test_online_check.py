"""`check-config --online` against FakeSlack and FakeDiscord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import Config
from bot.config_loader import build_config
from bot.i18n import Translator
from bot.online_check import REQUIRED_SLACK_SCOPES, Finding, check_online
from tests.fakes import discord_api, slack_api
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.fixtures import (
    DISCORD_NO_ACCESS,
    DISCORD_PAPERS,
    SLACK_NOT_MEMBER,
    SLACK_PAPERS,
    StartServer,
    discord_channels,
    slack_channels,
)
from tests.fakes.server import ServerError
from tests.fakes.slack_api import FakeSlack, SlackChannel

from .conftest import REPO_ROOT

# Scope that the fake requires per method, as Slack documents for public channels.
FAKE_METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "conversations.history": "channels:history",
    "conversations.info": "channels:read",
}

SLACK_WRONG_ID = "C0NOSUCH1"
DISCORD_WRONG_ID = "1999999999999999999"

# Hang guard for one CLI run against the fakes.
RUN_TIMEOUT_SECONDS = 60


class ScopedFakeSlack(FakeSlack):
    """FakeSlack with granted scopes: sends `x-oauth-scopes` and returns `missing_scope`.

    Args:
        scopes: The scopes the token has.
        scope_header: Whether responses carry the `x-oauth-scopes` header, as Slack's do.
    """

    def __init__(
        self,
        channels: Iterable[SlackChannel],
        *,
        scopes: Iterable[str] = REQUIRED_SLACK_SCOPES,
        scope_header: bool = True,
    ) -> None:
        super().__init__(channels)
        self.scopes = list(scopes)
        self.scope_header = scope_header

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        response = await super()._dispatch(request)
        if self.scope_header and self._authorized(request):
            response.headers["x-oauth-scopes"] = ",".join(self.scopes)
        return response

    async def _respond(
        self, method: str, request: web.Request, args: dict[str, Any]
    ) -> dict[str, Any]:
        needed = FAKE_METHOD_SCOPES.get(method)
        if needed and needed not in self.scopes and self._authorized(request):
            # Slack's missing_scope response names the needed scope and the granted ones.
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": needed,
                "provided": ",".join(self.scopes),
            }
        return await super()._respond(method, request, args)


def write_config(
    folder: Path,
    slack: FakeSlack | None,
    discord: FakeDiscord | None,
    *,
    locale: str = "en",
    slack_ids: Iterable[str] = (SLACK_PAPERS,),
    discord_ids: Iterable[str] = (DISCORD_PAPERS,),
) -> Path:
    lines = [f"locale: {locale}", f"source: {{path: {folder}}}", "channels:"]
    if slack is not None:
        for index, channel_id in enumerate(slack_ids):
            lines.append(f"  - {{name: slack-{index}, platform: slack, id: {channel_id}}}")
    if discord is not None:
        for index, channel_id in enumerate(discord_ids):
            lines.append(f'  - {{name: discord-{index}, platform: discord, id: "{channel_id}"}}')
    if slack is not None:
        lines += ["slack:", '  bot_token: "${SLACK_BOT_TOKEN}"', f'  api_url: "{slack.api_url}"']
    if discord is not None:
        lines += ["discord:", '  token: "${DISCORD_BOT_TOKEN}"']
        lines.append(f'  api_base: "{discord.api_base}"')
    path = folder / "paperbot.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(path: Path, *, slack_token: str = slack_api.TOKEN) -> Config:
    environ = {"SLACK_BOT_TOKEN": slack_token, "DISCORD_BOT_TOKEN": discord_api.TOKEN}
    return build_config(path, environ=environ)


def problems(findings: list[Finding]) -> list[str]:
    return [finding.text for finding in findings if not finding.ok]


async def slack_fake(start_server: StartServer, **options: Any) -> ScopedFakeSlack:
    return await start_server(ScopedFakeSlack(slack_channels(), **options))


async def discord_fake(start_server: StartServer, token: str = discord_api.TOKEN) -> FakeDiscord:
    return await start_server(FakeDiscord(discord_channels(), token=token))


async def test_online_all_good(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    discord = await discord_fake(start_server)
    config = load(write_config(tmp_path, slack, discord))

    findings = await check_online(config, Translator("en"))

    assert problems(findings) == []
    texts = [finding.text for finding in findings]
    assert any("Slack: the bot token works" in text for text in texts)
    assert any("#papers" in text and SLACK_PAPERS in text for text in texts)
    assert any("Discord: the bot token works" in text for text in texts)
    assert any(DISCORD_PAPERS in text for text in texts)
    endpoints = [request.endpoint for request in slack.requests]
    assert endpoints == ["auth.test", "conversations.info"]
    assert slack.posts() == []
    assert discord.creates() == []


async def test_online_slack_token_revoked(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    config = load(write_config(tmp_path, slack, None), slack_token="xoxb-revoked")

    findings = await check_online(config, Translator("en"))

    assert len(problems(findings)) == 1
    assert "invalid_auth" in problems(findings)[0]
    assert "SLACK_BOT_TOKEN" in problems(findings)[0]
    # The channels are not checked with a token Slack rejected.
    assert [request.endpoint for request in slack.requests] == ["auth.test"]


async def test_online_discord_token_rejected(tmp_path: Path, start_server: StartServer) -> None:
    discord = await discord_fake(start_server, token="another-token")
    config = load(write_config(tmp_path, None, discord))

    findings = await check_online(config, Translator("en"))

    assert len(problems(findings)) == 1
    assert "401" in problems(findings)[0]
    assert "DISCORD_BOT_TOKEN" in problems(findings)[0]
    assert not any(request.endpoint == "get_channel" for request in discord.requests)


async def test_online_missing_scope_from_header(tmp_path: Path, start_server: StartServer) -> None:
    granted = [scope for scope in REQUIRED_SLACK_SCOPES if scope != "chat:write"]
    slack = await slack_fake(start_server, scopes=granted)
    config = load(write_config(tmp_path, slack, None))

    found = problems(await check_online(config, Translator("en")))

    assert len(found) == 1
    assert "chat:write" in found[0]
    assert "reinstall" in found[0]


async def test_online_missing_scope_from_response(
    tmp_path: Path, start_server: StartServer
) -> None:
    # Without the header, conversations.info returns missing_scope with the needed scope.
    granted = [scope for scope in REQUIRED_SLACK_SCOPES if scope != "channels:read"]
    slack = await slack_fake(start_server, scopes=granted, scope_header=False)
    config = load(write_config(tmp_path, slack, None, slack_ids=[SLACK_PAPERS, SLACK_NOT_MEMBER]))

    found = problems(await check_online(config, Translator("en")))

    # Both channels fail the same way, and the scope is reported once.
    assert len(found) == 1
    assert "channels:read" in found[0]


async def test_online_slack_bot_not_member(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    config = load(write_config(tmp_path, slack, None, slack_ids=[SLACK_PAPERS, SLACK_NOT_MEMBER]))

    found = problems(await check_online(config, Translator("en")))

    assert len(found) == 1
    assert SLACK_NOT_MEMBER in found[0]
    assert "/invite @paperbot in #outside" in found[0]


async def test_online_wrong_channel_ids(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    discord = await discord_fake(start_server)
    path = write_config(
        tmp_path,
        slack,
        discord,
        slack_ids=[SLACK_WRONG_ID],
        discord_ids=[DISCORD_WRONG_ID, DISCORD_NO_ACCESS],
    )

    found = problems(await check_online(load(path), Translator("en")))

    assert len(found) == 3
    assert SLACK_WRONG_ID in found[0]
    assert "channel not found" in found[0]
    assert DISCORD_WRONG_ID in found[1]
    assert "Copy Channel ID" in found[1]
    assert DISCORD_NO_ACCESS in found[2]
    assert "403" in found[2]


async def test_online_findings_in_korean(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    discord = await discord_fake(start_server)
    path = write_config(
        tmp_path,
        slack,
        discord,
        locale="ko",
        slack_ids=[SLACK_NOT_MEMBER],
        discord_ids=[DISCORD_WRONG_ID],
    )
    config = load(path)

    found = problems(await check_online(config, Translator(config.locale)))

    assert len(found) == 2
    assert "봇이 채널에 없습니다" in found[0]
    assert "/invite @paperbot" in found[0]
    assert "알 수 없는 채널" in found[1]


async def test_online_server_error_reported(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    slack.inject("conversations.info", ServerError(503))
    config = load(write_config(tmp_path, slack, None))

    found = problems(await check_online(config, Translator("en")))

    assert len(found) == 1
    assert "check failed" in found[0]
    assert "503" in found[0]


async def test_online_no_channels_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "paperbot.yaml"
    path.write_text(f"locale: en\nsource: {{path: {tmp_path}}}\n", encoding="utf-8")

    findings = await check_online(build_config(path, environ={}), Translator("en"))

    assert problems(findings) == []
    assert "nothing to check" in findings[0].text


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int | None, str, str]:
    """Run `python -m bot ARGS` without the caller's tokens; return (code, stdout, stderr)."""
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO_ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_SECONDS)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_online_exit_codes(tmp_path: Path, start_server: StartServer) -> None:
    slack = await slack_fake(start_server)
    discord = await discord_fake(start_server)
    good = write_config(tmp_path, slack, discord)
    tokens = {"SLACK_BOT_TOKEN": slack_api.TOKEN, "DISCORD_BOT_TOKEN": discord_api.TOKEN}

    code, stdout, stderr = await run_cli(
        "check-config", "--config", str(good), "--online", env=tokens
    )

    assert code == 0, stderr
    assert "Every token and channel works." in stdout
    assert f"{good}: OK" in stdout
    # Only the warnings about optional settings (no app token, no application id) remain.
    assert [line for line in stderr.splitlines() if "warning" not in line] == []

    bad_folder = tmp_path / "bad"
    bad_folder.mkdir()
    bad = write_config(bad_folder, slack, discord, slack_ids=[SLACK_NOT_MEMBER])
    revoked = {**tokens, "DISCORD_BOT_TOKEN": "revoked-discord-token"}

    code, stdout, stderr = await run_cli(
        "check-config", "--config", str(bad), "--online", env=revoked
    )

    assert code == 2
    error_lines = [line for line in stderr.splitlines() if line.startswith("paperbot: error:")]
    assert len(error_lines) == 2, stderr
    assert "Found 2 problem(s)" in stdout
    assert ": OK" not in stdout
    for secret in (slack_api.TOKEN, discord_api.TOKEN, "revoked-discord-token"):
        assert secret not in stdout
        assert secret not in stderr


async def test_cli_online_rejects_no_tokens(tmp_path: Path) -> None:
    path = tmp_path / "paperbot.yaml"
    path.write_text(f"locale: en\nsource: {{path: {tmp_path}}}\n", encoding="utf-8")

    code, _, stderr = await run_cli(
        "check-config", "--config", str(path), "--online", "--no-tokens", env={}
    )

    assert code == 2
    assert "--online needs the tokens" in stderr
