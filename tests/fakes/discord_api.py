"""A fake Discord REST API v10 for discord.py's HTTPClient, with `Route.BASE` pointed at it.

It checks the `Bot` token, channel access and message limits the way Discord does (JSON
errors with Discord's codes), honours `nonce` with `enforce_nonce`, records every request,
and can respond with 429, 5xx, a held request or a dropped connection on demand.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.render.limits import discord_payload_problems
from tests.fakes.server import FakeServer, RateWindow, RecordedRequest

TOKEN = "fake-discord-token"
BOT_USER_ID = "1100000000000000001"
GUILD_ID = "1200000000000000001"

# How long a repeated nonce with enforce_nonce returns the first message instead of a new one.
# NOTE: five minutes is an estimate of Discord's "few minutes".
NONCE_WINDOW_SECONDS = 300.0

# Limits checked here independently of bot.render.limits, so a bug there cannot hide one in
# the renderers.
_MAX_CONTENT = 2000
_MAX_EMBEDS = 10
_MAX_EMBED_TOTAL = 6000
_MAX_EMBED_TEXT = {"title": 256, "description": 4096}
_MAX_THREAD_NAME = 100

# Discord JSON error codes.
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
EMPTY_MESSAGE = 50006
INVALID_FORM_BODY = 50035
THREAD_ALREADY_CREATED = 160004

# JSON fields of Discord's Edit Message (PATCH /channels/{channel.id}/messages/{message.id}).
# `nonce`, `enforce_nonce`, `tts` and `message_reference` belong to create message only.
_EDIT_FIELDS = frozenset(
    {"content", "embeds", "flags", "allowed_mentions", "components", "attachments"}
)

_FIRST_SNOWFLAKE = 1_300_000_000_000_000_000

# Mentions in `content` that notify someone unless allowed_mentions forbids them.
_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")


@dataclass
class DiscordChannel:
    """A guild text channel, or a thread when `parent_id` is set, with its messages."""

    id: str
    name: str
    can_access: bool = True
    parent_id: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        # Channel type 0 is a guild text channel and 11 a public thread.
        return {
            "id": self.id,
            "type": 11 if self.parent_id else 0,
            "name": self.name,
            "guild_id": GUILD_ID,
            "parent_id": self.parent_id,
        }


class DiscordApiError(Exception):
    """An error response: HTTP `status` and Discord's JSON body."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


