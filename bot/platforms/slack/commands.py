"""`/paper` on Slack: acknowledge every request at once, then answer through response_url.

Slack drops a slash command or button click that is not acknowledged within 3 seconds,
while an answer may wait on SQLite or arXiv. So each listener only acknowledges and
starts a task, and `PaperCommandHandler` owns those tasks until they finish or
`close()` cancels them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.webhook import WebhookResponse

from bot.commands import Answer, AnswerKind, QueryError, clean_query
from bot.config import Config, Platform
from bot.i18n import SUPPORTED_LOCALES, translator
from bot.platforms.slack.answers import (
    IN_CHANNEL,
    SHARE_ACTION_ID,
    SlackResponsePayload,
    render_slack_answer,
    render_slack_error,
)

_log = logging.getLogger(__name__)

DEFAULT_COMMAND = "/paper"
# Seconds that close() lets answers in flight finish before it cancels them.
DEFAULT_GRACE_SECONDS = 5.0

Respond = Callable[[SlackResponsePayload], Awaitable[WebhookResponse]]
"""Bolt's `respond`, called with one whole response_url message."""

SlashCommandPayload = dict[str, Any]
"""The form fields of a slash command request: command, text, channel_id, response_url…"""

BlockActionsPayload = dict[str, Any]
"""The JSON body of a `block_actions` interaction: user, channel, actions, response_url…"""


class AnswerService(Protocol):
    """Interface of `bot.commands.PaperService` that the handler uses."""

    async def answer(self, query_text: str, locale: str | None = None) -> Answer:
        """Answer the text after `/paper` in `locale`."""
        ...


@dataclass(frozen=True)
class ShareRequest:
    """Query and locale in a "Share to channel" button, so a click gives the same answer again."""

    query: str
    locale: str

    def encode(self) -> str:
        return json.dumps({"query": self.query, "locale": self.locale}, ensure_ascii=False)

    @classmethod
    def decode(cls, value: object) -> ShareRequest | None:
        """Return the request in a button value, or None when the value is not one."""
        if not isinstance(value, str):
            return None
        try:
            data = json.loads(value)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        query, locale = data.get("query"), data.get("locale")
        if not isinstance(query, str) or locale not in SUPPORTED_LOCALES:
            return None
        return cls(query, locale)


def share_query(answer: Answer, query_text: str) -> str | None:
    """Return a query that answers the same again later, or None when there is nothing to share.

    A list or a paper picked by number is pinned to its digest date, so a share after the
    next daily post still shows the papers the user saw. Ids, links and keywords do not
    depend on the day.
    """
    if answer.kind in (AnswerKind.ERROR, AnswerKind.HELP):
        return None
    if answer.digest is not None and answer.kind is AnswerKind.PAPER_LIST:
        return answer.digest.date.isoformat()
    if answer.digest is not None and answer.kind is AnswerKind.PAPER and answer.entries:
        return f"{answer.digest.date.isoformat()} {answer.entries[0].number}"
    try:
        return clean_query(query_text)
    except QueryError:
        return None


def _check_command(command: str) -> None:
    if not command.startswith("/") or len(command) < 2 or any(c.isspace() for c in command):
        raise ValueError(f"invalid Slack command {command!r}: expected a name such as /paper")


