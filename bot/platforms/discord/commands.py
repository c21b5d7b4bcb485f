"""`/paper` on Discord: the discord.py client, its command tree, autocomplete and command sync.

The client asks only for the GUILDS intent, which keeps discord.py's guild and channel
cache working, because slash commands arrive as INTERACTION_CREATE events whatever the
intents and no privileged intent is needed. Each `/paper` interaction is
deferred at once, answered by `PaperService`, and completed with one follow-up message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.commands import Answer, AnswerKind, PaperService, QueryError
from bot.config import DiscordConfig
from bot.digest.model import Digest
from bot.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, Translator
from bot.platforms.discord.answers import error_answer, render_discord_answer
from bot.render.discord import DiscordMessagePayload
from bot.search import Suggestion
from bot.store import Store

__all__ = [
    "COMMANDS_HASH_KEY",
    "PaperClient",
    "build_paper_command",
    "command_payloads",
    "compose_query",
    "discord_invite_url",
    "discord_sync",
    "hide_voice_package_warnings",
    "invite_permissions",
    "sync_commands",
    "use_discord_api",
    "user_locale",
]

_log = logging.getLogger(__name__)

COMMAND_NAME = "paper"
# Store key of the SHA-256 of the last command definitions sent to Discord.
COMMANDS_HASH_KEY = "discord.commands_sha256"
# Discord allows at most 25 autocomplete choices, each name and value 1-100 characters
# ("Autocomplete" and "Application Command Option Choice Structure" references).
MAX_CHOICES = 25
MAX_CHOICE_CHARS = 100
# Autocomplete input longer than this is no usable prefix, so it gets no choices.
MAX_AUTOCOMPLETE_INPUT = 200
INVITE_SCOPES = ("bot", "applications.commands")

_DATE_OPTION = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ELLIPSIS = "…"
# Language of the base text of command descriptions. Discord shows the base text to every
# client locale that has no translation.
_BASE_LOCALE = "en"


# Logging

# discord.py 2.7 `Client.__init__` logs these once per process on the `discord.client` logger
# when the voice packages are missing. paperbot never joins a voice channel, so they only
# mislead. Other messages of that logger still pass.
_VOICE_PACKAGE_WARNINGS = frozenset(
    {
        "PyNaCl is not installed, voice will NOT be supported",
        "davey is not installed, voice will NOT be supported",
    }
)


class _VoicePackageWarningFilter(logging.Filter):
    """Drops discord.py's warnings about the missing voice packages."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in _VOICE_PACKAGE_WARNINGS


def hide_voice_package_warnings() -> None:
    """Install the filter of the missing-voice-package warnings on `discord.client`, once."""
    logger = logging.getLogger("discord.client")
    if not any(isinstance(f, _VoicePackageWarningFilter) for f in logger.filters):
        logger.addFilter(_VoicePackageWarningFilter())


# Endpoints and invite


def use_discord_api(api_base: str) -> None:
    """Send every discord.py REST request, webhooks included, to `api_base`.

    discord.py documents `Route.BASE` as the way to reach the API through a proxy. It is a
    class attribute, so the value is shared by every client and poster in the process.
    """
    Route.BASE = api_base.rstrip("/")


