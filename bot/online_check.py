"""`paperbot check-config --online`: check tokens, scopes and channel access on the platforms.

Each problem becomes one finding in the operator's locale that explains how to fix it. Nothing
is posted: the checks use Slack `auth.test` and `conversations.info`, and Discord
`GET /users/@me` and `GET /channels/{id}`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import ChannelConfig, Config, Platform
from bot.i18n import Translator, translator
from bot.platforms.base import PermanentError, PlatformError
from bot.platforms.discord.poster import DiscordPoster, Route
from bot.platforms.slack.poster import SlackPoster

_log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PROBLEMS = 2

# Bot-token scopes of config/slack-app-manifest.yaml; tests/test_manifest.py keeps both equal.
REQUIRED_SLACK_SCOPES = (
    "chat:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "commands",
)

# Slack error codes that mean the token itself is unusable (auth.test "Errors" section).
_SLACK_TOKEN_ERRORS = frozenset(
    {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
)

# Discord JSON error codes of GET /channels/{id}, mapped to the finding that explains them.
_DISCORD_CHANNEL_ERRORS = {
    "10003": "online_discord_channel_not_found",
    "50001": "online_discord_missing_access",
    "50013": "online_discord_missing_access",
}

# discord.py reports a 401 on login as LoginFailure, which the poster gives code "0".
_DISCORD_INVALID_TOKEN = "0"


@dataclass(frozen=True)
class Finding:
    """One checked item: `ok` is False for a problem, and `text` is localized."""

    ok: bool
    text: str


def run_online_check_command(config: Config) -> int:
    """Run every online check for `config`, print the findings and return the exit code.

    Passing checks go to stdout; problems go to stderr, one line each. Returns 0 when
    everything works and 2 when at least one problem was found.
    """
    t = translator(config.locale)
    findings = asyncio.run(check_online(config, t))
    for finding in findings:
        if finding.ok:
            print(finding.text)
        else:
            print(f"paperbot: error: {finding.text}", file=sys.stderr)
    problems = sum(not finding.ok for finding in findings)
    if problems:
        print(t("online_summary_problems", count=problems))
        return EXIT_PROBLEMS
    print(t("online_summary_ok"))
    return EXIT_OK


async def check_online(config: Config, t: Translator) -> list[Finding]:
    """Check the token and every channel of each platform that has channels."""
    if not config.channels:
        return [Finding(True, t("online_no_channels"))]
    findings: list[Finding] = []
    if config.channels_for(Platform.SLACK):
        findings += await check_slack(config, t)
    if config.channels_for(Platform.DISCORD):
        findings += await check_discord(config, t)
    return findings


# --- Slack ---


class _SlackProbe(SlackPoster):
    """SlackPoster with the two read-only calls the check needs.

    TODO: move `auth_test` and `channel_info` into SlackPoster as public methods; until
    then they reuse its protected `_call`, so errors are translated the same way.
    """

    async def auth_test(self) -> tuple[str, set[str] | None]:
        """Return the bot's user id and the scopes from the `x-oauth-scopes` header, if sent."""
        response = await self._call("auth.test", lambda client: client.auth_test())
        headers = {str(key).lower(): value for key, value in (response.headers or {}).items()}
        scopes = headers.get("x-oauth-scopes")
        granted = None if scopes is None else {s.strip() for s in scopes.split(",") if s.strip()}
        return str(response["user_id"]), granted

    async def channel_info(self, channel_id: str) -> dict[str, Any]:
        """Return the channel object of conversations.info."""
        response = await self._call(
            "conversations.info", lambda client: client.conversations_info(channel=channel_id)
        )
        return dict(response["channel"])


async def check_slack(config: Config, t: Translator) -> list[Finding]:
    """Check the Slack token, its scopes and that the bot is a member of each channel."""
    channels = config.channels_for(Platform.SLACK)
    probe = _SlackProbe(
        config.slack, request_timeout_seconds=config.delivery.request_timeout_seconds
    )
    try:
        try:
            user_id, granted = await probe.auth_test()
        except PlatformError as error:
            return [_slack_token_finding(error, t)]
        findings = [Finding(True, t("online_slack_token_ok", user=user_id))]
        missing = _missing_scopes(granted)
        for channel in channels:
            finding, scope = await _check_slack_channel(probe, channel, t)
            if scope is not None:
                missing.add(scope)
            if finding is not None:
                findings.append(finding)
        findings += [
            Finding(False, t("online_slack_missing_scope", scope=scope))
            for scope in sorted(missing)
        ]
        return findings
    finally:
        await probe.close()


