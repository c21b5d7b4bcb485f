"""A fake digest web server on 127.0.0.1 that records every request it receives.

Each path has a `Route` that decides the response. It is a document with validators (a
conditional request that matches them gets 304), a queue of error statuses sent first,
or a failure mode such as a hang, a dropped connection or an endless body.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


class Mode(enum.Enum):
    SERVE = "serve"
    HANG = "hang"
    DROP_BEFORE_HEADERS = "drop_before_headers"
    DROP_MID_BODY = "drop_mid_body"
    ENDLESS_BODY = "endless_body"
    REDIRECT_LOOP = "redirect_loop"


@dataclass
class Route:
    """What the server sends for one path.

    `statuses` are sent first, one per request (with `headers_for_status`), before the
    route falls back to `mode`.
    """

    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    mode: Mode = Mode.SERVE
    statuses: deque[int] = field(default_factory=deque)
    headers_for_status: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class FakeDigestServer:
    """aiohttp server with per-path routes; use as `async with FakeDigestServer() as server`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        # Set on close so that hanging handlers return and the server shuts down at once.
        self._release = asyncio.Event()
        self._modes: dict[Mode, Callable[[web.Request, Route], Awaitable[web.StreamResponse]]] = {
            Mode.SERVE: self._serve,
            Mode.HANG: self._hang,
            Mode.DROP_BEFORE_HEADERS: self._drop_before_headers,
            Mode.DROP_MID_BODY: self._drop_mid_body,
            Mode.ENDLESS_BODY: self._endless_body,
            Mode.REDIRECT_LOOP: self._redirect_loop,
        }

    async def __aenter__(self) -> FakeDigestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add(self, path: str, route: Route) -> Route:
        self.routes[path] = route
        return route

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers.items()))
        )
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.statuses:
            status = route.statuses.popleft()
            return web.Response(status=status, headers=route.headers_for_status, text="error")
        return await self._modes[route.mode](request, route)

    async def _serve(self, request: web.Request, route: Route) -> web.StreamResponse:
        validators = {}
        if route.etag:
            validators["ETag"] = route.etag
        if route.last_modified:
            validators["Last-Modified"] = route.last_modified
        if _is_not_modified(request, route):
            return web.Response(status=304, headers=validators)
        headers = {"Content-Type": route.content_type, **validators}
        return web.Response(body=route.body, headers=headers)

    async def _hang(self, request: web.Request, route: Route) -> web.StreamResponse:
        await self._release.wait()
        return web.Response(status=503)

    async def _drop_before_headers(self, request: web.Request, route: Route) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response(status=500)

    async def _drop_mid_body(self, request: web.Request, route: Route) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": route.content_type})
        response.content_length = len(route.body) * 2
        await response.prepare(request)
        await response.write(route.body)
        assert request.transport is not None
        request.transport.close()
        return response

    async def _endless_body(self, request: web.Request, route: Route) -> web.StreamResponse:
        # Chunked, with no Content-Length, so only the client's running count can stop it.
        response = web.StreamResponse(headers={"Content-Type": route.content_type})
        await response.prepare(request)
        try:
            while not self._release.is_set():
                await response.write(route.body or b"x" * 65536)
        except ConnectionError:
            pass
        return response

    async def _redirect_loop(self, request: web.Request, route: Route) -> web.StreamResponse:
        raise web.HTTPFound(location=request.path)


def _is_not_modified(request: web.Request, route: Route) -> bool:
    # A server ignores If-Modified-Since when the request also has If-None-Match.
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return route.etag is not None and if_none_match == route.etag
    if_modified_since = request.headers.get("If-Modified-Since")
    return route.last_modified is not None and if_modified_since == route.last_modified
