"""The Slack app manifest grants every scope the bot's Web API calls need, and no others."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.online_check import REQUIRED_SLACK_SCOPES

from .conftest import REPO_ROOT

MANIFEST = REPO_ROOT / "config" / "slack-app-manifest.yaml"
BOT_PACKAGE = REPO_ROOT / "bot"
SLACK_PACKAGE = BOT_PACKAGE / "platforms" / "slack"

# Bot-token scopes each Web API method needs in public and private channels, from the
# "Compatible API methods" lists of https://docs.slack.dev/reference/scopes/ (for example
# chat.write, channels.history, groups.read). Direct messages are not supported, so the
# im:* and mpim:* variants are left out.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history"}),
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.join": frozenset({"channels:join"}),
}

# Scopes that features other than Web API methods need.
FEATURE_SCOPES = {"commands": "slash commands (features.slash_commands)"}

# Limits of Slack's manifest schema and slash command settings.
MAX_COMMAND_LENGTH = 32
MAX_COMMAND_DESCRIPTION = 100
MAX_BOT_DISPLAY_NAME = 80

# `client.api_call("chat.postMessage", ...)` names the method as a string.
_API_CALL = re.compile(r"""api_call\(\s*["']([a-z]+(?:\.[A-Za-z]+)+)["']""")
# `client.conversations_history(...)` calls slack_sdk's wrapper method.
_WRAPPER_CALL = re.compile(r"\.([a-z]+(?:_[A-Za-z]+)+)\(")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def bot_scopes(manifest: dict[str, Any]) -> set[str]:
    return set(manifest["oauth_config"]["scopes"]["bot"])


def methods_in(source: str) -> set[str]:
    """Return the Slack Web API methods that `source` calls, by name or through a wrapper."""
    # The wrappers are the methods AsyncWebClient itself defines; api_call and the other
    # helpers come from its base class.
    wrappers = {name for name in vars(AsyncWebClient) if not name.startswith("_")}
    methods = set(_API_CALL.findall(source))
    # slack_sdk names its wrapper for "a.b.c" as a_b_c, so underscores become dots.
    methods |= {
        name.replace("_", ".") for name in _WRAPPER_CALL.findall(source) if name in wrappers
    }
    return methods


def called_slack_methods() -> dict[str, set[Path]]:
    """Return each Slack Web API method called in `bot/` and the files that call it."""
    calls: dict[str, set[Path]] = {}
    for path in sorted(BOT_PACKAGE.rglob("*.py")):
        methods = methods_in(path.read_text(encoding="utf-8"))
        for method in methods:
            calls.setdefault(method, set()).add(path.relative_to(REPO_ROOT))
    return calls


def registered_slack_commands() -> set[str]:
    """Return the slash command names that the Slack platform code registers by default."""
    commands = set()
    for path in SLACK_PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        commands |= set(re.findall(r"""_COMMAND\s*(?::\s*str\s*)?=\s*["'](/[^"']+)["']""", source))
    return commands


def test_manifest_parses_as_mapping(manifest: dict[str, Any]) -> None:
    assert isinstance(manifest, dict)
    for section in ("display_information", "features", "oauth_config", "settings"):
        assert section in manifest, f"manifest has no {section} section"


def test_manifest_names_and_bot_user(manifest: dict[str, Any]) -> None:
    bot_user = manifest["features"]["bot_user"]
    assert manifest["display_information"]["name"] == "paperbot"
    assert bot_user["display_name"] == "paperbot"
    assert len(bot_user["display_name"]) <= MAX_BOT_DISPLAY_NAME
    assert bot_user["always_online"] is True


def test_manifest_settings(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False


def test_scope_table_finds_slack_calls() -> None:
    # Guards the source scan itself: the poster is known to call these methods.
    calls = called_slack_methods()
    called = ("chat.postMessage", "chat.update", "conversations.history", "conversations.replies")
    for method in (*called, "auth.test"):
        assert method in calls, f"scan did not find {method}; is the regex still right?"


def test_every_called_method_has_known_scopes() -> None:
    unknown = {
        method: sorted(str(path) for path in paths)
        for method, paths in called_slack_methods().items()
        if method not in METHOD_SCOPES
    }
    assert not unknown, f"add these Slack methods and their scopes to METHOD_SCOPES: {unknown}"


def test_manifest_grants_scopes_of_called_methods(manifest: dict[str, Any]) -> None:
    granted = bot_scopes(manifest)
    for method, paths in called_slack_methods().items():
        missing = METHOD_SCOPES.get(method, frozenset()) - granted
        where = ", ".join(sorted(str(path) for path in paths))
        assert not missing, f"{method} (called in {where}) needs {sorted(missing)}"


def test_manifest_grants_no_unused_scope(manifest: dict[str, Any]) -> None:
    used = set(FEATURE_SCOPES)
    for method in called_slack_methods():
        used |= METHOD_SCOPES.get(method, frozenset())
    unused = bot_scopes(manifest) - used
    assert not unused, f"no called method or feature needs {sorted(unused)}; remove them"


def test_online_check_expects_manifest_scopes(manifest: dict[str, Any]) -> None:
    assert set(REQUIRED_SLACK_SCOPES) == bot_scopes(manifest)


def test_slash_command_matches_registered(manifest: dict[str, Any]) -> None:
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    registered = registered_slack_commands()
    assert registered, "found no *_COMMAND = '/...' constant under bot/platforms/slack/"
    assert declared == registered


def test_slash_command_rules(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert commands
    for command in commands:
        name = command["command"]
        assert name.startswith("/"), name
        assert len(name) <= MAX_COMMAND_LENGTH, name
        assert name == name.lower(), name
        assert not re.search(r"\s", name), name
        assert 0 < len(command["description"]) <= MAX_COMMAND_DESCRIPTION, name
        assert command["usage_hint"], name
        assert command["should_escape"] is False, name
        # Socket Mode delivers commands over the websocket, so a request URL is not needed.
        assert "url" not in command, name


def test_scope_scan_finds_both_call_forms() -> None:
    source = 'await client.api_call("reactions.add", json={})\nclient.users_info(user="U1")\n'
    assert methods_in(source) == {"reactions.add", "users.info"}