def _missing_scopes(granted: set[str] | None) -> set[str]:
    if granted is None:
        # NOTE: without the header only a failing call reveals a missing scope.
        _log.debug("auth.test sent no x-oauth-scopes header; scopes checked per call only")
        return set()
    return set(REQUIRED_SLACK_SCOPES) - granted


def _slack_token_finding(error: PlatformError, t: Translator) -> Finding:
    code = getattr(error, "code", None)
    if code in _SLACK_TOKEN_ERRORS:
        return Finding(False, t("online_slack_token_invalid", code=code))
    return Finding(False, t("online_request_failed", platform="Slack", error=error))


async def _check_slack_channel(
    probe: _SlackProbe, channel: ChannelConfig, t: Translator
) -> tuple[Finding | None, str | None]:
    """Return the channel's finding and, for `missing_scope`, the scope Slack named.

    A missing scope is reported once for all channels, so its channel finding is None.
    """
    names = {"name": channel.name, "id": channel.id}
    try:
        info = await probe.channel_info(channel.id)
    except PermanentError as error:
        if error.code == "missing_scope":
            return None, _slack_error_field(error, "needed") or "channels:read"
        if error.code == "channel_not_found":
            return Finding(False, t("online_slack_channel_not_found", **names)), None
        return Finding(False, t("online_channel_failed", error=error, **names)), None
    except PlatformError as error:
        return Finding(False, t("online_channel_failed", error=error, **names)), None
    slack_name = str(info.get("name") or channel.name)
    if info.get("is_archived"):
        return Finding(False, t("online_slack_archived", channel=slack_name, **names)), None
    if not info.get("is_member"):
        return Finding(False, t("online_slack_not_member", channel=slack_name, **names)), None
    return Finding(True, t("online_slack_channel_ok", channel=slack_name, **names)), None


def _slack_error_field(error: PermanentError, field: str) -> str | None:
    """Read `field` (such as `needed`) of the Slack error response behind `error`."""
    # SlackPoster raises PermanentError from slack_sdk's SlackApiError, whose `response`
    # contains the whole JSON response.
    response = getattr(error.__cause__, "response", None)
    data = getattr(response, "data", None)
    value = data.get(field) if isinstance(data, Mapping) else None
    return str(value) if value else None


# --- Discord ---


class _DiscordProbe(DiscordPoster):
    """DiscordPoster with the read-only channel lookup the check needs.

    TODO: move `channel` into DiscordPoster as a public method; until then it reuses its
    protected `_request`, so errors are translated the same way.
    """

    async def channel(self, channel_id: str) -> dict[str, Any]:
        """Return the channel object of GET /channels/{channel_id}."""
        route = Route("GET", "/channels/{channel_id}", channel_id=channel_id)
        return dict(await self._request("get channel", route))


async def check_discord(config: Config, t: Translator) -> list[Finding]:
    """Check the Discord token and that the bot can see each channel."""
    probe = _DiscordProbe(
        config.discord, request_timeout_seconds=config.delivery.request_timeout_seconds
    )
    try:
        try:
            user_id = await probe.verify()
        except PlatformError as error:
            return [_discord_token_finding(error, t)]
        findings = [Finding(True, t("online_discord_token_ok", user=user_id))]
        for channel in config.channels_for(Platform.DISCORD):
            findings.append(await _check_discord_channel(probe, channel, t))
        return findings
    finally:
        await probe.close()


def _discord_token_finding(error: PlatformError, t: Translator) -> Finding:
    if getattr(error, "code", None) == _DISCORD_INVALID_TOKEN:
        return Finding(False, t("online_discord_token_invalid"))
    return Finding(False, t("online_request_failed", platform="Discord", error=error))


async def _check_discord_channel(
    probe: _DiscordProbe, channel: ChannelConfig, t: Translator
) -> Finding:
    names = {"name": channel.name, "id": channel.id}
    try:
        info = await probe.channel(channel.id)
    except PermanentError as error:
        key = _DISCORD_CHANNEL_ERRORS.get(error.code)
        if key is not None:
            return Finding(False, t(key, **names))
        return Finding(False, t("online_channel_failed", error=error, **names))
    except PlatformError as error:
        return Finding(False, t("online_channel_failed", error=error, **names))
    # NOTE: Send Messages and Embed Links are not checked; that needs the guild's roles,
    # the bot member's roles and the channel overwrites.
    discord_name = str(info.get("name") or channel.name)
    return Finding(True, t("online_discord_channel_ok", channel=discord_name, **names))
