"""The health server: /healthz status codes and JSON, /metrics counters, $PORT handling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from bot.config import HealthConfig, Platform
from bot.delivery import ProgressEvent, ProgressKind
from bot.health import HealthReport, HealthServer, listen_port
from bot.metrics import MeteredPoster, Metrics
from bot.platforms.base import PostResult, RateLimited, Target, TransientError


def event(kind: ProgressKind, platform: Platform = Platform.SLACK) -> ProgressEvent:
    return ProgressEvent(channel="papers", platform=platform, kind=kind, done=0, total=3, paper=1)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[HealthReport | Exception, Metrics], HealthServer]]:
    servers: list[HealthServer] = []

    async def start(report: HealthReport | Exception, metrics: Metrics) -> HealthServer:
        def probe() -> HealthReport:
            if isinstance(report, Exception):
                raise report
            return report

        server = HealthServer("127.0.0.1", 0, probe, metrics)
        await server.start()
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        await server.close()


async def get(server: HealthServer, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


async def get_json(server: HealthServer, path: str) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, await response.json()


async def test_healthz_healthy_is_200(serve) -> None:  # type: ignore[no-untyped-def]
    details = {"platforms": {"slack": "connected"}, "next_run": "2025-09-04T23:30:00+00:00"}
    server = await serve(HealthReport(True, details), Metrics())

    status, body = await get_json(server, "/healthz")

    assert status == 200
    assert body["status"] == "ok"
    assert body["platforms"] == {"slack": "connected"}
    assert body["next_run"] == "2025-09-04T23:30:00+00:00"


async def test_healthz_unhealthy_is_503(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(HealthReport(False, {"platforms": {"discord": "failed"}}), Metrics())

    status, body = await get_json(server, "/healthz")

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["platforms"] == {"discord": "failed"}


async def test_healthz_probe_error_is_503(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(RuntimeError("boom"), Metrics())

    status, body = await get_json(server, "/healthz")

    assert status == 503
    assert body == {"status": "error"}


async def test_healthz_unknown_path_is_404(serve) -> None:  # type: ignore[no-untyped-def]
    server = await serve(HealthReport(True), Metrics())

    status, _, _ = await get(server, "/nope")

    assert status == 404


async def test_metrics_counts_progress_events(serve) -> None:  # type: ignore[no-untyped-def]
    metrics = Metrics()
    for kind in (ProgressKind.POSTED, ProgressKind.POSTED, ProgressKind.RETRYING):
        metrics.observe(event(kind))
    metrics.observe(event(ProgressKind.FAILED, Platform.DISCORD))
    metrics.observe(event(ProgressKind.STARTED))
    server = await serve(HealthReport(True), metrics)

    status, content_type, text = await get(server, "/metrics")

    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert 'paperbot_messages_posted_total{platform="slack"} 2.0' in text
    assert 'paperbot_retries_total{platform="slack"} 1.0' in text
    assert 'paperbot_message_failures_total{platform="discord"} 1.0' in text
    assert "paperbot_rate_limit_waits_total" in text


class ScriptedPoster:
    platform = Platform.DISCORD

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors

    async def post(self, target: Target, payload: dict[str, object]) -> PostResult:
        if self.errors:
            raise self.errors.pop(0)
        return PostResult(message_id="1", channel_id=target.channel_id)


async def test_metered_poster_counts_429_and_5xx() -> None:
    metrics = Metrics()
    poster = MeteredPoster(
        ScriptedPoster([RateLimited("429", retry_after=2.5), TransientError("500")]), metrics
    )
    target = Target(channel_id="1")

    with pytest.raises(RateLimited):
        await poster.post(target, {})
    with pytest.raises(TransientError):
        await poster.post(target, {})
    result = await poster.post(target, {})

    assert result.message_id == "1"
    text = metrics.render().decode()
    assert 'paperbot_rate_limit_waits_total{platform="discord"} 1.0' in text
    assert 'paperbot_rate_limit_wait_seconds_total{platform="discord"} 2.5' in text
    assert 'paperbot_transient_errors_total{platform="discord"} 1.0' in text


def test_metrics_registry_not_global() -> None:
    first, second = Metrics(), Metrics()
    first.observe(event(ProgressKind.POSTED))

    assert 'paperbot_messages_posted_total{platform="slack"} 1.0' in first.render().decode()
    assert 'platform="slack"' not in second.render().decode()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 8080), ({"PORT": "5000"}, 5000), ({"PORT": ""}, 8080), ({"PORT": "0"}, 0)],
)
def test_listen_port_prefers_port_variable(environ: dict[str, str], expected: int) -> None:
    assert listen_port(HealthConfig(port=8080), environ) == expected


@pytest.mark.parametrize("value", ["http", "70000", "-1", "80.5"])
def test_listen_port_rejects_bad_port(value: str) -> None:
    with pytest.raises(ValueError, match=r"\$PORT"):
        listen_port(HealthConfig(), {"PORT": value})
