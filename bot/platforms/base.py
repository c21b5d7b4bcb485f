"""Platform-neutral poster protocol, message targets and the errors that delivery retries on.

Each platform folder implements `Poster` with its client library and `MessageRenderer` on top
of `bot.render`; delivery uses only the types in this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Platform

if TYPE_CHECKING:
    from bot.config import Config
    from bot.digest.model import Digest, Paper
    from bot.i18n import Translator

# A raw chat.postMessage body (Slack) or create-message body (Discord), sent unchanged.
MessagePayload = dict[str, Any]


@dataclass(frozen=True)
class Rate:
    """A platform's message rate per channel: at most `burst` messages in any `per_seconds`.

    Slack's one message per second is `Rate(1, 1.0)`; Discord's five per five seconds is
    `Rate(5, 5.0)`.
    """

    burst: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.burst < 1:
            raise ValueError(f"rate burst must be at least 1, got {self.burst}")
        if self.per_seconds < 0:
            raise ValueError(f"rate per_seconds must not be negative, got {self.per_seconds}")


@dataclass(frozen=True)
class Target:
    """Destination of a message: a channel, or a thread in it.

    `thread_id` is the parent message `ts` on Slack and the thread channel id on Discord.
    """

    channel_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class PostResult:
    """A message the platform accepted.

    `channel_id` is where it landed (a Discord thread is its own channel).
    """

    message_id: str
    channel_id: str


class PlatformError(Exception):
    """A request to a chat platform failed.

    Posters build the message from the method name, HTTP status and platform error code,
    so it never contains a token.
    """


class RateLimited(PlatformError):
    """The platform returned HTTP 429; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(PlatformError):
    """A failure that a retry may fix: 5xx, timeout, dropped connection or a server-side code."""


class PermanentError(PlatformError):
    """A failure that a retry cannot fix: bad token, unknown channel, missing access, bad payload.

    `code` is the platform's error code (`channel_not_found` on Slack, `10003` on Discord).
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class Poster(Protocol):
    """Sends prepared payloads to one platform; the only layer that talks to its API."""

    platform: Platform
    rate: Rate

    async def post(self, target: Target, payload: MessagePayload) -> PostResult:
        """Send one message as is and return where it landed.

        Raises:
            RateLimited, TransientError, PermanentError: the platform rejected the request.
        """
        ...

    async def update(self, target: Target, message_id: str, payload: MessagePayload) -> PostResult:
        """Replace the message `message_id`, sent to `target`, with a payload built for `target`.

        `payload` is what `post` would send; the poster drops the fields that only a new
        message takes.

        Raises:
            RateLimited, TransientError, PermanentError: the platform rejected the request.
        """
        ...

    async def find_sent(self, target: Target, digest_date: dt.date, paper: int) -> str | None:
        """Return the id of the message of `paper` (0 for the header) already in `target`.

        Delivery calls it before sending a message again whose earlier send may have reached
        the platform. None means not found, or that the platform drops a resent duplicate by
        itself and needs no lookup.

        Raises:
            RateLimited, TransientError, PermanentError: the lookup failed.
        """
        ...

    async def open_thread(self, channel_id: str, message_id: str, name: str) -> Target:
        """Return the target that replies to `message_id` in a thread, creating it if needed."""
        ...

    async def close(self) -> None:
        """Release the HTTP session; the poster cannot be used afterwards."""
        ...


class MessageRenderer(Protocol):
    """Builds one platform's payloads, so delivery never depends on their shape."""

    def header(
        self, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        """Build the message that introduces the day's digest in a channel."""
        ...

    def paper(
        self, paper: Paper, digest: Digest, translator: Translator, *, target: Target, nonce: str
    ) -> MessagePayload:
        """Build the message of one paper, addressed to `target` (a channel or a thread)."""
        ...


def default_renderers() -> dict[Platform, MessageRenderer]:
    """Return the renderers built on `bot.render` for every supported platform."""
    # Imported here because the platform modules import this one.
    from bot.platforms.discord.poster import DiscordMessages
    from bot.platforms.slack.poster import SlackMessages

    return {Platform.SLACK: SlackMessages(), Platform.DISCORD: DiscordMessages()}


def build_posters(config: Config) -> dict[Platform, Poster]:
    """Create a poster for each platform that at least one configured channel uses.

    Raises:
        ValueError: A used platform has no token in the config.
    """
    from bot.platforms.discord.poster import DiscordPoster
    from bot.platforms.slack.poster import SlackPoster

    timeout = config.delivery.request_timeout_seconds
    posters: dict[Platform, Poster] = {}
    if config.channels_for(Platform.SLACK):
        posters[Platform.SLACK] = SlackPoster(config.slack, request_timeout_seconds=timeout)
    if config.channels_for(Platform.DISCORD):
        posters[Platform.DISCORD] = DiscordPoster(config.discord, request_timeout_seconds=timeout)
    return posters
