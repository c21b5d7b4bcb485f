"""Prometheus counters of the daily service, on a registry of its own.

The counters are fed from delivery's `ProgressEvent` callback (posted, updated, retried,
failed) and from `MeteredPoster`, which sees every 429 before delivery waits it out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from bot.delivery import ProgressEvent, ProgressKind
from bot.platforms.base import MessagePayload, PostResult, RateLimited, Target, TransientError

_log = logging.getLogger(__name__)

# The content type of the Prometheus text exposition format 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The service's counters and gauges; `render()` returns them in Prometheus text format."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages_posted = Counter(
            "paperbot_messages_posted",
            "Paper messages the platform accepted.",
            ["platform"],
            registry=self.registry,
        )
        self.messages_updated = Counter(
            "paperbot_messages_updated",
            "Posted paper messages edited in place after their digest changed.",
            ["platform"],
            registry=self.registry,
        )
        self.message_failures = Counter(
            "paperbot_message_failures",
            "Messages given up on: a permanent error or retries exhausted.",
            ["platform"],
            registry=self.registry,
        )
        self.retries = Counter(
            "paperbot_retries",
            "Retries of a message after a 429, 5xx, timeout or dropped connection.",
            ["platform"],
            registry=self.registry,
        )
        self.rate_limit_waits = Counter(
            "paperbot_rate_limit_waits",
            "429 answers, each followed by a wait of its Retry-After.",
            ["platform"],
            registry=self.registry,
        )
        self.rate_limit_wait_seconds = Counter(
            "paperbot_rate_limit_wait_seconds",
            "Seconds of Retry-After waited out after 429 answers.",
            ["platform"],
            registry=self.registry,
        )
        self.transient_errors = Counter(
            "paperbot_transient_errors",
            "5xx answers, timeouts and dropped connections.",
            ["platform"],
            registry=self.registry,
        )
        self.digests_posted = Counter(
            "paperbot_digests_posted",
            "Daily runs that delivered a digest to every channel.",
            registry=self.registry,
        )
        self.last_digest_timestamp = Gauge(
            "paperbot_last_digest_timestamp_seconds",
            "Unix time when the last digest finished delivering.",
            registry=self.registry,
        )
        self._progress_handlers: dict[ProgressKind, Callable[[ProgressEvent], None]] = {
            ProgressKind.POSTED: self._on_posted,
            ProgressKind.UPDATED: self._on_updated,
            ProgressKind.RETRYING: self._on_retrying,
            ProgressKind.FAILED: self._on_failed,
        }

    def observe(self, event: ProgressEvent) -> None:
        """Count one delivery step; pass this method as delivery's `progress` callback."""
        handler = self._progress_handlers.get(event.kind)
        if handler is not None:
            handler(event)

    def render(self) -> bytes:
        """Return every metric in the Prometheus text exposition format."""
        return generate_latest(self.registry)

    def _on_posted(self, event: ProgressEvent) -> None:
        # Delivery emits POSTED for papers only; headers and notes are not counted.
        self.messages_posted.labels(platform=str(event.platform)).inc()

    def _on_updated(self, event: ProgressEvent) -> None:
        self.messages_updated.labels(platform=str(event.platform)).inc()

    def _on_retrying(self, event: ProgressEvent) -> None:
        self.retries.labels(platform=str(event.platform)).inc()

    def _on_failed(self, event: ProgressEvent) -> None:
        self.message_failures.labels(platform=str(event.platform)).inc()


class MeteredPoster:
    """Wraps a `Poster` and counts its 429s and transient errors before re-raising them.

    Posts and edits are counted. Every other attribute (`rate`, `find_sent`, `verify`, ...) is
    the wrapped poster's.
    """

    def __init__(self, poster: Any, metrics: Metrics) -> None:
        self._poster = poster
        self._metrics = metrics
        self.platform = poster.platform

    @property
    def wrapped(self) -> Any:
        """The poster that sends the requests."""
        return self._poster

    def __getattr__(self, name: str) -> Any:
        return getattr(self._poster, name)

    async def post(self, target: Target, payload: MessagePayload) -> PostResult:
        """Send through the wrapped poster, counting a 429 or transient error it raises."""
        return await self._counted(self._poster.post(target, payload))

    async def update(self, target: Target, message_id: str, payload: MessagePayload) -> PostResult:
        """Edit through the wrapped poster, counting a 429 or transient error it raises."""
        return await self._counted(self._poster.update(target, message_id, payload))

    async def _counted(self, request: Awaitable[PostResult]) -> PostResult:
        label = str(self.platform)
        try:
            return await request
        except RateLimited as error:
            self._metrics.rate_limit_waits.labels(platform=label).inc()
            self._metrics.rate_limit_wait_seconds.labels(platform=label).inc(error.retry_after)
            raise
        except TransientError:
            self._metrics.transient_errors.labels(platform=label).inc()
            raise
