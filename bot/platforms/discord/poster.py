"""Discord REST poster on discord.py's HTTPClient (no gateway), with neutral errors.

discord.py (2.7, discord/http.py) handles a 429 by sleeping on the event loop and retrying,
and retries 500/502/504 the same way. An aiohttp trace hook raises on those statuses before
discord.py reads the response, so they surface as `RateLimited` or `TransientError` and
delivery waits on its injected clock instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import types
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient, Route

from bot.config import DiscordConfig, Platform
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
from bot.render.discord import render_discord_header, render_discord_paper

_log = logging.getLogger(__name__)

# Discord error code for "A thread has already been created for this message".
_THREAD_ALREADY_CREATED = 160004

# Discord's Start Thread from Message body takes a name of 1-100 characters.
_MAX_THREAD_NAME = 100

# Minutes of inactivity before Discord archives the thread: one of 60, 1440, 4320 or 10080.
_THREAD_ARCHIVE_MINUTES = 1440


# JSON fields that Discord's Edit Message takes; the rest of a create-message body is dropped.
_EDIT_FIELDS = ("content", "embeds", "components", "allowed_mentions", "flags", "attachments")


class _InterceptedStatus(Exception):
    """A 429 or 5xx response, raised from the trace hook before discord.py's retry loop runs."""

    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = headers
        self.body = body


async def _raise_on_retryable_status(
    session: aiohttp.ClientSession,
    context: types.SimpleNamespace,
    params: aiohttp.TraceRequestEndParams,
) -> None:
    response = params.response
    if response.status != 429 and response.status < 500:
        return
    body: Any
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    # aiohttp closes the response when a trace callback raises (ClientSession._request).
    raise _InterceptedStatus(response.status, dict(response.headers), body)


def _retry_hook() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_raise_on_retryable_status)
    return trace


