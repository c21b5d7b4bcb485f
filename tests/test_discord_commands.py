"""End-to-end tests of `/paper` on Discord: real discord.py against a fake gateway and REST API.

The client logs in at the fake REST API, requests the gateway URL from it, connects to
the fake gateway, and replies to the INTERACTION_CREATE events the gateway sends. Every assertion is
on what the fakes received.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import discord
import pytest
from discord import app_commands

from bot.arxiv_lookup import ArxivMetadata, ArxivNotFoundError
from bot.commands import (
    MAX_QUERY_CHARS,
    Answer,
    AnswerEntry,
    AnswerKind,
    PaperService,
    QueryError,
)
from bot.digest.model import Paper
from bot.digest.parser import load_digest
from bot.i18n import Translator
from bot.platforms.discord.answers import error_answer, render_discord_answer
from bot.platforms.discord.commands import (
    COMMANDS_HASH_KEY,
    PaperClient,
    compose_query,
    discord_invite_url,
    discord_sync,
    sync_commands,
    user_locale,
)
from bot.render.discord import render_discord_paper
from bot.store import Store
from tests.conftest import EXAMPLE_DIGEST, FIXTURES
from tests.fakes import discord_api
from tests.fakes.clock import FakeClock
from tests.fakes.discord_gateway import (
    APPLICATION_ID,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_DEFERRED_MESSAGE,
    FLAG_EPHEMERAL,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_IDENTIFY,
    OPTION_BOOLEAN,
    OPTION_STRING,
    FakeDiscordApp,
    FakeGateway,
    FakeInteraction,
)
from tests.fakes.fixtures import discord_channels, discord_config

# 2025-09-23 00:00 UTC is 09:00 in Seoul, so "today" is the day of the example digest.
NOW = dt.datetime(2025, 9, 23, 0, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 9, 23)
DIGEST_FILES = (
    EXAMPLE_DIGEST,
    FIXTURES / "digests" / "2025-09-10-daily-papers-20250910.md",
    FIXTURES / "digests" / "2025-09-03-daily-papers-20250903.md",
)
# Hang guard only: every wait below ends on an event long before this.
GUARD_SECONDS = 10.0

_Result = TypeVar("_Result")


class RecordingLookup:
    """An arXiv lookup that contains only `metadata` and records every requested id."""

    def __init__(self, metadata: dict[str, ArxivMetadata] | None = None) -> None:
        self.metadata = metadata or {}
        self.requests: list[str] = []

    async def lookup(self, arxiv_id: str) -> ArxivMetadata:
        self.requests.append(arxiv_id)
        if arxiv_id not in self.metadata:
            raise ArxivNotFoundError(arxiv_id, "not in the test lookup")
        return self.metadata[arxiv_id]


class BrokenService:
    """A `/paper` service whose every answer fails with an internal detail in the message."""

    async def answer(self, query_text: str, locale: str | None = None) -> Any:
        raise RuntimeError("secret internal detail: /var/lib/paperbot/state.sqlite3")


ARXIV_ONLY = ArxivMetadata(
    arxiv_id="2509.00001",
    version=1,
    title="A Paper Only arXiv Knows",
    summary="We study @everyone mentions in abstracts.",
    authors=("Ada Lovelace", "Alan Turing"),
    published=dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC),
    abs_url="https://arxiv.org/abs/2509.00001v1",
    pdf_url="https://arxiv.org/pdf/2509.00001v1",
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def store(clock: FakeClock) -> AsyncIterator[Store]:
    opened = await Store.open(":memory:", clock=clock)
    for path in DIGEST_FILES:
        await opened.save_digest(load_digest(path), path.name)
    yield opened
    await opened.close()


@pytest.fixture
def lookup() -> RecordingLookup:
    return RecordingLookup({ARXIV_ONLY.arxiv_id: ARXIV_ONLY})


@pytest.fixture
def service(store: Store, lookup: RecordingLookup, clock: FakeClock) -> PaperService:
    return PaperService(store, lookup, clock)


@pytest.fixture
async def api() -> AsyncIterator[FakeDiscordApp]:
    server = FakeDiscordApp(discord_channels())
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def gateway(api: FakeDiscordApp) -> AsyncIterator[FakeGateway]:
    server = FakeGateway(api)
    await server.start()
    yield server
    await server.close()


async def until(awaitable: Awaitable[_Result], task: asyncio.Task[Any]) -> _Result:
    """Await `awaitable`, failing at once with the error of `task` if that task ends first."""
    waiter = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait(
        {waiter, task}, timeout=GUARD_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    if waiter in done:
        return waiter.result()
    waiter.cancel()
    if task in done:
        raise AssertionError(f"the client stopped early: {task.exception()!r}")
    raise AssertionError(f"no result within the {GUARD_SECONDS} s hang guard")


async def run_client(client: PaperClient) -> AsyncIterator[PaperClient]:
    task = asyncio.create_task(client.serve())
    try:
        await until(client.wait_until_ready(), task)
        client.test_task = task  # type: ignore[attr-defined]
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, GUARD_SECONDS)


@pytest.fixture
async def bot(
    api: FakeDiscordApp, gateway: FakeGateway, service: PaperService, store: Store
) -> AsyncIterator[PaperClient]:
    # guild_ready_timeout=0: the fake READY lists no guilds, so there is nothing to wait for.
    client = PaperClient(discord_config(api), service, store, guild_ready_timeout=0)
    async for running in run_client(client):
        yield running


def string_option(name: str, value: str, *, focused: bool = False) -> dict[str, Any]:
    option: dict[str, Any] = {"name": name, "type": OPTION_STRING, "value": value}
    if focused:
        option["focused"] = True
    return option


def options_of(query: str | None = None, **others: Any) -> list[dict[str, Any]]:
    options = [] if query is None else [string_option("query", query)]
    for name, value in others.items():
        if isinstance(value, bool):
            options.append({"name": name, "type": OPTION_BOOLEAN, "value": value})
        else:
            options.append(string_option(name, value))
    return options


async def ask(
    bot: PaperClient, gateway: FakeGateway, options: list[dict[str, Any]], *, locale: str = "ko"
) -> FakeInteraction:
    """Send `/paper` with `options` and wait for the bot's follow-up."""
    interaction = await gateway.send_command(options, locale=locale)
    await until(interaction.followed_up.wait(), bot.test_task)  # type: ignore[attr-defined]
    return interaction


