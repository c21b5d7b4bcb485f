"""aiohttp server for `/healthz` (JSON, 200 or 503) and `/metrics` (Prometheus text)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.config import HealthConfig
from bot.metrics import CONTENT_TYPE, Metrics

_log = logging.getLogger(__name__)

# Hosting platforms such as Heroku tell the process which port to listen on in $PORT.
PORT_VARIABLE = "PORT"


@dataclass(frozen=True)
class HealthReport:
    """A snapshot of the service: `healthy` picks 200 or 503, `details` becomes the JSON body."""

    healthy: bool
    details: Mapping[str, Any] = field(default_factory=dict)


HealthProbe = Callable[[], HealthReport]


class HealthServerError(ValueError):
    """The health server cannot listen: a bad `$PORT`, or an address that is taken."""


def listen_port(config: HealthConfig, environ: Mapping[str, str] | None = None) -> int:
    """Return the port to listen on: `$PORT` when set, else `config.port`.

    Raises:
        HealthServerError: `$PORT` is not an integer from 0 to 65535.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(PORT_VARIABLE)
    if text is None or not text.strip():
        return config.port
    try:
        port = int(text)
    except ValueError:
        raise HealthServerError(
            f"${PORT_VARIABLE} must be a port number, got {text!r}; unset it or fix the value"
        ) from None
    if not 0 <= port <= 65535:
        raise HealthServerError(f"${PORT_VARIABLE} must be from 0 to 65535, got {port}")
    return port


class HealthServer:
    """Serves `/healthz` from `probe` and `/metrics` from `metrics` until `close()`."""

    def __init__(self, host: str, port: int, probe: HealthProbe, metrics: Metrics) -> None:
        self._host = host
        self._requested_port = port
        self._probe = probe
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        # Other routes, such as Slack's HTTP-mode endpoint, may be added until start().
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics_text)

    async def start(self) -> None:
        """Bind the socket and start answering; port 0 picks a free port, kept in `port`.

        Raises:
            HealthServerError: the address is taken or cannot be bound.
        """
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self._runner = None
            raise HealthServerError(
                f"health server cannot listen on {self._host}:{self._requested_port} "
                f"({error.strerror or error}); set health.port, or $PORT, to a free port"
            ) from error
        self.port = self._runner.addresses[0][1]
        _log.info("health server listening on http://%s:%d", self._host, self.port)

    async def close(self) -> None:
        """Stop answering and release the socket."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            report = self._probe()
        except Exception:
            _log.exception("health probe failed; answering 503")
            return web.json_response({"status": "error"}, status=503)
        body = {"status": "ok" if report.healthy else "unavailable", **report.details}
        return web.json_response(body, status=200 if report.healthy else 503)

    async def _metrics_text(self, request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})
