"""Slack Web API poster on slack_sdk's AsyncWebClient, with platform-neutral errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config import Platform, SlackConfig
from bot.digest.model import Digest, Paper
from bot.i18n import Translator
from bot.platforms.base import (
    MessagePayload,
    PermanentError,
    PlatformError,
    PostResult,
    Rate,
    RateLimited,
    Target,
    TransientError,
)
from bot.render.slack import EVENT_TYPE, render_slack_header, render_slack_paper

_log = logging.getLogger(__name__)

# Error codes that Slack returns with HTTP 200 and `ok: false` for server-side failures that a
# retry may fix; Slack's method reference calls internal_error "likely due to a transient issue".
_TRANSIENT_CODES = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)

# Wait used when a 429 arrives without a Retry-After header.
_DEFAULT_RETRY_AFTER_SECONDS = 1.0

# Messages per conversations.history or conversations.replies request.
_HISTORY_PAGE_SIZE = 200

# Error codes of a conversations.replies request that the token may not make at all.
_REPLIES_REJECTED_CODES = frozenset({"not_allowed_token_type", "missing_scope"})

# Message content that chat.update takes from a chat.postMessage payload. `metadata` is sent
# again so the edited message can still be found by it.
_UPDATE_CONTENT_FIELDS = ("text", "blocks", "attachments", "metadata")


@dataclass(frozen=True)
class HistoryMessage:
    """One message from conversations.history: its `ts` and the app metadata sent with it."""

    ts: str
    metadata: dict[str, Any] | None
    thread_ts: str | None = None


class SlackPoster:
    """Posts Block Kit payloads through slack_sdk and leaves retry timing to the caller.

    slack_sdk's own retry handlers are disabled, so a 429 or a dropped connection surfaces at
    once as `RateLimited` or `TransientError` and delivery waits on its injected clock.
    """

    platform = Platform.SLACK

    def __init__(self, config: SlackConfig, *, request_timeout_seconds: float = 30.0) -> None:
        if not config.bot_token:
            raise ValueError("slack.bot_token is missing; set it to the bot's xoxb- token")
        self.rate = Rate(1, config.min_interval_seconds)
        self._config = config
        self._timeout = request_timeout_seconds
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None

    def _web_client(self) -> AsyncWebClient:
        # The session is created on first use because aiohttp wants a running event loop.
        if self._client is None:
            # slack_sdk applies its `timeout` only to sessions it creates, so ours carries it.
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._client = AsyncWebClient(
                token=self._config.bot_token,
                base_url=self._config.api_url,
                session=self._session,
                retry_handlers=[],
            )
        return self._client

    async def verify(self) -> str:
        """Check the token with auth.test and return the bot's user id."""
        response = await self._call("auth.test", lambda client: client.api_call("auth.test"))
        return str(response["user_id"])

    async def post(self, target: Target, payload: MessagePayload) -> PostResult:
        """Send `payload` to chat.postMessage unchanged and return the new message's `ts`.

        The payload must already name `target.channel_id` in `channel` and, for a thread reply,
        `target.thread_id` in `thread_ts`; the renderer puts them there.

        Raises:
            ValueError: the payload addresses another channel or thread than `target`.
            RateLimited, TransientError, PermanentError: Slack rejected the request.
        """
        _check_addressed_to(payload, target)
        response = await self._call(
            "chat.postMessage",
            lambda client: client.api_call("chat.postMessage", json=payload),
        )
        return PostResult(message_id=str(response["ts"]), channel_id=str(response["channel"]))

    async def update(self, target: Target, message_id: str, payload: MessagePayload) -> PostResult:
        """Replace the message `message_id` (its `ts`) with `payload` through chat.update.

        A thread reply is edited in its channel, so `target.thread_id` is not sent. Only the
        fields that chat.update takes are copied from the chat.postMessage payload.

        Raises:
            RateLimited, TransientError, PermanentError: Slack rejected the request.
        """
        body = update_body(target.channel_id, message_id, payload)
        response = await self._call(
            "chat.update", lambda client: client.api_call("chat.update", json=body)
        )
        return PostResult(message_id=str(response["ts"]), channel_id=str(response["channel"]))

    async def find_sent(self, target: Target, digest_date: dt.date, paper: int) -> str | None:
        """Return the `ts` of the paper's message in `target`, found by its app metadata.

        A channel target searches conversations.history from the day before `digest_date`
        (UTC), because a digest's messages are never sent before its date in any time zone.
        A thread target searches the replies of `target.thread_id` with conversations.replies.
        """
        if target.thread_id is None:
            oldest = dt.datetime.combine(digest_date - dt.timedelta(days=1), dt.time(), dt.UTC)
            pages = self._history_pages(target.channel_id, f"{oldest.timestamp():.6f}")
        else:
            pages = self._reply_pages(target.channel_id, target.thread_id)
        try:
            async for page in pages:
                for message in page:
                    if _is_paper_message(message, digest_date, paper):
                        return message.ts
        except PermanentError as error:
            if target.thread_id is None or error.code not in _REPLIES_REJECTED_CODES:
                raise
            # NOTE: Slack's conversations.replies reference says bot tokens lack permission for
            # channel threads, while its channels:history scope page lists the method for bot
            # tokens. A rejected lookup counts as not found, so the reply may be sent twice.
            _log.warning(
                "conversations.replies rejected in %s (%s); paper %d is sent again without a check",
                target.channel_id,
                error.code,
                paper,
            )
        return None

    async def open_thread(self, channel_id: str, message_id: str, name: str) -> Target:
        """Return the target for replies to `message_id`; Slack threads need no request."""
        return Target(channel_id=channel_id, thread_id=message_id)

    async def history(self, channel_id: str, oldest: str) -> list[HistoryMessage]:
        """Return the messages after `oldest` (a ts), newest first, with their app metadata."""
        messages: list[HistoryMessage] = []
        async for page in self._history_pages(channel_id, oldest):
            messages.extend(page)
        return messages

    def _history_pages(self, channel_id: str, oldest: str) -> AsyncIterator[list[HistoryMessage]]:
        def request(client: AsyncWebClient, cursor: str | None) -> Awaitable[AsyncSlackResponse]:
            return client.conversations_history(
                channel=channel_id,
                oldest=oldest,
                include_all_metadata=True,
                limit=_HISTORY_PAGE_SIZE,
                cursor=cursor,
            )

        return self._pages("conversations.history", request)

    def _reply_pages(self, channel_id: str, thread_ts: str) -> AsyncIterator[list[HistoryMessage]]:
        def request(client: AsyncWebClient, cursor: str | None) -> Awaitable[AsyncSlackResponse]:
            return client.conversations_replies(
                channel=channel_id,
                ts=thread_ts,
                include_all_metadata=True,
                limit=_HISTORY_PAGE_SIZE,
                cursor=cursor,
            )

        return self._pages("conversations.replies", request)

    async def _pages(
        self,
        method: str,
        request: Callable[[AsyncWebClient, str | None], Awaitable[AsyncSlackResponse]],
    ) -> AsyncIterator[list[HistoryMessage]]:
        """Yield the messages of each page of a cursor-paginated method."""
        cursor: str | None = None
        while True:
            response = await self._call(
                method, lambda client, cursor=cursor: request(client, cursor)
            )
            yield [_history_message(raw) for raw in response.get("messages", [])]
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None

    async def _call(
        self,
        method: str,
        send: Callable[[AsyncWebClient], Awaitable[AsyncSlackResponse]],
    ) -> AsyncSlackResponse:
        try:
            return await send(self._web_client())
        except SlackApiError as error:
            raise _translate_api_error(method, error) from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TransientError(f"Slack {method} failed: {type(error).__name__}") from error
        except SlackClientError as error:
            raise PermanentError(f"Slack {method} failed: {error}", code="client_error") from error