def invite_permissions() -> discord.Permissions:
    """Return the channel permissions the bot needs to post papers and answer `/paper`."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        read_message_history=True,
    )


def discord_invite_url(application_id: int | str) -> str:
    """Return the OAuth2 URL that adds the bot with slash commands and `invite_permissions`.

    Raises:
        ValueError: `application_id` is not a Discord snowflake.
    """
    text = str(application_id).strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"invalid Discord application id {application_id!r}: expected digits")
    return discord.utils.oauth_url(text, permissions=invite_permissions(), scopes=INVITE_SCOPES)


# Query options


def user_locale(locale: discord.Locale, default: str = DEFAULT_LOCALE) -> str:
    """Return the bot locale of a Discord client locale (`en-GB` is `en`), else `default`."""
    language = str(locale.value).split("-")[0]
    if language in SUPPORTED_LOCALES:
        return language
    return default if default in SUPPORTED_LOCALES else DEFAULT_LOCALE


def compose_query(query: str, date: str | None) -> str:
    """Join the `query` and `date` options into the text after `/paper`.

    The date goes before a paper number or is the whole query, because those are the only
    `/paper` forms with a date.

    Raises:
        QueryError: `date` is not YYYY-MM-DD, or it comes with a query that is no number.
    """
    query = query.strip()
    if date is None or not date.strip():
        return query
    date = date.strip()
    if not _DATE_OPTION.fullmatch(date):
        raise QueryError("error_invalid_date", text=date[:40])
    if query and not query.isdecimal():
        raise QueryError("error_date_with_query")
    return f"{date} {query}".strip()


def _choice(suggestion: Suggestion) -> app_commands.Choice[str]:
    title = suggestion.title.strip()
    name = f"{suggestion.arxiv_id} · {title}" if title else suggestion.arxiv_id
    if len(name) > MAX_CHOICE_CHARS:
        name = name[: MAX_CHOICE_CHARS - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return app_commands.Choice(name=name, value=suggestion.arxiv_id)


# Command definition


class CommandTextTranslator(app_commands.Translator):
    """Fill command and option descriptions from the locale files.

    Strings carry their locale-file key in `locale_str.extras["key"]`, and their message is
    the English text, which Discord shows to every locale without a translation.
    """

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        language = str(locale.value).split("-")[0]
        if key is None or language not in SUPPORTED_LOCALES or language == _BASE_LOCALE:
            return None
        return Translator(language)(key)


def _text(key: str) -> app_commands.locale_str:
    return app_commands.locale_str(Translator(_BASE_LOCALE)(key), key=key)


def build_paper_command() -> app_commands.Command[Any, ..., None]:
    """Build the `/paper` command with autocomplete on `query`, for a `PaperClient` tree."""

    @app_commands.command(name=COMMAND_NAME, description=_text("discord_command_description"))
    @app_commands.describe(
        query=_text("discord_query_description"),
        date=_text("discord_date_description"),
        public=_text("discord_public_description"),
    )
    async def paper(
        interaction: discord.Interaction[PaperClient],
        query: str = "",
        date: str | None = None,
        public: bool = False,
    ) -> None:
        await interaction.client.answer_paper(interaction, query=query, date=date, public=public)

    @paper.autocomplete("query")
    async def suggest_query(
        interaction: discord.Interaction[PaperClient], current: str
    ) -> list[app_commands.Choice[str]]:
        return await interaction.client.suggest_queries(current)

    return paper


class PaperCommandTree(app_commands.CommandTree["PaperClient"]):
    """The command tree of `PaperClient`, logging errors that reach discord.py's dispatch."""

    async def on_error(
        self, interaction: discord.Interaction[PaperClient], error: app_commands.AppCommandError
    ) -> None:
        """Log `error` with its traceback and send the user a generic localized message."""
        command = interaction.command.name if interaction.command else None
        _log.error(
            "interaction %s (command %s) failed: %s",
            interaction.id,
            command,
            error,
            exc_info=error,
        )
        if interaction.type is not discord.InteractionType.application_command:
            return
        locale = user_locale(interaction.locale, interaction.client.default_locale)
        payload = render_discord_answer(error_answer("error_internal", locale))
        try:
            if interaction.response.is_done():
                await interaction.followup.send(**_send_arguments(payload), ephemeral=True)
            else:
                await interaction.response.send_message(**_send_arguments(payload), ephemeral=True)
        except Exception:
            # The last handler of the interaction: anything it raises would only reach
            # asyncio's "exception was never retrieved".
            _log.exception("interaction %s: the generic error message was not sent", interaction.id)


# Client