def content_of(interaction: FakeInteraction) -> str:
    return interaction.followup.get("content", "")


def message(key: str, locale: str = "ko", **values: object) -> str:
    return Translator(locale)(key, **values)


# Connection


async def test_client_connects_to_gateway_from_api(
    bot: PaperClient, api: FakeDiscordApp, gateway: FakeGateway
) -> None:
    assert len(api.requests_to("get_gateway_bot")) == 1
    assert gateway.connections == [{"v": "10", "encoding": "json", "compress": "zlib-stream"}]
    assert bot.application_id == int(APPLICATION_ID)


async def test_client_identifies_without_privileged_intents(
    bot: PaperClient, gateway: FakeGateway
) -> None:
    identify = gateway.sent_by_client(OP_IDENTIFY)

    assert len(identify) == 1
    assert identify[0]["d"]["token"] == discord_api.TOKEN
    # Bit 0 is GUILDS. GUILD_MEMBERS (1), GUILD_PRESENCES (8) and MESSAGE_CONTENT (15)
    # are the privileged intents (Discord "Gateway Intents" reference).
    assert identify[0]["d"]["intents"] == 1 << 0


async def test_gateway_acknowledges_heartbeat(bot: PaperClient, gateway: FakeGateway) -> None:
    assert len(gateway.sent_by_client(OP_HEARTBEAT)) >= 1
    assert any(frame["op"] == OP_HEARTBEAT_ACK for frame in gateway.sent)


async def test_client_rejects_non_websocket_gateway(
    api: FakeDiscordApp, service: PaperService, store: Store
) -> None:
    api.gateway_url = "http://127.0.0.1:9/"
    client = PaperClient(discord_config(api), service, store, sync_on_start=False)

    with pytest.raises(discord.GatewayNotFound):
        await asyncio.wait_for(client.serve(), GUARD_SECONDS)
    await client.close()


def test_client_requires_token(api: FakeDiscordApp, service: PaperService, store: Store) -> None:
    with pytest.raises(ValueError, match="discord.token is missing"):
        PaperClient(discord_config(api, token=None), service, store)