class DiscordPoster:
    """Posts create-message payloads through discord.py's REST client and logs in lazily.

    `Route.BASE` is a class attribute of discord.py, so every poster in the process shares
    the `api_base` of the poster created last.

    NOTE: when a successful response reports an empty bucket (`X-RateLimit-Remaining: 0`),
    discord.py still waits for the reset itself, on the event loop clock. That wait is
    outside delivery's pacing, timeout-free and invisible to progress events.
    """

    platform = Platform.DISCORD

    def __init__(self, config: DiscordConfig, *, request_timeout_seconds: float = 30.0) -> None:
        if not config.token:
            raise ValueError("discord.token is missing; set it to the bot token")
        self.rate = Rate(config.burst, config.per_seconds)
        self._token = config.token
        self._timeout = request_timeout_seconds
        self._http: HTTPClient | None = None
        self._login_lock = asyncio.Lock()
        # discord.py documents Route.BASE as the way to reach the API through a proxy.
        Route.BASE = config.api_base.rstrip("/")

    async def verify(self) -> str:
        """Log in if needed and return the bot's user id."""
        me = await self._request("GET /users/@me", Route("GET", "/users/@me"))
        return str(me["id"])

    async def post(self, target: Target, payload: MessagePayload) -> PostResult:
        """Send `payload` to the target channel, or to its thread, unchanged.

        Raises:
            RateLimited, TransientError, PermanentError: Discord rejected the request.
        """
        channel_id = target.thread_id or target.channel_id
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        message = await self._request("create message", route, json=payload)
        return PostResult(message_id=str(message["id"]), channel_id=str(message["channel_id"]))

    async def update(self, target: Target, message_id: str, payload: MessagePayload) -> PostResult:
        """Replace the content, embeds and components of `message_id` with `payload`'s.

        A message in a thread is edited in the thread, which is its own channel. The
        create-only fields (`nonce`, `enforce_nonce`) are not sent.

        Raises:
            RateLimited, TransientError, PermanentError: Discord rejected the request.
        """
        route = Route(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=target.thread_id or target.channel_id,
            message_id=message_id,
        )
        body = {key: payload[key] for key in _EDIT_FIELDS if key in payload}
        message = await self._request("edit message", route, json=body)
        return PostResult(message_id=str(message["id"]), channel_id=str(message["channel_id"]))

    async def find_sent(self, target: Target, digest_date: dt.date, paper: int) -> str | None:
        """Return None: a resent message carries the same nonce with `enforce_nonce`.

        Discord then returns the message created first instead of posting it again, for a
        few minutes after the first send (Discord's create-message reference).
        """
        return None

    async def open_thread(self, channel_id: str, message_id: str, name: str) -> Target:
        """Start a thread from `message_id`, or reuse the one already started from it.

        Discord gives a thread started from a message the message's id, so an existing
        thread is found without a lookup.
        """
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=channel_id,
            message_id=message_id,
        )
        body = {
            "name": name[:_MAX_THREAD_NAME] or message_id,
            "auto_archive_duration": _THREAD_ARCHIVE_MINUTES,
        }
        try:
            thread = await self._request("start thread", route, json=body)
        except PermanentError as error:
            if error.code != str(_THREAD_ALREADY_CREATED):
                raise
            _log.debug("thread on message %s in %s already exists", message_id, channel_id)
            return Target(channel_id=channel_id, thread_id=message_id)
        return Target(channel_id=channel_id, thread_id=str(thread["id"]))

    async def close(self) -> None:
        """Close discord.py's HTTP session."""
        if self._http is not None:
            await self._http.close()
        self._http = None

    async def _client(self) -> HTTPClient:
        async with self._login_lock:
            if self._http is None:
                http = HTTPClient(asyncio.get_running_loop(), http_trace=_retry_hook())
                try:
                    await http.static_login(self._token)
                except BaseException:
                    await http.close()
                    raise
                self._http = http
            return self._http

    async def _request(self, action: str, route: Route, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                http = await self._client()
                return await http.request(route, **kwargs)
        except _InterceptedStatus as error:
            raise _translate_status(action, error) from None
        except discord.RateLimited as error:
            # Only raised when discord.py's bucket predicts a wait over max_ratelimit_timeout.
            message = f"Discord {action} failed: rate limited"
            raise RateLimited(message, retry_after=error.retry_after) from error
        except discord.LoginFailure as error:
            raise PermanentError(f"Discord {action} failed: invalid token", code="0") from error
        except discord.HTTPException as error:
            raise _translate_http_error(action, error) from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TransientError(f"Discord {action} failed: {type(error).__name__}") from error


def _translate_status(action: str, error: _InterceptedStatus) -> PlatformError:
    body = error.body if isinstance(error.body, dict) else {}
    message = f"Discord {action} failed: HTTP {error.status} {body.get('message', '')}".rstrip()
    if error.status != 429:
        return TransientError(message)
    # The JSON retry_after has sub-second precision; Retry-After is whole seconds.
    retry_after = body.get("retry_after", error.headers.get("Retry-After", 1.0))
    return RateLimited(message, retry_after=float(retry_after))


def _translate_http_error(action: str, error: discord.HTTPException) -> PlatformError:
    message = f"Discord {action} failed: HTTP {error.status} code {error.code}: {error.text}"
    # The trace hook takes 429 and 5xx first, so these two branches are a fallback only.
    if error.status == 429:
        return RateLimited(message, retry_after=1.0)
    if error.status >= 500:
        return TransientError(message)
    return PermanentError(message, code=str(error.code))


class DiscordMessages:
    """Builds Discord payloads with `bot.render.discord`; threads are addressed by the poster."""

    def header(
        self, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        """Build the header message carrying `nonce`, so Discord drops a retried duplicate."""
        return render_discord_header(digest, translator, nonce=nonce)

    def paper(
        self, paper: Paper, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        """Build one paper's message carrying `nonce`."""
        return render_discord_paper(paper, digest, translator, nonce=nonce)
