"""`paperbot run`: the long-running service on one event loop.

It owns the daily job, the posters and their HTTP sessions, the health and metrics server,
and the connectors that receive `/paper` commands. SIGTERM or SIGINT stops it: no new
message starts, the messages in flight finish and are recorded (for at most
`DRAIN_SECONDS`), then every task is cancelled and every session closed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import enum
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.config import Config, Platform
from bot.daily import DailyJob
from bot.delivery import ProgressEvent, ProgressKind
from bot.health import HealthReport, HealthServer, listen_port
from bot.ledger import DeliveryRecord, DeliveryStatus, Ledger
from bot.metrics import MeteredPoster, Metrics
from bot.platforms.base import PlatformError, Poster, build_posters
from bot.sources.base import open_source
from bot.store import Store

_log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1

# Seconds that a stop waits for the messages in flight to get a response and be recorded.
# Closing the sessions afterwards takes well under a second, so a stop ends within 10 s.
DRAIN_SECONDS = 5.0

# Seconds allowed for one platform's token check at start-up.
VERIFY_TIMEOUT_SECONDS = 15.0


class ConnectionState(enum.StrEnum):
    STARTING = "starting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


class Connector(Protocol):
    """A long-lived platform connection, such as the Slack Socket Mode or Discord gateway client.

    The service starts each connector after the store is open and closes it on stop.
    """

    name: str

    async def start(self) -> None:
        """Connect and return; keep any receive loop in a task the connector owns."""
        ...

    async def close(self) -> None:
        """Disconnect and cancel the connector's tasks."""
        ...

    def state(self) -> str:
        """Return the connection state, `connected` when healthy."""
        ...


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector factory may use: the open store and the health server's web app.

    Routes added to `web_app` are served on the health server's port, which is how Slack's
    HTTP mode receives requests.
    """

    config: Config
    store: Store
    clock: Clock
    web_app: web.Application


ConnectorFactory = Callable[[ConnectorContext], Sequence[Connector]]


class PosterConnection:
    """The REST connection of one poster: checked with its token at start, closed on stop."""

    def __init__(self, poster: Poster) -> None:
        self.poster = poster
        self.name = str(poster.platform)
        self._state = ConnectionState.STARTING

    async def start(self) -> None:
        """Check the token with the platform (`auth.test`, `GET /users/@me`).

        A failure is logged and not raised: the health check reports it, and the daily job
        still tries to post, because a network error at start-up may pass.
        """
        verify = getattr(self.poster, "verify", None)
        if verify is None:
            self._state = ConnectionState.CONNECTED
            return
        try:
            async with asyncio.timeout(VERIFY_TIMEOUT_SECONDS):
                user_id = await verify()
        except (PlatformError, TimeoutError) as error:
            self._state = ConnectionState.FAILED
            _log.error("%s token check failed (%s); /healthz reports 503", self.name, error)
            return
        self._state = ConnectionState.CONNECTED
        _log.info("%s connected as %s", self.name, user_id)

    def mark(self, state: ConnectionState) -> None:
        self._state = state

    async def close(self) -> None:
        """Close the poster's HTTP session."""
        await self.poster.close()
        self._state = ConnectionState.CLOSED

    def state(self) -> str:
        return str(self._state)


class DrainingLedger:
    """A ledger wrapper that lets a stop wait for the messages in flight.

    After `stop_new_messages()`, writing a new IN_FLIGHT record waits until the task is
    cancelled, so no message starts, while messages already IN_FLIGHT still get their
    SENT or FAILED record.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._open: set[tuple[str, dt.date, int]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False

    async def get(self, channel: str, digest_date: dt.date, paper: int) -> DeliveryRecord | None:
        return await self._ledger.get(channel, digest_date, paper)

    async def records(self, channel: str, digest_date: dt.date) -> list[DeliveryRecord]:
        return await self._ledger.records(channel, digest_date)

    async def put(self, record: DeliveryRecord) -> None:
        key = (record.channel, record.digest_date, record.paper)
        if record.status is DeliveryStatus.IN_FLIGHT:
            if self._stopping:
                # Parked until the stop cancels this task; nothing was sent or recorded.
                await asyncio.Future()
            self._open.add(key)
            self._idle.clear()
        await self._ledger.put(record)
        if record.status is not DeliveryStatus.IN_FLIGHT:
            self._open.discard(key)
            if not self._open:
                self._idle.set()

    def stop_new_messages(self) -> None:
        self._stopping = True

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until no message is in flight; return False when `seconds` pass first."""
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    @property
    def in_flight(self) -> int:
        return len(self._open)


