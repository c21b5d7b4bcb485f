"""A fake Discord gateway (API v10, JSON encoding) and the interaction routes of the REST API.

`FakeGateway` is an aiohttp websocket on 127.0.0.1: it sends HELLO, reads IDENTIFY, sends
READY, acknowledges heartbeats and dispatches INTERACTION_CREATE events on demand. It
compresses with `zlib-stream` when the client requests it, and discord.py 2.7 always
requests compression: zlib-stream, or zstd-stream when a zstd module is installed, which
this fake rejects with close code 4000.

`FakeDiscordApp` adds to `FakeDiscord` what a slash-command bot calls: the application,
`GET /gateway/bot` pointing at the fake gateway, the command bulk overwrite, interaction
callbacks and follow-up webhooks. Callbacks and webhooks carry no `Authorization` header,
because the interaction token in the path authorizes them, as on Discord.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_api import (
    BOT_USER_ID,
    GUILD_ID,
    INVALID_FORM_BODY,
    DiscordApiError,
    DiscordChannel,
    FakeDiscord,
    _check_message,
)
from tests.fakes.server import RecordedRequest

APPLICATION_ID = "1400000000000000001"
USER_ID = "1500000000000000001"
COMMAND_ID = "1600000000000000001"

# Gateway opcodes and close codes (Discord "Gateway Opcodes" and "Gateway Close Event Codes").
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11
CLOSE_UNKNOWN_ERROR = 4000
CLOSE_DECODE_ERROR = 4002
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_INVALID_API_VERSION = 4012

# Discord's usual interval. discord.py sends one heartbeat at HELLO and the next only
# after this many milliseconds, which no test waits for.
HEARTBEAT_INTERVAL_MS = 41_250

# Interaction types, callback types and message flags (Discord "Receiving and Responding").
INTERACTION_COMMAND = 2
INTERACTION_AUTOCOMPLETE = 4
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_AUTOCOMPLETE_RESULT = 8
FLAG_EPHEMERAL = 64
_CALLBACKS_OF_INTERACTION = {
    INTERACTION_COMMAND: {CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE},
    INTERACTION_AUTOCOMPLETE: {CALLBACK_AUTOCOMPLETE_RESULT},
}

# Discord JSON error codes of the interaction routes.
UNKNOWN_WEBHOOK = 10015
UNKNOWN_APPLICATION = 10002
UNKNOWN_INTERACTION = 10062
INTERACTION_ALREADY_ACKNOWLEDGED = 40060

# Application command limits ("Application Command Object" reference).
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
_MAX_DESCRIPTION = 100
_MAX_OPTIONS = 25
_MAX_CHOICES = 25
_MAX_CHOICE_TEXT = 100
# Option types: 3 string, 4 integer, 5 boolean (Discord "Application Command Option Type").
OPTION_STRING = 3
OPTION_BOOLEAN = 5


@dataclass
class FakeInteraction:
    """One interaction the gateway dispatched, and the callbacks and follow-ups the bot sent."""

    id: str
    token: str
    type: int
    payload: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    expired: bool = False
    acknowledged: asyncio.Event = field(default_factory=asyncio.Event)
    followed_up: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def callback(self) -> dict[str, Any]:
        """Return the one accepted callback body; fail when there is none."""
        assert len(self.callbacks) == 1, f"expected one callback, got {self.callbacks}"
        return self.callbacks[0]

    @property
    def followup(self) -> dict[str, Any]:
        """Return the one follow-up message body; fail when there is none or several."""
        assert len(self.followups) == 1, f"expected one follow-up, got {self.followups}"
        return self.followups[0]


class FakeDiscordApp(FakeDiscord):
    """`FakeDiscord` with the application, command and interaction routes of Discord.

    Args:
        channels: The guild's text channels.
        **options: Further `FakeDiscord` options.
    """

    def __init__(self, channels: Iterable[DiscordChannel], **options: Any) -> None:
        super().__init__(channels, **options)
        self.application_id = APPLICATION_ID
        self.gateway_url: str | None = None
        self.commands: list[dict[str, Any]] = []
        self.interactions: dict[str, FakeInteraction] = {}
        self._interaction_ids = itertools.count(1_700_000_000_000_000_001)
        self._message_ids = itertools.count(1_800_000_000_000_000_001)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """Return the recorded requests to `endpoint`, such as `bulk_overwrite_commands`."""
        return [request for request in self.requests if request.endpoint == endpoint]

    def new_interaction(self, interaction_type: int, payload: dict[str, Any]) -> FakeInteraction:
        """Register an interaction with a fresh id and token, for the gateway to dispatch."""
        interaction_id = str(next(self._interaction_ids))
        token = f"interaction-token-{interaction_id}"
        payload = {**payload, "id": interaction_id, "token": token, "type": interaction_type}
        interaction = FakeInteraction(interaction_id, token, interaction_type, payload)
        self.interactions[interaction_id] = interaction
        return interaction

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        self._add_bot_routes(app)
        token_routes = [
            (
                "POST",
                "/interactions/{interaction_id}/{token}/callback",
                "interaction_callback",
                self._interaction_callback,
            ),
            ("POST", "/webhooks/{application_id}/{token}", "execute_webhook", self._follow_up),
        ]
        for http_method, path, endpoint, handler in token_routes:
            app.router.add_route(
                http_method, "/api/v10" + path, self._token_route(endpoint, handler)
            )

    def _add_bot_routes(self, app: web.Application) -> None:
        routes = [
            ("GET", "/oauth2/applications/@me", "get_application", self._get_application),
            (
                "PUT",
                "/applications/{application_id}/commands",
                "bulk_overwrite_commands",
                self._bulk_overwrite_commands,
            ),
        ]
        for http_method, path, endpoint, handler in routes:
            app.router.add_route(http_method, "/api/v10" + path, self._wrap(endpoint, handler))

    def _token_route(self, endpoint: str, handler: Any) -> Any:
        """Wrap a route that the interaction token authorizes instead of the bot token."""

        async def dispatch(request: web.Request) -> web.StreamResponse:
            body = await request.json() if request.can_read_body else {}
            record = RecordedRequest(
                endpoint=endpoint,
                http_method=request.method,
                path=request.path,
                channel=None,
                body=body,
                headers=dict(request.headers),
            )
            self.requests.append(record)
            fault = await self._apply_fault(endpoint, request)
            if fault is not None:
                record.status = fault.status
                return fault
            try:
                answer = await handler(request, body)
            except DiscordApiError as error:
                record.status, record.error = error.status, str(error.body["code"])
                return _json_response(error.body, status=error.status)
            if answer is None:
                record.status = 204
                return web.Response(status=204)
            return _json_response(answer)

        return dispatch

    async def _gateway_bot(
        self, request: web.Request, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        if self.gateway_url is None:
            raise DiscordApiError(503, 0, "no fake gateway is attached")
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}, {}

    async def _get_application(
        self, request: web.Request, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        application = {
            "id": self.application_id,
            "name": "paperbot",
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": {"id": USER_ID, "username": "owner", "discriminator": "0", "avatar": None},
            "verify_key": "0" * 64,
            "flags": 0,
            "interactions_endpoint_url": None,
        }
        return application, {}

    async def _bulk_overwrite_commands(
        self, request: web.Request, body: Any
    ) -> tuple[Any, dict[str, str]]:
        if request.match_info["application_id"] != self.application_id:
            raise DiscordApiError(404, UNKNOWN_APPLICATION, "Unknown Application")
        if not isinstance(body, list):
            raise DiscordApiError(400, INVALID_FORM_BODY, "Invalid Form Body")
        problems = [problem for command in body for problem in _command_problems(command)]
        if problems:
            raise DiscordApiError(
                400, INVALID_FORM_BODY, "Invalid Form Body", {"_errors": problems}
            )
        self.commands = [
            {
                **command,
                "id": str(int(COMMAND_ID) + index),
                "application_id": self.application_id,
                "version": "1",
                "default_member_permissions": None,
                "type": command.get("type", 1),
            }
            for index, command in enumerate(body)
        ]
        return self.commands, {}

    def _interaction_by_id(self, request: web.Request) -> FakeInteraction:
        interaction = self.interactions.get(request.match_info["interaction_id"])
        if (
            interaction is None
            or interaction.token != request.match_info["token"]
            or interaction.expired
        ):
            raise DiscordApiError(404, UNKNOWN_INTERACTION, "Unknown interaction")
        return interaction

    def _interaction_by_token(self, request: web.Request) -> FakeInteraction:
        token = request.match_info["token"]
        for interaction in self.interactions.values():
            if interaction.token == token and not interaction.expired:
                return interaction
        raise DiscordApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")

    async def _interaction_callback(
        self, request: web.Request, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        interaction = self._interaction_by_id(request)
        if interaction.callbacks:
            raise DiscordApiError(
                400,
                INTERACTION_ALREADY_ACKNOWLEDGED,
                "Interaction has already been acknowledged.",
            )
        callback_type = body.get("type")
        if callback_type not in _CALLBACKS_OF_INTERACTION[interaction.type]:
            raise DiscordApiError(400, INVALID_FORM_BODY, f"Invalid callback type {callback_type}")
        data = body.get("data") or {}
        if callback_type == CALLBACK_AUTOCOMPLETE_RESULT:
            _check_choices(data.get("choices"))
        if callback_type == CALLBACK_MESSAGE:
            _check_message(data)

        interaction.callbacks.append(body)
        interaction.acknowledged.set()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return None
        return self._callback_response(interaction, body)

    def _callback_response(
        self, interaction: FakeInteraction, body: dict[str, Any]
    ) -> dict[str, Any]:
        data = body.get("data") or {}
        ephemeral = bool(int(data.get("flags", 0)) & FLAG_EPHEMERAL)
        answer: dict[str, Any] = {
            "interaction": {
                "id": interaction.id,
                "type": interaction.type,
                "response_message_loading": body["type"] == CALLBACK_DEFERRED_MESSAGE,
                "response_message_ephemeral": ephemeral,
            },
            "resource": {"type": body["type"]},
        }
        if body["type"] == CALLBACK_MESSAGE:
            answer["resource"]["message"] = self._interaction_message(interaction, data)
        return answer

    async def _follow_up(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any] | None:
        if request.match_info["application_id"] != self.application_id:
            raise DiscordApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        interaction = self._interaction_by_token(request)
        # Discord creates the follow-up webhook with the interaction's first response.
        if not interaction.callbacks:
            raise DiscordApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        _check_message(body)
        interaction.followups.append(body)
        interaction.followed_up.set()
        if request.query.get("wait") not in ("1", "true", "True"):
            return None
        return self._interaction_message(interaction, body)

    def _interaction_message(
        self, interaction: FakeInteraction, body: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": str(next(self._message_ids)),
            "channel_id": interaction.payload["channel_id"],
            "type": 0,
            "content": body.get("content", ""),
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "flags": int(body.get("flags", 0)),
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "author": {
                "id": BOT_USER_ID,
                "username": "paperbot",
                "discriminator": "0",
                "avatar": None,
                "bot": True,
            },
            "timestamp": self.clock.now().isoformat(),
            "edited_timestamp": None,
        }


def _json_response(body: Any, *, status: int = 200) -> web.Response:
    # discord.py 2.7 decodes a body only when Content-Type is exactly "application/json",
    # as Discord sends it. A text body would make aiohttp add "; charset=utf-8".
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


def _command_problems(command: dict[str, Any]) -> list[str]:
    name = command.get("name", "")
    problems = []
    if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name) or name != name.lower():
        problems.append(f"command name {name!r}: expected 1-32 lowercase letters, digits, - or _")
    problems += _description_problems(f"command {name}", command)
    options = command.get("options", [])
    if len(options) > _MAX_OPTIONS:
        problems.append(f"command {name}: {len(options)} options, maximum {_MAX_OPTIONS}")
    for option in options:
        problems += _description_problems(f"option {option.get('name')}", option)
    return problems


def _description_problems(where: str, item: dict[str, Any]) -> list[str]:
    texts = {"": item.get("description", ""), **(item.get("description_localizations") or {})}
    return [
        f"{where} description {locale or 'base'}: {len(text)} characters, expected 1-100"
        for locale, text in texts.items()
        if not isinstance(text, str) or not 1 <= len(text) <= _MAX_DESCRIPTION
    ]


def _check_choices(choices: Any) -> None:
    problems = []
    if not isinstance(choices, list):
        problems.append("choices: expected a list")
        choices = []
    if len(choices) > _MAX_CHOICES:
        problems.append(f"choices: {len(choices)} choices, maximum {_MAX_CHOICES}")
    for index, choice in enumerate(choices):
        for key in ("name", "value"):
            text = str(choice.get(key, ""))
            if not 1 <= len(text) <= _MAX_CHOICE_TEXT:
                problems.append(f"choices[{index}].{key}: {len(text)} characters, expected 1-100")
    if problems:
        raise DiscordApiError(400, INVALID_FORM_BODY, "Invalid Form Body", {"_errors": problems})


class FakeGateway:
    """A gateway websocket at `url` that serves one `FakeDiscordApp`.

    Every frame the client sends is kept in `received`, every frame sent in `sent`, and the
    query of each connection in `connections`.
    """

    def __init__(self, api: FakeDiscordApp) -> None:
        self.api = api
        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.connections: list[dict[str, str]] = []
        self.identified = asyncio.Event()
        self.session_id = "fake-session-1"
        self._socket: web.WebSocketResponse | None = None
        self._compressor: Any = None
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the fake gateway is not started; call start() first")
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a random port and point the REST fake's gateway at it."""
        app = web.Application()
        app.router.add_get("/", self._connect)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.api.gateway_url = self.url

    async def close(self) -> None:
        # An open websocket would keep the runner's cleanup waiting for its handler.
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    def sent_by_client(self, op: int) -> list[dict[str, Any]]:
        """Return the frames with opcode `op` that the client sent."""
        return [frame for frame in self.received if frame.get("op") == op]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send one DISPATCH (op 0) event with the next sequence number."""
        self._sequence += 1
        await self._send({"op": OP_DISPATCH, "t": event, "s": self._sequence, "d": data})

    async def send_command(
        self,
        options: list[dict[str, Any]],
        *,
        locale: str = "ko",
        name: str = "paper",
    ) -> FakeInteraction:
        """Dispatch a slash command (interaction type 2) with `options` and return it."""
        data = {"id": COMMAND_ID, "name": name, "type": 1, "options": options}
        return await self._send_interaction(INTERACTION_COMMAND, data, locale)

    async def send_autocomplete(
        self, options: list[dict[str, Any]], *, locale: str = "ko"
    ) -> FakeInteraction:
        """Dispatch an autocomplete request (interaction type 4); one option has `focused`."""
        data = {"id": COMMAND_ID, "name": "paper", "type": 1, "options": options}
        return await self._send_interaction(INTERACTION_AUTOCOMPLETE, data, locale)

    async def _send_interaction(
        self, interaction_type: int, data: dict[str, Any], locale: str
    ) -> FakeInteraction:
        payload = _interaction_payload(data, locale, self.api.application_id)
        interaction = self.api.new_interaction(interaction_type, payload)
        await self.dispatch("INTERACTION_CREATE", interaction.payload)
        return interaction

    async def _connect(self, request: web.Request) -> web.WebSocketResponse:
        query = dict(request.query)
        self.connections.append(query)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        problem = _connection_problem(query)
        if problem is not None:
            await socket.close(code=problem[0], message=problem[1].encode())
            return socket

        self._socket = socket
        self._compressor = zlib.compressobj() if query.get("compress") == "zlib-stream" else None
        await self._send({"op": OP_HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                await socket.close(code=CLOSE_DECODE_ERROR, message=b"expected JSON text frames")
                break
            await self._receive(json.loads(message.data))
        self._socket = None
        return socket

    async def _receive(self, frame: dict[str, Any]) -> None:
        self.received.append(frame)
        op = frame.get("op")
        if op == OP_HEARTBEAT:
            await self._send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(frame.get("d") or {})

    async def _identify(self, data: dict[str, Any]) -> None:
        assert self._socket is not None
        if data.get("token") != self.api.token:
            await self._socket.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"invalid token")
            return
        ready = {
            "v": 10,
            "user": {
                "id": BOT_USER_ID,
                "username": "paperbot",
                "discriminator": "0",
                "avatar": None,
                "bot": True,
            },
            "application": {"id": self.api.application_id, "flags": 0},
            "session_id": self.session_id,
            "resume_gateway_url": self.url,
            "guilds": [],
        }
        await self.dispatch("READY", ready)
        self.identified.set()

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._socket is None or self._socket.closed:
            raise RuntimeError("no client is connected to the fake gateway")
        self.sent.append(frame)
        text = json.dumps(frame)
        if self._compressor is None:
            await self._socket.send_str(text)
            return
        # zlib-stream: one deflate stream per connection, each message ending in a sync flush.
        data = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        await self._socket.send_bytes(data)


def _connection_problem(query: dict[str, str]) -> tuple[int, str] | None:
    if query.get("v") != "10":
        return CLOSE_INVALID_API_VERSION, f"invalid API version {query.get('v')!r}"
    if query.get("encoding", "json") != "json":
        return CLOSE_DECODE_ERROR, f"unsupported encoding {query.get('encoding')!r}"
    if query.get("compress") not in (None, "zlib-stream"):
        return CLOSE_UNKNOWN_ERROR, f"unsupported compression {query.get('compress')!r}"
    return None


def _interaction_payload(data: dict[str, Any], locale: str, application_id: str) -> dict[str, Any]:
    """Build the INTERACTION_CREATE body of a guild text channel, without id and token."""
    channel = DiscordChannel("1000000000000000001", "papers").info()
    user = {"id": USER_ID, "username": "reader", "discriminator": "0", "avatar": None}
    return {
        "application_id": application_id,
        "data": data,
        "guild_id": GUILD_ID,
        "channel_id": channel["id"],
        "channel": {**channel, "position": 0, "permission_overwrites": [], "nsfw": False},
        "member": {
            "user": user,
            "roles": [],
            "joined_at": "2025-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2147483647",
        },
        "locale": locale,
        "guild_locale": "ko",
        "app_permissions": "2147483647",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
        "version": 1,
    }
