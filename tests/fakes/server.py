"""Shared parts of the fake platform servers: lifecycle on 127.0.0.1, faults, rate windows."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock, SystemClock


@dataclass(frozen=True)
class RateLimit:
    """Respond to the next request with HTTP 429 and this Retry-After."""

    retry_after: float


@dataclass(frozen=True)
class ServerError:
    """Respond to the next request with this 5xx status."""

    status: int = 500


@dataclass(frozen=True)
class Hang:
    """Hold the next request until `release()`, then handle it normally."""


@dataclass(frozen=True)
class Drop:
    """Close the connection of the next request without a response."""


@dataclass(frozen=True)
class DropAfterProcessing:
    """Handle the next request normally, then close the connection without the response.

    The platform keeps what the request did (a posted message stays posted), as when a
    response is lost on the way back.
    """


@dataclass(frozen=True)
class HangAfterProcessing:
    """Handle the next request normally, then hold the response until `release()`.

    A client whose timeout runs out first sees a timeout for a request that succeeded.
    """


Fault = RateLimit | ServerError | Hang | Drop | DropAfterProcessing | HangAfterProcessing

# Faults that let the request be handled first; `_finish_fault` applies them to the response.
_AFTER_PROCESSING = (DropAfterProcessing, HangAfterProcessing)

# The request storage key under which a fault that applies after processing waits.
_PENDING_FAULT_KEY = web.RequestKey("fake_server_fault_after_processing", object)


@dataclass
class RecordedRequest:
    """One request as the fake received it, and the fake's response.

    `endpoint` is the Slack method (`chat.postMessage`) or a Discord route name
    (`create_message`). `error` is the Slack error code or the Discord error code as text.
    """

    endpoint: str
    http_method: str
    path: str
    channel: str | None
    body: dict[str, Any]
    status: int = 200
    error: str | None = None
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The fake's clock.monotonic() when the request arrived, in seconds.
    received_at: float = 0.0


class RateWindow:
    """A per-key sliding window: at most `limit` requests in any `per_seconds` on `clock`."""

    def __init__(self, limit: int, per_seconds: float, clock: Clock) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self._clock = clock
        self._times: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    def _prune(self, key: str) -> collections.deque[float]:
        times = self._times[key]
        window_start = self._clock.monotonic() - self.per_seconds
        while times and times[0] <= window_start:
            times.popleft()
        return times

    def retry_after(self, key: str) -> float | None:
        """Return the seconds until `key` may send again, or None when it may send now."""
        times = self._prune(key)
        if len(times) < self.limit:
            return None
        return times[0] + self.per_seconds - self._clock.monotonic()

    def record(self, key: str) -> None:
        self._times[key].append(self._clock.monotonic())

    def remaining(self, key: str) -> int:
        return self.limit - len(self._prune(key))

    def reset_after(self, key: str) -> float:
        """Return the seconds until the oldest request of `key` leaves the window."""
        times = self._prune(key)
        return times[0] + self.per_seconds - self._clock.monotonic() if times else 0.0


class FakeServer:
    """An aiohttp app on 127.0.0.1 at a random port that records requests and injects faults.

    Subclasses add routes in `_add_routes` and build the platform's own 429 and 5xx responses.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(
            collections.deque
        )
        self._held = asyncio.Event()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def origin(self) -> str:
        if self.port is None:
            raise RuntimeError("the fake server is not started; call start() first")
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        self._add_routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        # Held requests must finish, or runner cleanup waits for them.
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    def inject(self, endpoint: str, *faults: Fault) -> None:
        """Apply `faults` to the next requests to `endpoint`, one per request, in order."""
        self._faults[endpoint].extend(faults)

    def pending_faults(self, endpoint: str) -> int:
        return len(self._faults[endpoint])

    async def wait_held(self) -> None:
        """Wait until a request is being held by a `Hang` fault."""
        await self._held.wait()

    def release(self) -> None:
        """Let every held request, and every later `Hang`, be handled normally."""
        self._release.set()

    async def _apply_fault(self, endpoint: str, request: web.Request) -> web.StreamResponse | None:
        """Return the fault's response, or None to handle the request normally."""
        queue = self._faults[endpoint]
        if not queue:
            return None
        fault = queue.popleft()
        if isinstance(fault, _AFTER_PROCESSING):
            request[_PENDING_FAULT_KEY] = fault
            return None
        if isinstance(fault, RateLimit):
            return self._rate_limited(fault.retry_after, scope_key=endpoint)
        if isinstance(fault, ServerError):
            return self._server_error(fault.status)
        if isinstance(fault, Hang):
            self._held.set()
            await self._release.wait()
            return None
        assert request.transport is not None
        request.transport.close()
        # The connection is closed, so this response is never written.
        raise web.HTTPInternalServerError()

    async def _finish_fault(
        self, request: web.Request, response: web.StreamResponse
    ) -> web.StreamResponse:
        """Apply a fault that waits until the request was handled, or return `response`."""
        fault = request.get(_PENDING_FAULT_KEY)
        if isinstance(fault, HangAfterProcessing):
            self._held.set()
            await self._release.wait()
            return response
        if isinstance(fault, DropAfterProcessing):
            assert request.transport is not None
            request.transport.close()
            # The connection is closed, so this response is never written.
            raise web.HTTPInternalServerError()
        return response

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _rate_limited(self, retry_after: float, *, scope_key: str) -> web.Response:
        raise NotImplementedError

    def _server_error(self, status: int) -> web.Response:
        raise NotImplementedError