class FakeDiscord(FakeServer):
    """Discord REST routes used by paperbot, on 127.0.0.1.

    Args:
        channels: The guild's text channels.
        token: The bot token that requests must carry as `Bot <token>`.
        rate_limit: Optional (messages, seconds) per channel for create message; over it the
            fake responds with 429 as Discord does.
        bucket_headers: Send X-RateLimit-* headers on successful create-message responses too.
            discord.py then waits out an empty bucket on the event loop clock, so tests that
            run the fake on a FakeClock leave this off.
        clock: Time source of the rate window and the nonce window.
    """

    def __init__(
        self,
        channels: Iterable[DiscordChannel],
        *,
        token: str = TOKEN,
        rate_limit: tuple[int, float] | None = None,
        bucket_headers: bool = False,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.channels = {channel.id: channel for channel in channels}
        self.token = token
        self.rate_window = RateWindow(*rate_limit, self.clock) if rate_limit else None
        self.bucket_headers = bucket_headers
        self._ids = itertools.count(_FIRST_SNOWFLAKE)
        self._nonces: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

    @property
    def api_base(self) -> str:
        """The value for `DiscordConfig.api_base` (discord.py's `Route.BASE`)."""
        return f"{self.origin}/api/v10"

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Return the messages stored in `channel_id` (a channel or a thread), oldest first."""
        return self.channels[channel_id].messages

    def creates(self, channel_id: str | None = None) -> list[RecordedRequest]:
        """Return the create-message requests that created a message, optionally in one channel."""
        return [
            request
            for request in self.requests
            if request.endpoint == "create_message"
            and request.status == 200
            and request.message_id is not None
            and (channel_id is None or request.channel == channel_id)
        ]

    def edits(self, channel_id: str | None = None) -> list[RecordedRequest]:
        """Return the edit-message requests that Discord accepted, optionally in one channel."""
        return [
            request
            for request in self.requests
            if request.endpoint == "edit_message"
            and request.status == 200
            and (channel_id is None or request.channel == channel_id)
        ]

    def _add_routes(self, app: web.Application) -> None:
        routes = [
            ("GET", "/users/@me", "get_me", self._get_me),
            ("GET", "/gateway/bot", "get_gateway_bot", self._gateway_bot),
            ("GET", "/channels/{channel_id}", "get_channel", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", "create_message", self._create_message),
            (
                "PATCH",
                "/channels/{channel_id}/messages/{message_id}",
                "edit_message",
                self._edit_message,
            ),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                "start_thread",
                self._start_thread,
            ),
        ]
        for http_method, path, endpoint, handler in routes:
            app.router.add_route(http_method, "/api/v10" + path, self._wrap(endpoint, handler))

    def _wrap(self, endpoint: str, handler: Any) -> Any:
        async def dispatch(request: web.Request) -> web.StreamResponse:
            body = await request.json() if request.can_read_body else {}
            record = RecordedRequest(
                endpoint=endpoint,
                http_method=request.method,
                path=request.path,
                channel=request.match_info.get("channel_id"),
                body=body,
                headers={key: value for key, value in request.headers.items()},
                received_at=self.clock.monotonic(),
            )
            self.requests.append(record)
            fault = await self._apply_fault(endpoint, request)
            if fault is not None:
                record.status = fault.status
                return fault
            response = await self._respond(record, request, handler)
            return await self._finish_fault(request, response)

        return dispatch

    async def _respond(
        self, record: RecordedRequest, request: web.Request, handler: Any
    ) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            record.status, record.error = 401, "0"
            return _json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        try:
            answer, headers = await handler(request, record.body)
        except DiscordApiError as error:
            record.status, record.error = error.status, str(error.body["code"])
            return _json_response(error.body, status=error.status)
        except _RateLimitedByWindow as limited:
            record.status, record.error = 429, "429"
            return self._rate_limited(limited.retry_after, scope_key=record.channel or "")
        message_endpoints = ("create_message", "edit_message")
        record.message_id = answer.get("id") if record.endpoint in message_endpoints else None
        return _json_response(answer, headers=headers)

    def _rate_limited(self, retry_after: float, *, scope_key: str) -> web.Response:
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        headers = {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Limit": str(self.rate_window.limit if self.rate_window else 5),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": f"fake-bucket-{scope_key}",
            "X-RateLimit-Scope": "user",
            # discord.py treats a 429 without Via as a Cloudflare ban. Discord's 429s carry Via.
            "Via": "1.1 google",
        }
        return _json_response(body, status=429, headers=headers)

    def _server_error(self, status: int) -> web.Response:
        return _json_response({"message": f"{status}: Server Error", "code": 0}, status=status)

    def _channel(self, request: web.Request, *, channel_id: str | None = None) -> DiscordChannel:
        channel = self.channels.get(channel_id or request.match_info["channel_id"])
        if channel is None:
            raise DiscordApiError(404, UNKNOWN_CHANNEL, "Unknown Channel")
        if not channel.can_access:
            raise DiscordApiError(403, MISSING_ACCESS, "Missing Access")
        return channel

    async def _get_me(self, request: web.Request, body: dict[str, Any]) -> _Answer:
        user = {
            "id": BOT_USER_ID,
            "username": "paperbot",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
        }
        return user, {}

    async def _gateway_bot(self, request: web.Request, body: dict[str, Any]) -> _Answer:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {"url": f"ws://127.0.0.1:{self.port}", "shards": 1, "session_start_limit": limit}, {}

    async def _get_channel(self, request: web.Request, body: dict[str, Any]) -> _Answer:
        return self._channel(request).info(), {}

    async def _create_message(self, request: web.Request, body: dict[str, Any]) -> _Answer:
        channel = self._channel(request)
        _check_message(body)
        previous = self._repeated_nonce(channel, body)
        if previous is not None:
            return previous, {}
        headers = self._take_rate_slot(channel)
        message = self._new_message(channel, body)
        channel.messages.append(message)
        if body.get("nonce") is not None:
            self._nonces[(channel.id, str(body["nonce"]))] = (self.clock.monotonic(), message)
        return message, headers

    async def _edit_message(self, request: web.Request, body: dict[str, Any]) -> _Answer:
        channel = self._channel(request)
        message = _find_message(channel, request.match_info["message_id"])
        _check_edit_fields(body)
        # The edited message keeps the content fields the body leaves out. An empty field of
        # the stored message counts as left out, as it was when the message was created.
        kept = {key: message[key] for key in ("content", "embeds", "components") if message[key]}
        _check_message({**kept, **body})
        message.update(
            {key: body[key] for key in ("content", "embeds", "components") if key in body}
        )
        message["edited_timestamp"] = self.clock.now().isoformat()
        return message, {}

    async def _start_thread(self, request: web.Request, body: dict[str, Any]) -> _Answer:
        channel = self._channel(request)
        message_id = request.match_info["message_id"]
        message = _find_message(channel, message_id)
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= _MAX_THREAD_NAME:
            errors = _field_error(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100.")
            raise DiscordApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)
        if message_id in self.channels:
            raise DiscordApiError(
                400, THREAD_ALREADY_CREATED, "A thread has already been created for this message"
            )
        # A thread started from a message takes the message's id.
        thread = DiscordChannel(id=message_id, name=name, parent_id=channel.id)
        self.channels[thread.id] = thread
        message["thread"] = thread.info()
        return thread.info(), {}

    def _repeated_nonce(
        self, channel: DiscordChannel, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        if not body.get("enforce_nonce") or body.get("nonce") is None:
            return None
        seen = self._nonces.get((channel.id, str(body["nonce"])))
        if seen is None or self.clock.monotonic() - seen[0] > NONCE_WINDOW_SECONDS:
            return None
        return seen[1]

    def _take_rate_slot(self, channel: DiscordChannel) -> dict[str, str]:
        if self.rate_window is None:
            return {}
        retry_after = self.rate_window.retry_after(channel.id)
        if retry_after is not None:
            raise _RateLimitedByWindow(retry_after)
        self.rate_window.record(channel.id)
        if not self.bucket_headers:
            return {}
        reset_after = self.rate_window.reset_after(channel.id)
        return {
            "X-RateLimit-Limit": str(self.rate_window.limit),
            "X-RateLimit-Remaining": str(self.rate_window.remaining(channel.id)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"fake-bucket-{channel.id}",
        }

    def _new_message(self, channel: DiscordChannel, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": channel.id,
            "type": 0,
            "content": body.get("content", ""),
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "nonce": body.get("nonce"),
            "allowed_mentions": body.get("allowed_mentions"),
            "pings": _pings(body),
            "author": {"id": BOT_USER_ID, "username": "paperbot", "bot": True},
            "timestamp": self.clock.now().isoformat(),
            "edited_timestamp": None,
        }


_Answer = tuple[dict[str, Any], dict[str, str]]


def _json_response(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py decodes JSON only when Content-Type is exactly `application/json`, which
    # is what Discord sends; aiohttp's json_response would add `; charset=utf-8`.
    response = web.Response(body=json.dumps(body).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


class _RateLimitedByWindow(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _find_message(channel: DiscordChannel, message_id: str) -> dict[str, Any]:
    for message in channel.messages:
        if message["id"] == message_id:
            return message
    raise DiscordApiError(404, UNKNOWN_MESSAGE, "Unknown Message")


def _field_error(path: list[str], code: str, message: str) -> dict[str, Any]:
    """Nest one error under `path` the way Discord's 50035 `errors` object does."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return errors


def _check_message(body: dict[str, Any]) -> None:
    if not any(body.get(key) for key in ("content", "embeds", "components", "sticker_ids")):
        raise DiscordApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")
    problems = _own_problems(body) + discord_payload_problems(body)
    if problems:
        errors = {
            "_errors": [{"code": "BASE_TYPE_INVALID", "message": problem} for problem in problems]
        }
        raise DiscordApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def _check_edit_fields(body: dict[str, Any]) -> None:
    # The fake rejects fields that Edit Message does not list, so a create-message body sent
    # to PATCH unchanged fails here instead of passing silently.
    extra = sorted(body.keys() - _EDIT_FIELDS)
    if extra:
        errors = {
            name: {"_errors": [{"code": "UNKNOWN_FIELD", "message": "Not an edit field."}]}
            for name in extra
        }
        raise DiscordApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def _own_problems(body: dict[str, Any]) -> list[str]:
    problems = []
    content = body.get("content") or ""
    if len(content) > _MAX_CONTENT:
        problems.append(f"content: {len(content)} characters, maximum {_MAX_CONTENT}")
    embeds = body.get("embeds") or []
    if len(embeds) > _MAX_EMBEDS:
        problems.append(f"embeds: {len(embeds)} embeds, maximum {_MAX_EMBEDS}")
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in _MAX_EMBED_TEXT.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                problems.append(f"embeds[{index}].{key}: {len(text)} characters, maximum {limit}")
        total += len((embed.get("footer") or {}).get("text", ""))
        total += len((embed.get("author") or {}).get("name", ""))
        total += sum(
            len(item.get("name", "")) + len(item.get("value", ""))
            for item in embed.get("fields", [])
        )
    if total > _MAX_EMBED_TOTAL:
        problems.append(f"embeds: {total} characters in total, maximum {_MAX_EMBED_TOTAL}")
    return problems


def _pings(body: dict[str, Any]) -> list[str]:
    """Return the mentions in `content` that would notify someone under `allowed_mentions`.

    Discord parses every mention type when `allowed_mentions` is absent. Embeds never ping.
    """
    allowed = body.get("allowed_mentions")
    parse = {"everyone", "users", "roles"} if allowed is None else set(allowed.get("parse", []))
    kinds = {"@everyone": "everyone", "@here": "everyone", "<@&": "roles", "<@": "users"}
    pings = []
    for match in _MENTION.finditer(body.get("content") or ""):
        text = match.group()
        kind = next(value for prefix, value in kinds.items() if text.startswith(prefix))
        if kind in parse:
            pings.append(text)
    return pings
