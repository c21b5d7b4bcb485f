"""YAML configuration: typed dataclasses, `${ENV_VAR}` interpolation and validation."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from pathlib import Path


class Platform(enum.StrEnum):
    SLACK = "slack"
    DISCORD = "discord"


class EditPolicy(enum.StrEnum):
    IGNORE = "ignore"
    UPDATE = "update"


@dataclass(frozen=True)
class ChannelConfig:
    """One chat channel that receives the digest.

    `name` is the operator's label used in logs, the CLI and the delivery ledger;
    `id` is the platform's channel id (`C0123ABCD` on Slack, a snowflake on Discord).
    """

    name: str
    platform: Platform
    id: str
    header: bool = True
    thread: bool = False
    locale: str | None = None
    on_edit: EditPolicy = EditPolicy.IGNORE
    empty_day_note: bool = False


@dataclass(frozen=True)
class SlackConfig:
    # Secrets stay out of repr() so that no log line or traceback can print them.
    bot_token: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    api_url: str = "https://slack.com/api/"
    mode: str = "socket"
    # Slack allows about one message per second per channel.
    min_interval_seconds: float = 1.0


@dataclass(frozen=True)
class DiscordConfig:
    token: str | None = field(default=None, repr=False)
    application_id: str | None = None
    api_base: str = "https://discord.com/api/v10"
    # Discord allows about five messages per five seconds per channel.
    burst: int = 5
    per_seconds: float = 5.0


@dataclass(frozen=True)
class SourceConfig:
    """Where the day's digest comes from.

    `kind` is "folder" (a local clone of a Jekyll `_posts/`) or "http" (a URL template).
    `pattern` is a file-name glob for folders, or the URL template for http; both may use
    `{date}` (YYYY-MM-DD) and `{yyyymmdd}`.
    """

    kind: str = "folder"
    path: Path | None = None
    pattern: str = "{date}-*.md"
    url: str | None = None
    title_pattern: str | None = None
    max_bytes: int = 1024 * 1024
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class DeliveryConfig:
    max_retries: int = 5
    request_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ScheduleConfig:
    time: dt.time = dt.time(8, 30)
    cron: str | None = None
    timezone: str = "Asia/Seoul"
    poll_interval_minutes: float = 10.0
    deadline: dt.time = dt.time(12, 0)
    grace_minutes: float = 240.0


@dataclass(frozen=True)
class HealthConfig:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class Config:
    path: Path
    locale: str = "ko"
    source: SourceConfig = field(default_factory=SourceConfig)
    channels: tuple[ChannelConfig, ...] = ()
    slack: SlackConfig = field(default_factory=SlackConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    state_path: Path = Path("paperbot.sqlite3")
    admin_channel: str | None = None

    def channels_for(self, platform: Platform) -> tuple[ChannelConfig, ...]:
        return tuple(channel for channel in self.channels if channel.platform is platform)


class ConfigError(Exception):
    """Raised with every problem found in a config file, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