class PaperClient(discord.Client):
    """A Discord client that answers `/paper` from the digest archive.

    Args:
        config: The `discord` section of the config.
        service: Answers `/paper` queries.
        store: The archive, for autocomplete, the digests of answers and the commands hash.
        default_locale: Locale of users whose Discord language the bot has no strings for.
        sync_on_start: Sync the commands on login when their definition changed.
        ready_callback: Called after each READY from the gateway, once the client is ready.
        **options: Further `discord.Client` options, such as `guild_ready_timeout`.

    Raises:
        ValueError: the token is missing or the application id is not a number.
    """

    def __init__(
        self,
        config: DiscordConfig,
        service: PaperService,
        store: Store,
        *,
        default_locale: str = DEFAULT_LOCALE,
        sync_on_start: bool = True,
        ready_callback: Callable[[], None] | None = None,
        **options: Any,
    ) -> None:
        if not config.token:
            raise ValueError("discord.token is missing; set it to the bot token")
        application_id = str(config.application_id or "")
        if config.application_id is not None and not (
            application_id.isascii() and application_id.isdigit()
        ):
            raise ValueError(
                f"invalid discord.application_id {config.application_id!r}: expected digits"
            )
        if config.application_id is not None:
            options.setdefault("application_id", int(config.application_id))
        hide_voice_package_warnings()
        super().__init__(
            intents=discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        use_discord_api(config.api_base)
        self._token = config.token
        self.default_locale = default_locale
        self.tree = PaperCommandTree(self)
        self.tree.add_command(build_paper_command())
        self._service = service
        self._store = store
        self._sync_on_start = sync_on_start
        self._ready_callback = ready_callback

    async def log_in(self) -> None:
        """Log in over REST with the configured token, without connecting to the gateway."""
        await self.login(self._token)

    async def serve(self) -> None:
        """Log in, connect to the gateway and answer interactions until the client closes."""
        await self.start(self._token)

    async def setup_hook(self) -> None:
        """Load the description translations and sync the commands if they changed."""
        await self.tree.set_translator(CommandTextTranslator())
        token_application = self.application.id if self.application else None
        if token_application is not None and token_application != self.application_id:
            _log.warning(
                "discord.application_id %s is not the application of the token (%s); "
                "commands are synced to %s, where Discord may reject them",
                self.application_id,
                token_application,
                self.application_id,
            )
        if not self._sync_on_start:
            return
        try:
            await sync_commands(self, self._store)
        except (discord.HTTPException, app_commands.AppCommandError):
            _log.exception("Discord commands not synced; /paper may show an old definition")

    async def connect(self, *, reconnect: bool = True) -> None:
        """Connect to the gateway URL that the configured API returns, and read events.

        discord.py 2.7 `Client.connect` opens `DiscordWebSocket.DEFAULT_GATEWAY` without
        requesting `GET /gateway/bot` (only `AutoShardedClient` requests it), so gateway
        traffic would bypass a fake or proxied API. The URL is a class attribute, shared by
        every client in the process.

        Raises:
            discord.GatewayNotFound: the API returned no usable websocket URL.
        """
        _shards, url, _limits = await self.http.get_bot_gateway()
        gateway = yarl.URL(url)
        if gateway.scheme not in ("ws", "wss") or not gateway.host:
            raise discord.GatewayNotFound()
        DiscordWebSocket.DEFAULT_GATEWAY = gateway
        _log.info("connecting to the Discord gateway at %s", gateway.host)
        await super().connect(reconnect=reconnect)

    async def on_ready(self) -> None:
        _log.info("Discord client ready as %s (application %s)", self.user, self.application_id)
        if self._ready_callback is not None:
            self._ready_callback()

    async def answer_paper(
        self,
        interaction: discord.Interaction[PaperClient],
        *,
        query: str,
        date: str | None,
        public: bool,
    ) -> None:
        """Defer the interaction, answer the query and send the answer as a follow-up.

        The answer is ephemeral unless `public`. Failures are logged with their traceback,
        and a failed answer reaches the user as the localized generic error message.
        """
        ephemeral = not public
        try:
            await interaction.response.defer(ephemeral=ephemeral)
        except discord.HTTPException:
            _log.exception("/paper interaction %s not acknowledged; no answer sent", interaction.id)
            return

        locale = user_locale(interaction.locale, self.default_locale)
        _log.debug("/paper interaction %s: %d query characters", interaction.id, len(query))
        payload = await self._answer_payload(query, date, locale)
        try:
            await interaction.followup.send(**_send_arguments(payload), ephemeral=ephemeral)
        except discord.HTTPException:
            _log.exception("/paper interaction %s: follow-up not sent", interaction.id)

    async def suggest_queries(self, current: str) -> list[app_commands.Choice[str]]:
        """Return autocomplete choices for `current` from the local archive only."""
        if len(current) > MAX_AUTOCOMPLETE_INPUT:
            return []
        try:
            suggestions = await self._store.suggest(current, limit=MAX_CHOICES)
        except Exception:
            _log.exception("/paper autocomplete failed; the user gets no choices")
            return []
        return [_choice(suggestion) for suggestion in suggestions[:MAX_CHOICES]]

    async def _answer_payload(
        self, query: str, date: str | None, locale: str
    ) -> DiscordMessagePayload:
        try:
            answer = await self._answer(query, date, locale)
            return render_discord_answer(answer, digest=await self._digest_of(answer))
        except Exception:
            _log.exception("/paper answer failed; the user got the generic error message")
            return render_discord_answer(error_answer("error_internal", locale))

    async def _answer(self, query: str, date: str | None, locale: str) -> Answer:
        try:
            text = compose_query(query, date)
        except QueryError as error:
            return error_answer(error.key, locale, **error.values)
        return await self._service.answer(text, locale)

    async def _digest_of(self, answer: Answer) -> Digest | None:
        """Return the digest that lists the paper of a lookup by id, which the answer lacks."""
        if answer.kind is not AnswerKind.PAPER or answer.digest is not None or not answer.entries:
            return None
        date = answer.entries[0].date
        return await self._store.digest_for(date) if date is not None else None


def _send_arguments(payload: DiscordMessagePayload) -> dict[str, Any]:
    """Turn a create-message payload into `Webhook.send` arguments of discord.py objects."""
    arguments: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if payload.get("content"):
        arguments["content"] = payload["content"]
    if payload.get("embeds"):
        arguments["embeds"] = [discord.Embed.from_dict(embed) for embed in payload["embeds"]]
    if payload.get("components"):
        arguments["view"] = _link_buttons(payload["components"])
    return arguments


def _link_buttons(rows: list[dict[str, Any]]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for row_index, row in enumerate(rows):
        for button in row.get("components", []):
            if button.get("style") != discord.ButtonStyle.link.value:
                _log.warning("component of type %s left out: only link buttons are sent", button)
                continue
            view.add_item(
                discord.ui.Button(
                    style=discord.ButtonStyle.link,
                    label=button.get("label"),
                    url=button["url"],
                    row=row_index,
                )
            )
    return view


# Command sync


async def command_payloads(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    """Return the global command definitions exactly as `tree.sync()` sends them."""
    translator = tree.translator
    commands = tree.get_commands()
    if translator is None:
        return [command.to_dict(tree) for command in commands]
    return [await command.get_translated_payload(tree, translator) for command in commands]


async def sync_commands(client: discord.Client, store: Store, force: bool = False) -> bool:
    """Send the client's global commands to Discord unless Discord already has them.

    The SHA-256 of the application id and the command definitions is kept in the store,
    and a sync happens only when it changed or `force` is set, because Discord limits how
    often an application may create commands.

    Returns:
        True when the commands were sent.

    Raises:
        ValueError: the client has no application id yet (it is set at login).
        discord.HTTPException, app_commands.CommandSyncFailure: Discord rejected the sync.
    """
    tree: app_commands.CommandTree[Any] | None = getattr(client, "tree", None)
    if tree is None:
        raise ValueError("the client has no command tree to sync")
    if client.application_id is None:
        raise ValueError("the Discord application id is unknown; log in before syncing")

    definition = {
        "application_id": str(client.application_id),
        "commands": await command_payloads(tree),
    }
    encoded = json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()
    digest = hashlib.sha256(encoded).hexdigest()
    if not force and await store.get_value(COMMANDS_HASH_KEY) == digest:
        _log.debug("Discord commands unchanged; sync skipped")
        return False

    synced = await tree.sync()
    await store.set_value(COMMANDS_HASH_KEY, digest)
    _log.info("%d Discord commands synced for application %s", len(synced), client.application_id)
    return True


async def discord_sync(
    config: DiscordConfig, service: PaperService, store: Store, *, force: bool = True
) -> bool:
    """Log in over REST only, sync the commands and close; the body of `paperbot discord-sync`.

    Raises:
        discord.LoginFailure: the token is invalid.
        discord.HTTPException, app_commands.CommandSyncFailure: Discord rejected the sync.
    """
    client = PaperClient(config, service, store, sync_on_start=False)
    try:
        await client.log_in()
        return await sync_commands(client, store, force=force)
    finally:
        await client.close()
