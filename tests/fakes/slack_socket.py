"""A fake Slack Socket Mode endpoint and response_url receiver on the fake Web API.

`apps.connections.open` returns `ws://127.0.0.1:PORT/link`. The websocket there sends
`hello`, then the envelopes a test asks for, and records each acknowledgement with its
arrival time on the event loop clock. POSTs to `/response/N` (the response_url of
envelope N) are recorded and checked against Slack's block limits.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.render.limits import slack_payload_problems
from tests.fakes.slack_api import FakeSlack, SlackChannel

APP_TOKEN = "xapp-1-A0FAKEAPP-1-fake"
APP_ID = "A0FAKEAPP"
TEAM_ID = "T0FAKETEAM"
# Seconds a test waits for something the bot must send; a guard against hanging, not a pause.
WAIT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SentEnvelope:
    """An envelope the fake sent over the websocket, and when (event loop seconds)."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    sent_at: float

    @property
    def response_path(self) -> str:
        return f"/response/{self.envelope_id}"


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledgement from the app; `payload` is set when it carried a response."""

    envelope_id: str
    payload: dict[str, Any] | None
    received_at: float


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url and the HTTP status the fake answered."""

    path: str
    body: dict[str, Any]
    received_at: float
    status: int


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeSlackSocket(FakeSlack):
    """The fake Web API plus `apps.connections.open`, its websocket and response_url paths.

    Args:
        channels: The workspace's channels.
        app_token: The app-level token that `apps.connections.open` accepts.
        **kwargs: Passed on to `FakeSlack`.
    """

    def __init__(
        self, channels: Iterable[SlackChannel], *, app_token: str = APP_TOKEN, **kwargs: Any
    ) -> None:
        super().__init__(channels, **kwargs)
        self.app_token = app_token
        self.envelopes: list[SentEnvelope] = []
        self.acks: list[Acknowledgement] = []
        self.responses: list[ResponsePost] = []
        # Messages from the app that are not acknowledgements of a known envelope.
        self.unexpected: list[str] = []
        self.connections = 0
        # HTTP status and body of the next response_url answers, oldest first.
        self.response_faults: list[tuple[int, str]] = []
        self._socket: _Socket | None = None
        self._changed = asyncio.Condition()
        self._envelope_ids = itertools.count(1)
        self._handlers["apps.connections.open"] = self._connections_open

    # Web API

    async def _respond(
        self, method: str, request: web.Request, args: dict[str, Any]
    ) -> dict[str, Any]:
        if method != "apps.connections.open":
            return await super()._respond(method, request, args)
        header = request.headers.get("Authorization", "")
        token = (
            header.removeprefix("Bearer ") if header.startswith("Bearer ") else args.get("token")
        )
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, **await self._connections_open(args)}

    async def _connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/link"}

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        app.router.add_get("/link", self._websocket)
        app.router.add_post("/response/{envelope_id}", self._response_url)

    # Websocket

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        socket = _Socket(ws)
        self._socket = socket
        self.connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        await self._notify()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._record_ack(message.data)
        finally:
            socket.closed.set()
            if self._socket is socket:
                self._socket = None
            await self._notify()
        return ws

    async def _record_ack(self, data: str) -> None:
        now = asyncio.get_running_loop().time()
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        known = {envelope.envelope_id for envelope in self.envelopes}
        if not isinstance(message, dict) or message.get("envelope_id") not in known:
            self.unexpected.append(data)
        else:
            self.acks.append(Acknowledgement(message["envelope_id"], message.get("payload"), now))
        await self._notify()

    @property
    def connected(self) -> bool:
        return self._socket is not None

    async def send_envelope(
        self, envelope_type: str, payload: dict[str, Any], *, accepts_response_payload: bool = True
    ) -> SentEnvelope:
        """Send one envelope to the connected app; `payload` gets this envelope's response_url."""
        if self._socket is None:
            raise RuntimeError("no Socket Mode client is connected; await wait_connected() first")
        envelope_id = f"env-{next(self._envelope_ids)}"
        payload = {**payload, "response_url": f"{self.origin}/response/{envelope_id}"}
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        sent = SentEnvelope(envelope_id, envelope_type, payload, asyncio.get_running_loop().time())
        self.envelopes.append(sent)
        await self._socket.ws.send_json(envelope)
        return sent

    async def slash_command(
        self,
        text: str,
        *,
        channel_id: str = "C0PAPERS",
        user_id: str = "U0ALICE",
        command: str = "/paper",
    ) -> SentEnvelope:
        """Send a `slash_commands` envelope as Slack does when a user types `command text`."""
        payload = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "papers",
            "user_id": user_id,
            "user_name": "alice",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "trigger_id": "1.2.3",
        }
        return await self.send_envelope("slash_commands", payload)

    async def click_button(
        self,
        action_id: str,
        value: str,
        *,
        channel_id: str = "C0PAPERS",
        user_id: str = "U0ALICE",
        ephemeral: bool = True,
    ) -> SentEnvelope:
        """Send an `interactive` envelope of a `block_actions` click on a button."""
        return await self.send_envelope(
            "interactive",
            block_actions_payload(
                action_id, value, channel_id=channel_id, user_id=user_id, ephemeral=ephemeral
            ),
        )

    async def disconnect_client(self) -> None:
        """Close the websocket from the server side, as Slack does before a refresh."""
        if self._socket is not None:
            await self._socket.ws.close()

    # response_url

    async def _response_url(self, request: web.Request) -> web.Response:
        now = asyncio.get_running_loop().time()
        body = await request.json()
        path = request.path
        status, text = self._response_answer(body)
        self.responses.append(ResponsePost(path, body, now, status))
        await self._notify()
        return web.Response(status=status, text=text)

    def _response_answer(self, body: dict[str, Any]) -> tuple[int, str]:
        if self.response_faults:
            return self.response_faults.pop(0)
        if body.get("delete_original"):
            return 200, "ok"
        if not body.get("text") and not body.get("blocks"):
            return 400, "no_text"
        # A response_url message has no channel field; the check needs one.
        if slack_payload_problems({**body, "channel": "C0RESPONSE"}):
            return 400, "invalid_blocks"
        return 200, "ok"

    # Waiting

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait until `predicate()` is true; fail after WAIT_TIMEOUT_SECONDS."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), WAIT_TIMEOUT_SECONDS)
            except TimeoutError:
                raise AssertionError(f"timed out waiting for {what}") from None

    async def wait_connected(self) -> None:
        await self.wait_until(lambda: self.connected, "a Socket Mode connection")

    async def wait_ack(self, envelope: SentEnvelope) -> Acknowledgement:
        def found() -> bool:
            return any(ack.envelope_id == envelope.envelope_id for ack in self.acks)

        await self.wait_until(found, f"the acknowledgement of {envelope.envelope_id}")
        return next(ack for ack in self.acks if ack.envelope_id == envelope.envelope_id)

    def responses_to(self, envelope: SentEnvelope) -> list[ResponsePost]:
        return [post for post in self.responses if post.path == envelope.response_path]

    async def wait_responses(self, envelope: SentEnvelope, count: int = 1) -> list[ResponsePost]:
        """Wait for `count` POSTs to the response_url of `envelope` and return them all."""
        await self.wait_until(
            lambda: len(self.responses_to(envelope)) >= count,
            f"{count} response_url POSTs for {envelope.envelope_id}",
        )
        return self.responses_to(envelope)


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    channel_id: str = "C0PAPERS",
    user_id: str = "U0ALICE",
    ephemeral: bool = True,
    response_url: str | None = None,
) -> dict[str, Any]:
    """Build the `block_actions` payload of a click on a button in an app's message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": "alice", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1758585600.000100",
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "1.2.4",
        "channel": {"id": channel_id, "name": "papers"},
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "share",
                "text": {"type": "plain_text", "text": "Share"},
                "value": value,
                "action_ts": "1758585601.000200",
            }
        ],
    }
    if response_url is not None:
        payload["response_url"] = response_url
    return payload