def test_client_rejects_bad_application_id(
    api: FakeDiscordApp, service: PaperService, store: Store
) -> None:
    for application_id in ("paperbot", "١٢٣", ""):
        with pytest.raises(ValueError, match="invalid discord.application_id"):
            PaperClient(discord_config(api, application_id=application_id), service, store)


def test_client_hides_voice_package_warnings(
    api: FakeDiscordApp,
    service: PaperService,
    store: Store,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # discord.py warns only for the first client of a process, so the flags are set again.
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)

    with caplog.at_level(logging.WARNING, logger="discord.client"):
        PaperClient(discord_config(api), service, store)
        logging.getLogger("discord.client").warning("Attempting a reconnect in 1.00s")

    messages = [r.getMessage() for r in caplog.records if r.name == "discord.client"]
    assert not [m for m in messages if "PyNaCl" in m]
    assert not [m for m in messages if "davey" in m]
    assert messages == ["Attempting a reconnect in 1.00s"]
    assert discord.VoiceClient.warn_nacl is False, "discord.py no longer warns in Client()"


# /paper answers


async def test_paper_without_query_lists_latest(
    bot: PaperClient, api: FakeDiscordApp, gateway: FakeGateway
) -> None:
    interaction = await ask(bot, gateway, options_of())

    assert interaction.callback == {"type": CALLBACK_DEFERRED_MESSAGE, "data": {"flags": 64}}
    endpoints = [request.endpoint for request in api.requests]
    assert endpoints.index("interaction_callback") < endpoints.index("execute_webhook")
    lines = content_of(interaction).split("\n")
    assert lines[0] == "Daily Papers — 2025-09-23 · 11편"
    assert lines[1].endswith("Qwen3-Omni Technical Report")
    assert len(lines) == 12
    assert interaction.followup["flags"] == FLAG_EPHEMERAL
    assert interaction.followup["allowed_mentions"] == {"parse": []}


async def test_paper_number_matches_daily_post(
    bot: PaperClient, gateway: FakeGateway, store: Store
) -> None:
    interaction = await ask(bot, gateway, options_of("3"))

    digest = await store.digest_for(TODAY)
    assert digest is not None
    daily = render_discord_paper(digest.papers[2], digest, Translator("ko"))
    followup = interaction.followup
    assert content_of(interaction) == "2025-09-23 3번 논문"
    sent_embed = dict(followup["embeds"][0])
    # discord.Embed.to_dict() adds the default embed flags, which the renderer leaves out.
    assert sent_embed.pop("flags", 0) == 0
    assert sent_embed == daily["embeds"][0]
    assert button_links(followup) == button_links(daily)
    assert followup["allowed_mentions"] == {"parse": []}


def button_links(payload: dict[str, Any]) -> list[list[tuple[str, str]]]:
    return [
        [(button["label"], button["url"]) for button in row["components"]]
        for row in payload["components"]
    ]


@pytest.mark.parametrize(
    "query",
    ["2509.17765", "2509.17765v2", "https://arxiv.org/abs/2509.17765", "arxiv.org/pdf/2509.17765"],
)
async def test_paper_by_id_or_url(
    bot: PaperClient, gateway: FakeGateway, lookup: RecordingLookup, query: str
) -> None:
    interaction = await ask(bot, gateway, options_of(query))

    embed = interaction.followup["embeds"][0]
    assert embed["title"] == "1. Qwen3-Omni Technical Report"
    assert embed["url"] == "https://arxiv.org/abs/2509.17765"
    assert embed["footer"]["text"] == "Daily Papers — 2025-09-23"
    assert content_of(interaction) == "2025-09-23 1번 논문"
    assert lookup.requests == []


async def test_paper_only_on_arxiv(
    bot: PaperClient, gateway: FakeGateway, lookup: RecordingLookup
) -> None:
    interaction = await ask(bot, gateway, options_of("2509.00001"), locale="en-US")

    embed = interaction.followup["embeds"][0]
    assert embed["title"] == "A Paper Only arXiv Knows"
    assert embed["footer"] == {"text": "arXiv · 2025-09-01"}
    lines = content_of(interaction).split("\n")
    assert lines[0] == message("paper_from_arxiv", "en")
    assert lines[1] == "Authors: Ada Lovelace, Alan Turing"
    assert interaction.followup["allowed_mentions"] == {"parse": []}
    assert lookup.requests == ["2509.00001"]


