"""A fake Slack Web API under `/api/` for slack_sdk's AsyncWebClient.

It checks the bearer token, channel membership and message limits the way Slack does
(HTTP 200 with `ok: false` and an error code), records every request, and can respond with
429, 5xx, a held request or a dropped connection on demand.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock
from bot.render.limits import slack_payload_problems
from tests.fakes.server import FakeServer, RateWindow, RecordedRequest

TOKEN = "xoxb-fake-token"
BOT_USER_ID = "U0FAKEBOT"
BOT_ID = "B0FAKEBOT"

# Limits checked here independently of bot.render.limits, so a bug there cannot hide one in
# the renderers.
_MAX_BLOCKS = 50
_MAX_HEADER_TEXT = 150
_MAX_SECTION_TEXT = 3000
_MAX_TEXT = 40_000

# Error code Slack returns for each field that a validator names first in its problem text.
_PROBLEM_CODES = {
    "blocks": "invalid_blocks",
    "text": "msg_too_long",
    "metadata": "invalid_metadata",
}

# chat.postMessage arguments that chat.update does not list (Slack's method references).
_POST_ONLY_ARGUMENTS = frozenset(
    {"thread_ts", "unfurl_links", "unfurl_media", "icon_emoji", "icon_url", "username", "mrkdwn"}
)

# First message ts: 2025-09-23 00:00 UTC in seconds; each message adds one second.
_FIRST_TS = 1_758_585_600


@dataclass
class SlackChannel:
    """A channel of the fake workspace and the messages posted to it, oldest first."""

    id: str
    name: str
    is_member: bool = True
    is_private: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": self.is_private,
            "is_member": self.is_member,
        }


class SlackApiError(Exception):
    """An `ok: false` response with Slack error `code`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class FakeSlack(FakeServer):
    """Slack Web API methods used by paperbot, on 127.0.0.1.

    Args:
        channels: The workspace's channels.
        token: The bot token that requests must carry.
        rate_limit: Optional (messages, seconds) per channel for chat.postMessage; over it the
            fake responds with 429 and Retry-After.
        clock: Time source of the rate window.
    """

    def __init__(
        self,
        channels: Iterable[SlackChannel],
        *,
        token: str = TOKEN,
        rate_limit: tuple[int, float] | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.channels = {channel.id: channel for channel in channels}
        self.token = token
        self.rate_window = RateWindow(*rate_limit, self.clock) if rate_limit else None
        self._ts_counter = itertools.count()
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.join": self._join,
            "conversations.info": self._info,
        }

    @property
    def api_url(self) -> str:
        """The base URL for `AsyncWebClient(base_url=...)`, ending with `/`."""
        return f"{self.origin}/api/"

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Return the messages stored in `channel_id`, thread replies included, oldest first."""
        return self.channels[channel_id].messages

    def posts(self, channel_id: str | None = None) -> list[RecordedRequest]:
        """Return the accepted chat.postMessage requests, optionally of one channel."""
        return [
            request
            for request in self.requests
            if request.endpoint == "chat.postMessage"
            and request.error is None
            and request.status == 200
            and (channel_id is None or request.channel == channel_id)
        ]

    def updates(self, channel_id: str | None = None) -> list[RecordedRequest]:
        """Return the accepted chat.update requests, optionally of one channel."""
        return [
            request
            for request in self.requests
            if request.endpoint == "chat.update"
            and request.error is None
            and request.status == 200
            and (channel_id is None or request.channel == channel_id)
        ]

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._dispatch)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _read_arguments(request)
        record = RecordedRequest(
            endpoint=method,
            http_method=request.method,
            path=request.path,
            channel=_channel_argument(args),
            body=args,
            headers={key: value for key, value in request.headers.items()},
            received_at=self.clock.monotonic(),
        )
        self.requests.append(record)

        fault = await self._apply_fault(method, request)
        if fault is not None:
            record.status = fault.status
            return fault

        try:
            answer = await self._respond(method, request, args)
        except _RateLimitedByWindow as limited:
            record.status = 429
            record.error = "ratelimited"
            return self._rate_limited(limited.retry_after, scope_key=method)
        record.error = answer.get("error")
        record.message_id = answer.get("ts")
        return await self._finish_fault(request, web.json_response(answer))

    async def _respond(
        self, method: str, request: web.Request, args: dict[str, Any]
    ) -> dict[str, Any]:
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        token = _bearer_token(request) or args.get("token")
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        try:
            return {"ok": True, **await handler(args)}
        except SlackApiError as error:
            return {"ok": False, "error": error.code, **error.extra}

    def _rate_limited(self, retry_after: float, *, scope_key: str) -> web.Response:
        # Slack sends Retry-After in whole seconds.
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(math.ceil(retry_after))},
        )

    def _server_error(self, status: int) -> web.Response:
        return web.json_response({"ok": False, "error": "internal_error"}, status=status)

    def _channel(self, args: dict[str, Any], *, member: bool = True) -> SlackChannel:
        channel = self.channels.get(str(args.get("channel", "")))
        if channel is None:
            raise SlackApiError("channel_not_found")
        if member and not channel.is_member:
            raise SlackApiError("not_in_channel")
        return channel

    async def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "team": "fake", "user": "paperbot"}

    async def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        _check_message(args)
        if self.rate_window is not None:
            retry_after = self.rate_window.retry_after(channel.id)
            if retry_after is not None:
                raise _RateLimitedByWindow(retry_after)
            self.rate_window.record(channel.id)
        message = self._store(channel, args)
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    async def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        _check_update_arguments(args)
        _check_message(args)
        for message in channel.messages:
            if message["ts"] == args.get("ts"):
                message.update(text=args.get("text"), blocks=args.get("blocks"), edited=True)
                if args.get("metadata") is not None:
                    message["metadata"] = args["metadata"]
                return {"channel": channel.id, "ts": message["ts"], "text": message["text"]}
        raise SlackApiError("message_not_found")

    async def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        # conversations.history lists channel messages only, not thread replies.
        top_level = [
            message
            for message in reversed(channel.messages)
            if float(message["ts"]) > oldest and message.get("thread_ts") in (None, message["ts"])
        ]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = [
            _history_view(message, with_metadata) for message in top_level[start : start + limit]
        ]
        more = start + limit < len(top_level)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        thread_ts = str(args.get("ts") or "")
        with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        # conversations.replies lists the parent message first, then its replies, oldest first.
        thread = [
            message
            for message in channel.messages
            if message["ts"] == thread_ts or message.get("thread_ts") == thread_ts
        ]
        if not thread:
            raise SlackApiError("thread_not_found")
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 1000)
        page = [_history_view(message, with_metadata) for message in thread[start : start + limit]]
        more = start + limit < len(thread)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    async def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args, member=False)
        if channel.is_private:
            raise SlackApiError("method_not_supported_for_channel_type")
        channel.is_member = True
        return {"channel": channel.info()}

    async def _info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(args, member=False).info()}

    def _store(self, channel: SlackChannel, args: dict[str, Any]) -> dict[str, Any]:
        number = next(self._ts_counter)
        message: dict[str, Any] = {
            "type": "message",
            "ts": f"{_FIRST_TS + number}.{number:06d}",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
        }
        for key in ("blocks", "thread_ts", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        channel.messages.append(message)
        return message


class _RateLimitedByWindow(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


async def _read_arguments(request: web.Request) -> dict[str, Any]:
    """Merge query, form and JSON arguments as Slack does; JSON strings in forms are decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.method == "POST":
        form = await request.post()
        args.update({key: value for key, value in form.items() if isinstance(value, str)})
    for key in ("blocks", "metadata", "attachments"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _channel_argument(args: dict[str, Any]) -> str | None:
    channel = args.get("channel")
    return str(channel) if channel is not None else None


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None


def _check_message(args: dict[str, Any]) -> None:
    if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
        raise SlackApiError("no_text")
    problems = _own_problems(args) + slack_payload_problems(args)
    if not problems:
        return
    first_field = problems[0].split(":", 1)[0].split("[", 1)[0].split(".", 1)[0]
    code = _PROBLEM_CODES.get(first_field, "invalid_arguments")
    raise SlackApiError(code, errors=problems)


def _check_update_arguments(args: dict[str, Any]) -> None:
    # chat.update does not take these chat.postMessage arguments. The fake rejects them, so a
    # post payload sent to chat.update unchanged fails here instead of passing silently.
    post_only = sorted(_POST_ONLY_ARGUMENTS & args.keys())
    if post_only:
        raise SlackApiError(
            "invalid_arguments",
            errors=[f"{name}: not a chat.update argument" for name in post_only],
        )
    if not args.get("ts"):
        raise SlackApiError("invalid_arguments", errors=["ts: missing"])


def _own_problems(args: dict[str, Any]) -> list[str]:
    problems = []
    text = args.get("text") or ""
    if len(text) > _MAX_TEXT:
        problems.append(f"text: {len(text)} characters, maximum {_MAX_TEXT}")
    blocks = args.get("blocks") or []
    if len(blocks) > _MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} blocks, maximum {_MAX_BLOCKS}")
    limits = {"header": _MAX_HEADER_TEXT, "section": _MAX_SECTION_TEXT}
    for index, block in enumerate(blocks):
        limit = limits.get(block.get("type"))
        block_text = (block.get("text") or {}).get("text", "")
        if limit is not None and len(block_text) > limit:
            problems.append(f"blocks[{index}].text: {len(block_text)} characters, maximum {limit}")
    return problems


def _history_view(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    if with_metadata:
        return dict(message)
    return {key: value for key, value in message.items() if key != "metadata"}