def _check_addressed_to(payload: MessagePayload, target: Target) -> None:
    if payload.get("channel") != target.channel_id:
        raise ValueError(
            f"Slack payload channel {payload.get('channel')!r} does not match the target "
            f"channel {target.channel_id!r}; render the payload for the target"
        )
    if payload.get("thread_ts") != target.thread_id:
        raise ValueError(
            f"Slack payload thread_ts {payload.get('thread_ts')!r} does not match the target "
            f"thread {target.thread_id!r}; render the payload for the target"
        )


def _translate_api_error(method: str, error: SlackApiError) -> PlatformError:
    response = error.response
    status = response.status_code
    code = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    message = f"Slack {method} failed: HTTP {status} {code or 'without an error code'}"
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        seconds = float(retry_after) if retry_after else _DEFAULT_RETRY_AFTER_SECONDS
        return RateLimited(message, retry_after=seconds)
    if status >= 500 or code in _TRANSIENT_CODES:
        return TransientError(message)
    return PermanentError(message, code=code or f"http_{status}")


def update_body(channel_id: str, ts: str, payload: MessagePayload) -> MessagePayload:
    """Build the chat.update body that gives message `ts` the content of `payload`.

    chat.update takes no `thread_ts` or `unfurl_*` arguments, and its `parse` defaults to
    `client` where chat.postMessage's defaults to `none` (Slack's chat.update reference).
    `parse: none` keeps the edited text formatted like the posted one.
    """
    body = {key: payload[key] for key in _UPDATE_CONTENT_FIELDS if key in payload}
    return {"channel": channel_id, "ts": ts, "parse": "none", **body}


def _is_paper_message(message: HistoryMessage, digest_date: dt.date, paper: int) -> bool:
    metadata = message.metadata or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload") or {}
    return payload.get("digest_date") == digest_date.isoformat() and payload.get("paper") == paper


def _history_message(raw: dict[str, Any]) -> HistoryMessage:
    return HistoryMessage(
        ts=raw["ts"], metadata=raw.get("metadata"), thread_ts=raw.get("thread_ts")
    )


class SlackMessages:
    """Builds Slack payloads with `bot.render.slack`; a thread reply carries `thread_ts`."""

    def header(
        self, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        """Build the header message; Slack has no nonce, so `nonce` is unused."""
        return render_slack_header(digest, translator, channel=target.channel_id)

    def paper(
        self, paper: Paper, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        """Build one paper's message, as a thread reply when `target` names a thread."""
        return render_slack_paper(
            paper, digest, translator, channel=target.channel_id, thread_ts=target.thread_id
        )