async def test_paper_date_and_number(bot: PaperClient, gateway: FakeGateway) -> None:
    interaction = await ask(bot, gateway, options_of("2", date="2025-09-10"))

    assert content_of(interaction) == "2025-09-10 2번 논문"
    assert interaction.followup["embeds"][0]["title"].startswith("2. Visual Representation")


async def test_paper_date_alone_lists_day(bot: PaperClient, gateway: FakeGateway) -> None:
    interaction = await ask(bot, gateway, options_of(date="2025-09-10"))

    assert content_of(interaction).split("\n")[0] == "Daily Papers — 2025-09-10 · 18편"


async def test_paper_keywords(bot: PaperClient, gateway: FakeGateway) -> None:
    interaction = await ask(bot, gateway, options_of("Qwen3-Omni"), locale="en-GB")

    lines = content_of(interaction).split("\n")
    assert lines[0].startswith("Papers matching")
    assert any("2509.17765" in line for line in lines[1:])
    assert "embeds" not in interaction.followup


@pytest.mark.parametrize(("query", "locale"), [("help", "en-US"), ("도움말", "ko")])
async def test_paper_help(bot: PaperClient, gateway: FakeGateway, query: str, locale: str) -> None:
    interaction = await ask(bot, gateway, options_of(query), locale=locale)

    lines = content_of(interaction).split("\n")
    language = user_locale(discord.Locale(locale))
    assert lines[0] == message("help_title", language)
    assert len(lines) == 9


@pytest.mark.parametrize(
    ("options", "key", "values"),
    [
        (options_of("\u200b"), "error_query_empty", {}),
        (options_of("x" * 2000), "error_query_too_long", {"length": 2000, "max": MAX_QUERY_CHARS}),
        (options_of("0"), "error_invalid_number", {}),
        (
            options_of("999"),
            "error_paper_number_not_found",
            {"date": "2025-09-23", "number": 999, "count": 11},
        ),
        (options_of("2025-09-24"), "error_future_date", {"date": "2025-09-24"}),
        (options_of("1", date="2025-09-24"), "error_future_date", {"date": "2025-09-24"}),
        (options_of("https://arxiv.org/abs/nonsense"), "error_malformed_url", {"site": "arXiv"}),
        (options_of("1", date="2025-02-30"), "error_invalid_date", {"text": "2025-02-30"}),
        (options_of("1", date="23.09.2025"), "error_invalid_date", {"text": "23.09.2025"}),
        (options_of("Qwen", date="2025-09-23"), "error_date_with_query", {}),
        (options_of("2509.99999"), "error_unknown_id", {"arxiv_id": "2509.99999"}),
    ],
)
@pytest.mark.parametrize("locale", ["ko", "en-US"])
async def test_paper_bad_input_gets_message(
    bot: PaperClient,
    gateway: FakeGateway,
    options: list[dict[str, Any]],
    key: str,
    values: dict[str, object],
    locale: str,
) -> None:
    interaction = await ask(bot, gateway, options, locale=locale)

    expected = message(key, user_locale(discord.Locale(locale)), **values)
    assert content_of(interaction).replace("\\", "") == expected
    assert len(content_of(interaction)) < 300
    assert "embeds" not in interaction.followup
    assert interaction.followup["flags"] == FLAG_EPHEMERAL


async def test_paper_public_posts_to_channel(bot: PaperClient, gateway: FakeGateway) -> None:
    interaction = await ask(bot, gateway, options_of("1", public=True))

    assert interaction.callback["type"] == CALLBACK_DEFERRED_MESSAGE
    assert "flags" not in interaction.callback.get("data", {})
    assert "flags" not in interaction.followup
    assert interaction.followup["allowed_mentions"] == {"parse": []}


async def test_paper_explicitly_private(bot: PaperClient, gateway: FakeGateway) -> None:
    interaction = await ask(bot, gateway, options_of("1", public=False))

    assert interaction.callback["data"] == {"flags": FLAG_EPHEMERAL}
    assert interaction.followup["flags"] == FLAG_EPHEMERAL