class PaperCommandHandler:
    """Bolt listeners of `/paper` and of the "Share to channel" button.

    Args:
        service: Answers queries, normally `bot.commands.PaperService`.
        default_locale: Locale of channels without their own.
        channel_locales: Locale of each configured channel, by Slack channel id.
    """

    def __init__(
        self,
        service: AnswerService,
        *,
        default_locale: str,
        channel_locales: Mapping[str, str] | None = None,
    ) -> None:
        self._service = service
        self._default_locale = default_locale
        self._channel_locales = dict(channel_locales or {})
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    def from_config(cls, config: Config, service: AnswerService) -> PaperCommandHandler:
        """Build a handler with the locales of `config` and its Slack channels."""
        locales = {
            channel.id: channel.locale
            for channel in config.channels_for(Platform.SLACK)
            if channel.locale
        }
        return cls(service, default_locale=config.locale, channel_locales=locales)

    @property
    def pending(self) -> int:
        """Number of answers started and not yet finished."""
        return len(self._tasks)

    def register(self, app: AsyncApp, command: str = DEFAULT_COMMAND) -> None:
        """Add the listeners of `command` and of the share button to `app`.

        Raises:
            ValueError: `command` is not a slash command name.
        """
        _check_command(command)
        app.command(command)(self.on_command)
        app.action(SHARE_ACTION_ID)(self.on_share)

    def locale_for(self, channel_id: str | None) -> str:
        """Return the locale of a configured channel, else the default locale."""
        return self._channel_locales.get(channel_id or "", self._default_locale)

    async def on_command(
        self, ack: Callable[[], Awaitable[Any]], command: SlashCommandPayload, respond: Respond
    ) -> None:
        """Acknowledge a slash command with no body and answer it in a task."""
        await ack()
        self._spawn(self._answer_command(command, respond), "command")

    async def on_share(
        self, ack: Callable[[], Awaitable[Any]], body: BlockActionsPayload, respond: Respond
    ) -> None:
        """Acknowledge a share button click and post the answer to the channel in a task."""
        await ack()
        self._spawn(self._share(body, respond), "share")

    async def close(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        """Let answers in flight finish for `grace_seconds`, then cancel the rest.

        Requests that arrive afterwards are acknowledged but not answered.
        """
        self._closed = True
        if not self._tasks:
            return
        _, unfinished = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in unfinished:
            task.cancel()
        if unfinished:
            _log.warning("%d /paper answers cancelled at shutdown", len(unfinished))
            await asyncio.gather(*unfinished, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None], kind: str) -> None:
        if self._closed:
            work.close()
            _log.warning("Slack %s request acknowledged but not answered: shutting down", kind)
            return
        task = asyncio.create_task(self._guarded(work, kind), name=f"slack-paper-{kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None], kind: str) -> None:
        # A failed answer must not end silently in an unawaited task.
        try:
            await work
        except Exception:
            _log.exception("Slack %s request failed, so the user got no answer", kind)

    async def _answer_command(self, command: SlashCommandPayload, respond: Respond) -> None:
        channel_id = command.get("channel_id")
        locale = self.locale_for(channel_id)
        text = str(command.get("text") or "")
        _log.debug(
            "%s from user %s in channel %s, locale %s",
            command.get("command"),
            command.get("user_id"),
            channel_id,
            locale,
        )
        try:
            answer = await self._service.answer(text, locale)
            query = share_query(answer, text)
            share = ShareRequest(query, answer.locale).encode() if query else None
            payload = render_slack_answer(answer, share_value=share)
        except Exception:
            _log.exception(
                "/paper answer failed in channel %s, so the user got a generic error", channel_id
            )
            payload = render_slack_error(translator(locale)("error_internal"))
        await _send(respond, payload, "answer", channel_id)

    async def _share(self, body: BlockActionsPayload, respond: Respond) -> None:
        channel_id = (body.get("channel") or {}).get("id")
        user_id = (body.get("user") or {}).get("id")
        action = next(
            (a for a in body.get("actions") or [] if a.get("action_id") == SHARE_ACTION_ID), {}
        )
        request = ShareRequest.decode(action.get("value"))
        if request is None:
            _log.warning("share button of user %s in %s has an invalid value", user_id, channel_id)
            await self._share_failed(respond, self.locale_for(channel_id), channel_id)
            return

        _log.debug("user %s shares a /paper answer in channel %s", user_id, channel_id)
        try:
            answer = await self._service.answer(request.query, request.locale)
            payload = render_slack_answer(answer, response_type=IN_CHANNEL)
        except Exception:
            _log.exception("shared /paper answer failed in channel %s", channel_id)
            await self._share_failed(respond, request.locale, channel_id)
            return
        if answer.kind is AnswerKind.ERROR:
            # The answer changed since it was shown (a digest was replaced, arXiv is down):
            # the error goes to the user alone, never to the channel.
            await _send(respond, _keep_original(render_slack_error(answer.lines[0])), "share")
            return

        if await _send(respond, _keep_original(payload), "shared answer", channel_id):
            # A new channel message is posted first, so a failure keeps the private answer.
            await _send(respond, {"delete_original": True}, "removal of the private answer")

    async def _share_failed(self, respond: Respond, locale: str, channel_id: str | None) -> None:
        text = translator(locale)("slack_share_failed")
        await _send(respond, _keep_original(render_slack_error(text)), "share error", channel_id)


def _keep_original(payload: SlackResponsePayload) -> SlackResponsePayload:
    # Set explicitly so that the message is posted as a new one and never replaces the
    # clicked message.
    return {**payload, "replace_original": False}


async def _send(
    respond: Respond, payload: SlackResponsePayload, what: str, channel_id: str | None = None
) -> bool:
    """Send `payload` to the response_url and return whether Slack accepted it.

    A failure is logged and not raised.
    """
    try:
        response = await respond(payload)
    except (aiohttp.ClientError, TimeoutError):
        _log.exception("sending the /paper %s to channel %s failed", what, channel_id)
        return False
    if response.status_code != 200:
        # Slack returns a plain-text error code such as `expired_url` or `invalid_blocks`.
        _log.warning(
            "response_url rejected the /paper %s for channel %s: HTTP %d %.100s",
            what,
            channel_id,
            response.status_code,
            response.body,
        )
        return False
    return True
