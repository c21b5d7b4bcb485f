"""Turn a YAML config file into a validated `Config`.

The key table `SCHEMA` is the single description of every key: the loader validates
against it and the configuration reference in the READMEs is checked against it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from bot.config import (
    ChannelConfig,
    Config,
    ConfigError,
    DeliveryConfig,
    DiscordConfig,
    EditPolicy,
    HealthConfig,
    Platform,
    ScheduleConfig,
    SlackConfig,
    SourceConfig,
)
from bot.i18n import SUPPORTED_LOCALES

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_DISCORD_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
_MAX_CONFIG_BYTES = 1024 * 1024
# A clock time with a one- or two-digit hour: 8:30, 08:30 or 08:30:15.
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# YAML 1.1 base-60 numbers (8:30 is 510, 1:30.5 is 90.5), which PyYAML resolves as int/float.
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


@dataclass(frozen=True)
class MissingEnv:
    """A `${VAR}` reference whose variable is not set."""

    variable: str


class _Invalid(ValueError):
    """A value that does not fit its key; the message names what was expected."""


# --- Value converters: each takes the YAML value and returns the typed value or raises ---


def _str(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid(f"expected a string, got {_describe(value)}")
    text = str(value).strip()
    if not text:
        raise _Invalid("expected a non-empty string")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return value


def _number(
    minimum: float, *, integer: bool = False, maximum: float | None = None
) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        wrong_type = isinstance(value, bool) or not isinstance(value, int | float)
        if wrong_type or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a number"
            raise _Invalid(f"expected {kind} >= {minimum:g}, got {_describe(value)}")
        if value < minimum:
            raise _Invalid(f"expected a value >= {minimum:g}, got {value}")
        if maximum is not None and value > maximum:
            raise _Invalid(f"expected a value <= {maximum:g}, got {value}")
        return value

    convert.type_name = "integer" if integer else "number"  # type: ignore[attr-defined]
    return convert


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            expected = " or ".join(f'"{choice}"' for choice in choices)
            raise _Invalid(f"expected {expected}, got {_describe(value)}")
        return value

    convert.type_name = " / ".join(choices)  # type: ignore[attr-defined]
    return convert


def _time_of_day(value: Any) -> dt.time:
    # A bare integer such as 830 or 1430 has no clear hour, so only text is accepted. The
    # config loader keeps an unquoted 8:30 as text instead of YAML's base-60 integer 510.
    invalid = _Invalid(f'expected a time of day such as "08:30", got {_describe(value)}')
    if not isinstance(value, str):
        raise invalid
    text = value.strip()
    clock_time = _CLOCK_TIME.match(text)
    try:
        if clock_time:
            hour, minute, second = (int(part or 0) for part in clock_time.groups())
            return dt.time(hour, minute, second)
        return dt.time.fromisoformat(text)
    except ValueError:
        raise invalid from None


def _zone(value: Any) -> str:
    name = _str(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f'expected an IANA time zone such as "Asia/Seoul", got "{name}"') from None
    return name


def _cron(value: Any) -> str:
    expression = _str(value)
    if not croniter.is_valid(expression):
        raise _Invalid(f'expected a cron expression such as "30 8 * * *", got "{expression}"')
    return expression


def _locale(value: Any) -> str:
    return _choice(*SUPPORTED_LOCALES)(value)


def _url(value: Any) -> str:
    text = _str(value)
    if not re.match(r"^https?://[^\s/]+", text):
        raise _Invalid(f'expected an http(s) URL, got "{text}"')
    return text


def _title_pattern(value: Any) -> str:
    # Same rule as the folder source: `re:` starts a regular expression, anything else a glob.
    pattern = _str(value)
    if pattern.startswith("re:"):
        try:
            re.compile(pattern.removeprefix("re:"))
        except re.error as error:
            raise _Invalid(f"invalid regular expression after re: ({error})") from None
    return pattern


def _snowflake(value: Any) -> str:
    text = _str(value)
    if not _DISCORD_SNOWFLAKE.match(text):
        raise _Invalid(f'expected a numeric Discord id of 15 to 21 digits, got "{text}"')
    return text


def _path(value: Any) -> Path:
    return Path(_str(value))


# --- The key table ---

_TYPE_NAMES: dict[Callable[[Any], Any], str] = {
    _str: "string",
    _bool: "bool",
    _time_of_day: "time HH:MM",
    _zone: "IANA time zone",
    _cron: "cron",
    _locale: "ko / en",
    _url: "URL",
    _path: "path",
    _snowflake: "Discord id",
    _title_pattern: "glob or re:regex",
}


def type_name(convert: Callable[[Any], Any]) -> str:
    """Return the name of the value type a converter accepts, for the reference docs."""
    return getattr(convert, "type_name", None) or _TYPE_NAMES[convert]


@dataclass(frozen=True)
class KeySpec:
    """One config key: its converter, default, an example and what it sets, in en and ko."""

    name: str
    convert: Callable[[Any], Any]
    default: Any
    example: str
    help: str
    help_ko: str
    secret: bool = False


@dataclass(frozen=True)
class SectionSpec:
    name: str
    target: type
    keys: tuple[KeySpec, ...]
    help: str


# fmt: off
def _key(name, convert, default, example, help_en, help_ko, *, secret=False):
    return KeySpec(name, convert, default, example, help_en, help_ko, secret)


SCHEMA: tuple[SectionSpec, ...] = (
    SectionSpec(
        "",
        Config,
        (
            _key("locale", _locale, "ko", "ko",
                 "Language of every message the bot writes: ko or en.",
                 "봇이 쓰는 모든 메시지의 언어. ko 또는 en."),
            _key("state_path", _path, Path("paperbot.sqlite3"), "paperbot.sqlite3",
                 "SQLite file for the archive and the delivery ledger.",
                 "논문 보관소와 전송 기록을 담는 SQLite 파일."),
            _key("admin_channel", _str, None, "ops",
                 "Name of a channel (from `channels`) that receives operator notices.",
                 "운영 알림을 받을 채널 이름(`channels`에 있는 것)."),
        ),
        "Top-level keys.",
    ),
    SectionSpec(
        "source",
        SourceConfig,
        (
            _key("kind", _choice("folder", "http"), "folder", "folder",
                 "Where digests come from: a local folder or an HTTP URL template.",
                 "다이제스트를 가져올 곳. 로컬 폴더(folder) 또는 HTTP URL 템플릿(http)."),
            _key("path", _path, None, "../examples/digests",
                 "Folder of markdown posts (kind folder), such as a clone of a Jekyll _posts/.",
                 "마크다운 글이 있는 폴더(folder일 때). Jekyll `_posts/`를 clone한 폴더 등."),
            _key("pattern", _str, "{date}-*.md", "{date}-daily-papers-*.md",
                 "File-name glob in the folder; {date} is YYYY-MM-DD, {yyyymmdd} has no dashes.",
                 "폴더 안 파일 이름 패턴. {date}는 YYYY-MM-DD, {yyyymmdd}는 대시 없는 날짜."),
            _key("url", _url, None, "https://example.org/_posts/{date}-daily-papers-{yyyymmdd}.md",
                 "URL template of the raw post (kind http), with the same placeholders.",
                 "원문 글의 URL 템플릿(http일 때). 자리표시자는 pattern과 같음."),
            _key("title_pattern", _title_pattern, None, "Daily Papers*",
                 "Picks the series by front-matter title: a glob, or a regex after `re:`.",
                 "front matter 제목으로 시리즈를 고름. glob 패턴, 또는 `re:` 뒤에 정규식."),
            _key("max_bytes", _number(1, integer=True), 1024 * 1024, "1048576",
                 "Largest digest accepted, in bytes.",
                 "받아들이는 다이제스트의 최대 크기(바이트)."),
            _key("timeout_seconds", _number(0.1), 30.0, "30",
                 "HTTP timeout per request, in seconds.",
                 "HTTP 요청 하나의 제한 시간(초)."),
        ),
        "The day's digest.",
    ),
    SectionSpec(
        "schedule",
        ScheduleConfig,
        (
            _key("time", _time_of_day, dt.time(8, 30), '"08:30"',
                 "Daily posting time, local to `timezone`.",
                 "매일 올리는 시각(`timezone` 기준)."),
            _key("cron", _cron, None, '"30 8 * * 1-5"',
                 "Cron expression; replaces `time` when set.",
                 "cron 표현식. 설정하면 `time` 대신 씀."),
            _key("timezone", _zone, "Asia/Seoul", "Asia/Seoul",
                 "IANA time zone of the schedule.",
                 "일정의 IANA 시간대."),
            _key("poll_interval_minutes", _number(0.1), 10.0, "10",
                 "Minutes between checks while today's digest is not published yet.",
                 "오늘 다이제스트가 아직 없을 때 다시 확인하는 간격(분)."),
            _key("deadline", _time_of_day, dt.time(12, 0), '"12:00"',
                 "Local time after which the bot stops waiting for today's digest.",
                 "이 시각이 지나면 오늘 다이제스트를 더 기다리지 않음."),
            _key("grace_minutes", _number(0), 240.0, "240",
                 "A bot started this many minutes after the scheduled time still posts today.",
                 "예정 시각이 지나고 이 시간(분) 안에 켜지면 오늘 것을 올림."),
        ),
        "When the daily post runs.",
    ),
    SectionSpec(
        "slack",
        SlackConfig,
        (
            _key("bot_token", _str, None, "${SLACK_BOT_TOKEN}",
                 "Bot token (xoxb-…).",
                 "봇 토큰(xoxb-…).", secret=True),
            _key("app_token", _str, None, "${SLACK_APP_TOKEN}",
                 "App-level token (xapp-…) for Socket Mode.",
                 "Socket Mode용 앱 수준 토큰(xapp-…).", secret=True),
            _key("signing_secret", _str, None, "${SLACK_SIGNING_SECRET}",
                 "Signing secret, needed in HTTP mode only.",
                 "서명 비밀값. HTTP 모드에서만 필요.", secret=True),
            _key("api_url", _url, "https://slack.com/api/", "https://slack.com/api/",
                 "Web API base URL (GovSlack, a proxy, or a test server).",
                 "Web API 기본 URL(GovSlack, 프록시, 테스트 서버 등)."),
            _key("mode", _choice("socket", "http"), "socket", "socket",
                 "How slash commands arrive: Socket Mode or HTTP requests.",
                 "슬래시 명령을 받는 방식. Socket Mode 또는 HTTP 요청."),
            _key("min_interval_seconds", _number(0), 1.0, "1.0",
                 "Minimum seconds between two messages to one channel.",
                 "한 채널에 메시지를 보내는 최소 간격(초)."),
        ),
        "Slack workspace.",
    ),
    SectionSpec(
        "discord",
        DiscordConfig,
        (
            _key("token", _str, None, "${DISCORD_BOT_TOKEN}",
                 "Bot token.",
                 "봇 토큰.", secret=True),
            _key("application_id", _snowflake, None, "123456789012345678",
                 "Application id, used for the invite URL and command sync.",
                 "애플리케이션 ID. 초대 URL과 명령 동기화에 씀."),
            _key("api_base", _url, "https://discord.com/api/v10", "https://discord.com/api/v10",
                 "REST API base URL (a REST proxy or a test server).",
                 "REST API 기본 URL(REST 프록시, 테스트 서버 등)."),
            _key("burst", _number(1, integer=True), 5, "5",
                 "Messages allowed per window per channel.",
                 "채널마다 한 구간에 보낼 수 있는 메시지 수."),
            _key("per_seconds", _number(0), 5.0, "5.0",
                 "Length of that window, in seconds.",
                 "그 구간의 길이(초)."),
        ),
        "Discord bot.",
    ),
    SectionSpec(
        "delivery",
        DeliveryConfig,
        (
            _key("max_retries", _number(0, integer=True), 5, "5",
                 "Retries of one message after 429, 5xx or a network error.",
                 "429, 5xx, 네트워크 오류 뒤 메시지 하나를 다시 보내는 최대 횟수."),
            _key("request_timeout_seconds", _number(0.1), 30.0, "30",
                 "Timeout of one platform request, in seconds.",
                 "플랫폼 요청 하나의 제한 시간(초)."),
        ),
        "Posting behaviour.",
    ),
    SectionSpec(
        "health",
        HealthConfig,
        (
            _key("host", _str, "127.0.0.1", "0.0.0.0",
                 "Address of the health and metrics server.",
                 "상태 확인·메트릭 서버의 주소."),
            _key("port", _number(0, integer=True, maximum=65535), 8080, "8080",
                 "Port of that server; the PORT environment variable wins when set.",
                 "그 서버의 포트. PORT 환경 변수가 있으면 그 값이 우선."),
        ),
        "Health and metrics server.",
    ),
)

CHANNEL_KEYS: tuple[KeySpec, ...] = (
    _key("name", _str, None, "papers",
         "Your label for the channel, used by --channel and logs.",
         "채널에 붙이는 이름. --channel 옵션과 로그에서 씀."),
    _key("platform", _choice("slack", "discord"), None, "slack",
         "slack or discord.",
         "slack 또는 discord."),
    _key("id", _str, None, "C0123456789",
         "Platform channel id: C… on Slack, a numeric snowflake on Discord.",
         "플랫폼의 채널 ID. Slack은 C…, Discord는 숫자 ID."),
    _key("header", _bool, True, "true",
         "Post a header message before the papers.",
         "논문 앞에 헤더 메시지를 올림."),
    _key("thread", _bool, False, "false",
         "Post the papers as replies in a thread under the header.",
         "논문을 헤더 아래 스레드 답글로 올림."),
    _key("locale", _locale, None, "en",
         "Overrides the top-level locale for this channel.",
         "이 채널에만 쓸 언어(최상위 locale 대신)."),
    _key("on_edit", _choice("ignore", "update"), "ignore", "update",
         "What to do when a posted digest is edited: ignore it or edit the messages.",
         "이미 올린 다이제스트가 수정되면: 무시(ignore) 또는 메시지 수정(update)."),
    _key("empty_day_note", _bool, False, "true",
         'Post a short "no papers today" note.',
         '논문이 없는 날 "오늘은 논문이 없습니다" 안내를 올림.'),
)
# fmt: on


# --- YAML with line numbers ---


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that reads an unquoted base-60 number such as 24:00 as a string.

    YAML 1.1 reads `time: 8:30` as 510 and `time: 24:00` as 1440, so an invalid time of
    day would become a valid-looking number of minutes.
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0] and _SEXAGESIMAL.match(value):
            return "tag:yaml.org,2002:str"
        return super().resolve(kind, value, implicit)


def _compose(text: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML and return the data and the 1-based line of each key path."""
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    _record_lines(node, "", lines)
    return data, lines