async def test_paper_hides_internal_errors(
    api: FakeDiscordApp,
    gateway: FakeGateway,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = PaperClient(discord_config(api), BrokenService(), store, guild_ready_timeout=0)  # type: ignore[arg-type]
    async for running in run_client(client):
        with caplog.at_level(logging.ERROR, logger="bot.platforms.discord.commands"):
            interaction = await ask(running, gateway, options_of("1"), locale="en-US")

    assert content_of(interaction) == message("error_internal", "en")
    assert "secret" not in str(interaction.followup)
    logged = [record for record in caplog.records if record.exc_info]
    assert any("secret internal detail" in str(record.exc_info[1]) for record in logged)


async def test_paper_expired_interaction_is_logged(
    bot: PaperClient, api: FakeDiscordApp, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.platforms.discord.commands"):
        expired = await gateway.send_command(options_of("1"))
        expired.expired = True
        # The next interaction is answered only after the expired one was handled.
        await ask(bot, gateway, options_of("2"))

    assert expired.callbacks == []
    assert expired.followups == []
    assert any("not acknowledged" in record.getMessage() for record in caplog.records)


async def test_unknown_command_gets_generic_message(
    bot: PaperClient, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.platforms.discord.commands"):
        interaction = await gateway.send_command(options_of("1"), name="papers")
        await until(interaction.acknowledged.wait(), bot.test_task)  # type: ignore[attr-defined]

    callback = interaction.callback
    assert callback["type"] == 4
    assert callback["data"]["content"] == message("error_internal")
    assert callback["data"]["flags"] == FLAG_EPHEMERAL
    assert any(record.exc_info for record in caplog.records)


# Autocomplete


async def autocomplete(
    bot: PaperClient, gateway: FakeGateway, current: str
) -> list[dict[str, Any]]:
    interaction = await gateway.send_autocomplete([string_option("query", current, focused=True)])
    await until(interaction.acknowledged.wait(), bot.test_task)  # type: ignore[attr-defined]
    assert interaction.callback["type"] == CALLBACK_AUTOCOMPLETE_RESULT
    return interaction.callback["data"]["choices"]


async def test_autocomplete_title_from_archive(
    bot: PaperClient, gateway: FakeGateway, lookup: RecordingLookup
) -> None:
    choices = await autocomplete(bot, gateway, "Qwen3")

    assert choices == [{"name": "2509.17765 · Qwen3-Omni Technical Report", "value": "2509.17765"}]
    assert lookup.requests == []


async def test_autocomplete_empty_lists_latest(bot: PaperClient, gateway: FakeGateway) -> None:
    choices = await autocomplete(bot, gateway, "")

    assert [choice["value"] for choice in choices][:2] == ["2509.17765", "2509.18091"]
    assert len(choices) == 11


async def test_autocomplete_caps_choices(
    bot: PaperClient, gateway: FakeGateway, lookup: RecordingLookup
) -> None:
    choices = await autocomplete(bot, gateway, "2509")

    assert len(choices) == 25
    assert all(1 <= len(choice["name"]) <= 100 for choice in choices)
    assert all(choice["value"].startswith("2509") for choice in choices)
    assert lookup.requests == []


async def test_autocomplete_cuts_long_names(bot: PaperClient, gateway: FakeGateway) -> None:
    choices = await autocomplete(bot, gateway, "2509.17428")

    assert len(choices) == 1
    assert len(choices[0]["name"]) == 100
    assert choices[0]["name"].endswith("…")
    assert choices[0]["value"] == "2509.17428"


@pytest.mark.parametrize("current", ["zzzz-no-such-paper", "x" * 2000, '"NEAR(" OR -- *'])
async def test_autocomplete_no_match(
    bot: PaperClient, gateway: FakeGateway, lookup: RecordingLookup, current: str
) -> None:
    assert await autocomplete(bot, gateway, current) == []
    assert lookup.requests == []


# Command sync


async def test_sync_on_first_start(bot: PaperClient, api: FakeDiscordApp, store: Store) -> None:
    puts = api.requests_to("bulk_overwrite_commands")

    assert len(puts) == 1
    assert puts[0].path == f"/api/v10/applications/{APPLICATION_ID}/commands"
    assert await store.get_value(COMMANDS_HASH_KEY) is not None


async def test_sync_command_definition(bot: PaperClient, api: FakeDiscordApp) -> None:
    (command,) = api.requests_to("bulk_overwrite_commands")[0].body

    assert command["name"] == "paper"
    assert command["description"] == message("discord_command_description", "en")
    assert command["description_localizations"] == {
        "ko": message("discord_command_description", "ko")
    }
    options = {option["name"]: option for option in command["options"]}
    assert list(options) == ["query", "date", "public"]
    assert options["query"]["autocomplete"] is True
    assert options["query"]["type"] == OPTION_STRING
    assert options["public"]["type"] == OPTION_BOOLEAN
    assert not any(option["required"] for option in options.values())
    assert options["date"]["description_localizations"] == {
        "ko": message("discord_date_description", "ko")
    }


async def test_sync_skipped_when_unchanged(
    bot: PaperClient, api: FakeDiscordApp, store: Store
) -> None:
    assert await sync_commands(bot, store) is False
    assert len(api.requests_to("bulk_overwrite_commands")) == 1


async def test_sync_forced(bot: PaperClient, api: FakeDiscordApp, store: Store) -> None:
    assert await sync_commands(bot, store, force=True) is True
    assert len(api.requests_to("bulk_overwrite_commands")) == 2


async def test_sync_when_stored_hash_differs(
    bot: PaperClient, api: FakeDiscordApp, store: Store
) -> None:
    await store.set_value(COMMANDS_HASH_KEY, "hash of an older definition")

    assert await sync_commands(bot, store) is True
    assert len(api.requests_to("bulk_overwrite_commands")) == 2
    assert await sync_commands(bot, store) is False
    assert len(api.requests_to("bulk_overwrite_commands")) == 2


async def test_sync_when_definition_changes(
    bot: PaperClient, api: FakeDiscordApp, store: Store
) -> None:
    @app_commands.command(name="ping", description="Check that the bot answers")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    bot.tree.add_command(ping)

    assert await sync_commands(bot, store) is True
    assert [command["name"] for command in api.commands] == ["paper", "ping"]


async def test_restart_does_not_sync_again(
    bot: PaperClient, api: FakeDiscordApp, service: PaperService, store: Store
) -> None:
    await bot.close()
    again = PaperClient(discord_config(api), service, store, guild_ready_timeout=0)
    try:
        await asyncio.wait_for(again.log_in(), GUARD_SECONDS)
    finally:
        await again.close()

    assert len(api.requests_to("bulk_overwrite_commands")) == 1


async def test_sync_failure_does_not_stop_client(
    api: FakeDiscordApp,
    gateway: FakeGateway,
    service: PaperService,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.application_id = "1400000000000000999"
    client = PaperClient(
        discord_config(api, application_id=APPLICATION_ID), service, store, guild_ready_timeout=0
    )
    with caplog.at_level(logging.WARNING, logger="bot.platforms.discord.commands"):
        async for running in run_client(client):
            interaction = await ask(running, gateway, options_of("1"))

    assert interaction.followup["embeds"]
    assert await store.get_value(COMMANDS_HASH_KEY) is None
    messages = [record.getMessage() for record in caplog.records]
    assert any("not synced" in text for text in messages)
    assert any("is not the application of the token" in text for text in messages)


async def test_discord_sync_uses_rest_only(
    api: FakeDiscordApp, gateway: FakeGateway, service: PaperService, store: Store
) -> None:
    assert await asyncio.wait_for(discord_sync(discord_config(api), service, store), GUARD_SECONDS)
    assert await asyncio.wait_for(discord_sync(discord_config(api), service, store), GUARD_SECONDS)

    assert len(api.requests_to("bulk_overwrite_commands")) == 2
    assert gateway.connections == []


async def test_sync_requires_application_id(
    api: FakeDiscordApp, service: PaperService, store: Store
) -> None:
    client = PaperClient(discord_config(api), service, store)

    with pytest.raises(ValueError, match="application id is unknown"):
        await sync_commands(client, store)
    await client.close()


# Invite URL


def test_invite_url_scopes_and_permissions() -> None:
    url = urlsplit(discord_invite_url(APPLICATION_ID))
    query = parse_qs(url.query)

    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == [APPLICATION_ID]
    assert query["scope"] == ["bot applications.commands"]
    # Bit positions from Discord's "Permissions" reference.
    expected_bits = {
        "VIEW_CHANNEL": 10,
        "SEND_MESSAGES": 11,
        "EMBED_LINKS": 14,
        "READ_MESSAGE_HISTORY": 16,
        "CREATE_PUBLIC_THREADS": 35,
        "SEND_MESSAGES_IN_THREADS": 38,
    }
    assert int(query["permissions"][0]) == sum(1 << bit for bit in expected_bits.values())
    assert query["permissions"] == ["309237730304"]


@pytest.mark.parametrize("application_id", ["", "paperbot", "12 34", "١٢٣"])
def test_invite_url_rejects_bad_id(application_id: str) -> None:
    with pytest.raises(ValueError, match="invalid Discord application id"):
        discord_invite_url(application_id)


# Units: query options, locales and answer payloads


@pytest.mark.parametrize(
    ("query", "date", "expected"),
    [
        ("", None, ""),
        ("  3 ", None, "3"),
        ("Qwen", None, "Qwen"),
        ("", "2025-09-10", "2025-09-10"),
        ("3", "2025-09-10", "2025-09-10 3"),
        ("３", " 2025-09-10 ", "2025-09-10 ３"),
        ("3", "  ", "3"),
    ],
)
def test_compose_query(query: str, date: str | None, expected: str) -> None:
    assert compose_query(query, date) == expected


@pytest.mark.parametrize(
    ("query", "date", "key"),
    [
        ("3", "2025-9-10", "error_invalid_date"),
        ("3", "yesterday", "error_invalid_date"),
        ("Qwen", "2025-09-10", "error_date_with_query"),
        ("2509.17765", "2025-09-10", "error_date_with_query"),
        ("-1", "2025-09-10", "error_date_with_query"),
    ],
)
def test_compose_query_rejects(query: str, date: str, key: str) -> None:
    with pytest.raises(QueryError) as raised:
        compose_query(query, date)
    assert raised.value.key == key


@pytest.mark.parametrize(
    ("locale", "default", "expected"),
    [
        (discord.Locale.korean, "en", "ko"),
        (discord.Locale.american_english, "ko", "en"),
        (discord.Locale.british_english, "ko", "en"),
        (discord.Locale.french, "ko", "ko"),
        (discord.Locale.japanese, "en", "en"),
        (discord.Locale.french, "xx", "ko"),
    ],
)
def test_user_locale(locale: discord.Locale, default: str, expected: str) -> None:
    assert user_locale(locale, default) == expected


def test_render_error_answer_escapes_mentions() -> None:
    answer = error_answer("error_unknown_id", "en", arxiv_id="@everyone")

    payload = render_discord_answer(answer)

    assert payload["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in payload["content"]
    assert answer.kind is AnswerKind.ERROR


def test_render_answer_without_lines_sends_generic_error() -> None:
    payload = render_discord_answer(Answer(AnswerKind.SEARCH_RESULTS, (), locale="en"))

    assert payload["content"] == message("error_internal", "en")


def test_render_arxiv_paper_without_digest() -> None:
    paper = ARXIV_ONLY.to_paper("Abstract")
    entry = AnswerEntry(paper, None, None, metadata=ARXIV_ONLY)
    answer = Answer(AnswerKind.PAPER, ("From arXiv:", paper.title, paper.abs_url), (entry,))

    payload = render_discord_answer(answer)

    embed = payload["embeds"][0]
    assert embed["title"] == "A Paper Only arXiv Knows"
    assert embed["footer"] == {"text": "arXiv · 2025-09-01"}
    assert payload["content"] == "From arXiv:"


def test_render_paper_uses_answer_number() -> None:
    digest = load_digest(EXAMPLE_DIGEST)
    stored = digest.papers[0]
    renumbered = Paper(
        number=7,
        title=stored.title,
        arxiv_id=stored.arxiv_id,
        arxiv_version=stored.arxiv_version,
        links=stored.links,
        sections=stored.sections,
    )
    entry = AnswerEntry(renumbered, digest.date, 1)
    answer = Answer(AnswerKind.PAPER, ("Paper 1 of 2025-09-23",), (entry,), locale="en")

    payload = render_discord_answer(answer, digest=digest)

    assert payload["embeds"][0]["title"].startswith("1. ")
    assert payload["embeds"][0]["footer"]["text"] == "Daily Papers — 2025-09-23"