class Service:
    """The daily job, posters, health server and connectors of one `paperbot run` process.

    Args:
        config: The loaded config.
        clock: Time source; the system clock when None.
        posters: Posters per platform; built from the config when None.
        connectors: Builds the command connectors once the store is open; they are started
            after the health server and closed on stop.
        environ: Environment for `$PORT`; the process environment when None.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        posters: Mapping[Platform, Poster] | None = None,
        connectors: ConnectorFactory | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self._raw_posters = dict(posters) if posters is not None else None
        self._connector_factory = connectors
        self._connectors: list[Connector] = []
        self._environ = environ
        self._stop = asyncio.Event()
        self._started = asyncio.Event()
        self._connections: dict[Platform, PosterConnection] = {}
        self.health_server: HealthServer | None = None
        self.job: DailyJob | None = None
        self.ledger: DrainingLedger | None = None
        self._job_task: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """Ask the service to stop; `run()` then drains, closes everything and returns."""
        if not self._stop.is_set():
            _log.info("stop requested; finishing the messages in flight")
        self._stop.set()

    async def wait_started(self) -> None:
        """Wait until the health server listens and the daily job runs."""
        await self._started.wait()

    async def run(self) -> int:
        """Run until `stop()` or until the daily job fails; return the exit code."""
        async with AsyncExitStack() as stack:
            await self._open(stack)
            assert self._job_task is not None
            self._started.set()
            stop_waiter = asyncio.create_task(self._stop.wait(), name="stop-waiter")
            done, _ = await asyncio.wait(
                {self._job_task, stop_waiter}, return_when=asyncio.FIRST_COMPLETED
            )
            stop_waiter.cancel()
            exit_code = self._job_exit_code() if self._job_task in done else EXIT_OK
            await self._drain()
        _log.info("paperbot stopped")
        return exit_code

    async def _open(self, stack: AsyncExitStack) -> None:
        config = self.config
        store = await Store.open(config.state_path, clock=self.clock)
        stack.push_async_callback(store.close)
        source = open_source(config.source, self.clock)
        stack.push_async_callback(source.close)
        posters = await self._open_posters(stack)
        server = self._health_server()
        if self._connector_factory is not None:
            context = ConnectorContext(config, store, self.clock, server.app)
            self._connectors = list(self._connector_factory(context))
        await server.start()
        stack.push_async_callback(server.close)
        self.ledger = DrainingLedger(store.ledger())
        self.job = DailyJob(
            config,
            store,
            source,
            posters,
            self.clock,
            progress=self._on_progress,
            ledger=self.ledger,
        )
        await self.job.completed_date()
        self._job_task = asyncio.create_task(self.job.run_forever(), name="daily-job")
        # Started after the job, and side by side, so a slow command connection never
        # delays the daily post.
        for connector in self._connectors:
            stack.push_async_callback(self._close_connector, connector)
        try:
            await asyncio.gather(*(connector.start() for connector in self._connectors))
        except BaseException:
            # The stack closes the store next, so the job must not outlive this frame.
            self._job_task.cancel()
            raise
        _log.info(
            "paperbot running: %d channels, schedule %s %s",
            len(config.channels),
            config.schedule.cron or config.schedule.time.strftime("%H:%M"),
            config.schedule.timezone,
        )

    async def _open_posters(self, stack: AsyncExitStack) -> dict[Platform, Poster]:
        raw = self._raw_posters if self._raw_posters is not None else build_posters(self.config)
        posters: dict[Platform, Poster] = {}
        for platform, poster in raw.items():
            connection = PosterConnection(poster)
            stack.push_async_callback(connection.close)
            self._connections[platform] = connection
            await connection.start()
            posters[platform] = MeteredPoster(poster, self.metrics)  # type: ignore[assignment]
        return posters

    def _health_server(self) -> HealthServer:
        port = listen_port(self.config.health, self._environ)
        server = HealthServer(self.config.health.host, port, self.health, self.metrics)
        self.health_server = server
        return server

    async def _close_connector(self, connector: Connector) -> None:
        try:
            await connector.close()
        except Exception:
            _log.exception("connector %s did not close cleanly", connector.name)

    async def _drain(self) -> None:
        task = self._job_task
        assert task is not None and self.ledger is not None
        if not task.done():
            self.ledger.stop_new_messages()
            if not await self.ledger.wait_idle(DRAIN_SECONDS):
                _log.warning(
                    "%d messages still in flight after %.0f s; they are checked on the next start",
                    self.ledger.in_flight,
                    DRAIN_SECONDS,
                )
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _job_exit_code(self) -> int:
        assert self._job_task is not None
        error = self._job_task.exception()
        if error is None:
            return EXIT_OK
        _log.error("the daily job stopped on an error; paperbot exits", exc_info=error)
        return EXIT_FAILED

    def _on_progress(self, event: ProgressEvent) -> None:
        self.metrics.observe(event)
        connection = self._connections.get(event.platform)
        if connection is not None and event.kind is ProgressKind.POSTED:
            # A message got through, so a failed start-up check no longer applies.
            connection.mark(ConnectionState.CONNECTED)

    def health(self) -> HealthReport:
        """Build the `/healthz` report: connection states, last digest and next run."""
        platforms = {str(p): c.state() for p, c in self._connections.items()}
        connectors = {connector.name: connector.state() for connector in self._connectors}
        scheduler = "running" if self._job_task and not self._job_task.done() else "stopped"
        details = {
            "platforms": platforms,
            "connectors": connectors,
            "scheduler": scheduler,
            "last_digest": self._last_digest(),
            "next_run": _iso(self.job.next_run_at) if self.job else None,
        }
        connected = str(ConnectionState.CONNECTED)
        healthy = (
            scheduler == "running"
            and all(state == connected for state in platforms.values())
            and all(state == connected for state in connectors.values())
        )
        return HealthReport(healthy=healthy, details=details)

    def _last_digest(self) -> dict[str, object] | None:
        job = self.job
        if job is None:
            return None
        last = job.last_run
        completed = job.last_completed_date
        if last is None:
            return {"date": completed.isoformat()} if completed else None
        return {
            "date": last.day.isoformat(),
            "outcome": str(last.outcome),
            "finished_at": _iso(last.finished_at),
            "channels_ok": last.channels_ok,
            "channels_total": last.channels_total,
        }


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


async def run_until_signal(service: Service) -> int:
    """Run `service` with SIGTERM and SIGINT handlers that stop it cleanly."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stop)
    try:
        return await service.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run_service_command(args: argparse.Namespace) -> int:
    """Carry out `paperbot run` and return its exit code."""
    from bot.config_loader import build_config

    config = build_config(args.config, require_tokens=True)
    from bot.connectors import build_connectors

    service = Service(config, connectors=build_connectors)
    return asyncio.run(run_until_signal(service))