def _record_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            _record_lines(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, f"{path}[{index}]", lines)


def _interpolate(value: Any, environ: os._Environ[str] | dict[str, str]) -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in a string; MissingEnv when VAR is unset."""
    if not isinstance(value, str):
        return value
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    result = _ENV_REFERENCE.sub(substitute, value)
    return MissingEnv(missing[0]) if missing else result


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f'"{value}"' if isinstance(value, str) else repr(value)


# --- Building the Config ---


class _Builder:
    def __init__(self, path: Path, lines: dict[str, int], environ: dict[str, str]) -> None:
        self.path = path
        self.lines = lines
        self.environ = environ
        self.problems: list[str] = []
        self.missing_secrets: dict[str, str] = {}

    def problem(self, key_path: str, message: str) -> None:
        line = self.lines.get(key_path)
        where = f"{self.path}:{line}" if line else str(self.path)
        self.problems.append(f"{where}: {key_path or 'top level'}: {message}")

    def section(
        self, data: Any, key_path: str, keys: tuple[KeySpec, ...], siblings: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Convert one mapping against its key table; return the converted keyword arguments."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(key_path, f"expected a mapping of keys, got {_describe(data)}")
            return {}
        known = {spec.name: spec for spec in keys}
        values: dict[str, Any] = {}
        for name, raw in data.items():
            child = f"{key_path}.{name}" if key_path else name
            spec = known.get(name)
            if spec is None:
                expected = ", ".join([*known, *siblings])
                self.problem(child, f"unknown key; expected one of: {expected}")
                continue
            converted = self.value(child, spec, raw)
            if converted is not _SKIP:
                values[name] = converted
        return values

    def value(self, key_path: str, spec: KeySpec, raw: Any) -> Any:
        value = _interpolate(raw, self.environ)
        if isinstance(value, MissingEnv):
            if spec.secret:
                self.missing_secrets[key_path] = value.variable
            else:
                self.problem(key_path, f"environment variable {value.variable} is not set")
            return _SKIP
        if value is None and spec.default is None:
            return _SKIP
        try:
            return spec.convert(value)
        except _Invalid as error:
            self.problem(key_path, str(error))
            return _SKIP


_SKIP = object()
_TOP_LEVEL_SECTIONS = {spec.name for spec in SCHEMA if spec.name} | {"channels"}


def build_config(
    path: Path, *, require_tokens: bool = True, environ: dict[str, str] | None = None
) -> Config:
    """Read, interpolate and validate a YAML config file.

    Args:
        path: the YAML file; relative paths inside it are resolved against its folder.
        require_tokens: whether a platform that has channels must have its token. A dry
            run passes False, so it works without any secret set.
        environ: variables for `${VAR}` references; defaults to the process environment.

    Raises:
        ConfigError: with every problem found, each naming the file, line and key.
    """
    data, lines = _read_yaml(path)
    builder = _Builder(path, lines, dict(os.environ if environ is None else environ))
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping of top-level keys, got {_describe(data)}"])

    top_keys = next(spec.keys for spec in SCHEMA if not spec.name)
    top_only = {key: value for key, value in data.items() if key not in _TOP_LEVEL_SECTIONS}
    top = builder.section(top_only, "", top_keys, siblings=tuple(sorted(_TOP_LEVEL_SECTIONS)))
    sections = {
        spec.name: spec.target(**builder.section(data.get(spec.name), spec.name, spec.keys))
        for spec in SCHEMA
        if spec.name
    }
    channels = _build_channels(builder, data.get("channels"))
    config = Config(path=path, channels=channels, **sections, **top)
    config = _resolve_paths(config)
    _check_cross_references(builder, config, require_tokens)
    if builder.problems:
        raise ConfigError(builder.problems)
    return config


def _read_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}: file is larger than 1 MiB; is this the right file?"])
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: file not found; pass --config with the path of your config"]
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            [f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8"]
        ) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    try:
        return _compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        reason = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError([f"{where}: invalid YAML: {reason}"]) from None


def _build_channels(builder: _Builder, data: Any) -> tuple[ChannelConfig, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        builder.problem("channels", f"expected a list of channels, got {_describe(data)}")
        return ()
    channels = []
    for index, item in enumerate(data):
        key_path = f"channels[{index}]"
        values = builder.section(item, key_path, CHANNEL_KEYS)
        if not isinstance(item, dict):
            continue
        missing = [key for key in ("name", "platform", "id") if key not in item]
        for key in missing:
            builder.problem(key_path, f'missing required key "{key}"')
        if missing or len(values) < 3 or not {"name", "platform", "id"} <= values.keys():
            continue
        values["platform"] = Platform(values["platform"])
        values["on_edit"] = EditPolicy(values.get("on_edit", "ignore"))
        if _check_channel_id(builder, key_path, values["platform"], values["id"]):
            channels.append(ChannelConfig(**values))
    return tuple(channels)


def _check_channel_id(
    builder: _Builder, key_path: str, platform: Platform, channel_id: str
) -> bool:
    pattern, expected = {
        Platform.SLACK: (_SLACK_CHANNEL_ID, 'a Slack channel id such as "C0123456789"'),
        Platform.DISCORD: (_DISCORD_SNOWFLAKE, "a Discord channel id of 15 to 21 digits"),
    }[platform]
    if pattern.match(channel_id):
        return True
    builder.problem(f"{key_path}.id", f'expected {expected}, got "{channel_id}"')
    return False


def _resolve_paths(config: Config) -> Config:
    base = config.path.parent
    source = config.source
    if source.path is not None and not source.path.is_absolute():
        source = dataclasses.replace(source, path=base / source.path)
    state = config.state_path if config.state_path.is_absolute() else base / config.state_path
    return dataclasses.replace(config, source=source, state_path=state)


def _check_cross_references(builder: _Builder, config: Config, require_tokens: bool) -> None:
    names = [channel.name for channel in config.channels]
    for name in sorted({name for name in names if names.count(name) > 1}):
        builder.problem(
            "channels", f'channel name "{name}" is used more than once; names must be unique'
        )
    if config.admin_channel and config.admin_channel not in names:
        builder.problem("admin_channel", f'no channel is named "{config.admin_channel}"')
    if config.source.kind == "folder" and config.source.path is None:
        builder.problem("source.path", "missing; set the folder that holds the digest posts")
    if config.source.kind == "http" and config.source.url is None:
        builder.problem("source.url", "missing; set the URL template of the raw digest post")
    if require_tokens:
        _check_tokens(builder, config)


_REQUIRED_TOKENS = {
    Platform.SLACK: ("slack.bot_token", lambda config: config.slack.bot_token),
    Platform.DISCORD: ("discord.token", lambda config: config.discord.token),
}


def _check_tokens(builder: _Builder, config: Config) -> None:
    """Require a token only for a platform that has channels."""
    for platform, (key_path, read) in _REQUIRED_TOKENS.items():
        if not config.channels_for(platform) or read(config):
            continue
        variable = builder.missing_secrets.get(key_path)
        if variable:
            builder.problem(
                key_path, f"environment variable {variable} is not set; export it before starting"
            )
        else:
            builder.problem(
                key_path, f"missing; {platform} channels are configured, so a token is required"
            )


def config_warnings(config: Config) -> list[str]:
    """Return settings that are valid but probably not what the operator wants, one line each.

    They are not errors: a dry run or a posting-only bot works without them.
    """
    warnings = []
    source = config.source
    if source.kind == "folder" and source.path is not None and not source.path.is_dir():
        warnings.append(
            f"source.path: folder {source.path} does not exist yet; no digest can be found"
        )
    slack = config.slack
    if slack.bot_token and slack.mode == "socket" and not slack.app_token:
        warnings.append(
            "slack.app_token is not set, so /paper on Slack is off; set SLACK_APP_TOKEN"
        )
    if config.discord.token and not config.discord.application_id:
        warnings.append("discord.application_id is not set; paperbot discord-invite needs it")
    return warnings
