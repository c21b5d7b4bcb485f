"""`paperbot init`: write a config file from interactive answers or from command-line flags.

Every answer is checked with the converters of `bot.config_loader.SCHEMA` and the digest
sources' own template checks, and the finished file is loaded with `build_config` before it
replaces anything. Tokens are never asked for: the file refers to `${SLACK_BOT_TOKEN}`,
`${SLACK_APP_TOKEN}` and `${DISCORD_BOT_TOKEN}`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import ConfigError, Platform
from bot.config_loader import CHANNEL_KEYS, SCHEMA, KeySpec, build_config
from bot.i18n import DEFAULT_LOCALE, Translator
from bot.sources.base import SourceError, fill_template
from bot.sources.folder import FolderSource

EXIT_OK = 0
EXIT_BAD_INPUT = 2

DEFAULT_OUTPUT = Path("config/paperbot.yaml")

# Any date fills the placeholders; only unknown placeholders and stray braces matter.
_TEMPLATE_CHECK_DATE = dt.date(2025, 1, 31)

# Environment variables the written file refers to, per platform.
_TOKEN_SETTINGS: dict[Platform, tuple[str, dict[str, str]]] = {
    Platform.SLACK: (
        "slack",
        {"bot_token": "${SLACK_BOT_TOKEN}", "app_token": "${SLACK_APP_TOKEN}"},
    ),
    Platform.DISCORD: ("discord", {"token": "${DISCORD_BOT_TOKEN}"}),
}

_FILE_HEADER = """\
# paperbot configuration written by `paperbot init`.
# Every key is described in README.md ("Configuration reference").
# Relative paths are resolved against the folder of this file.
# Tokens are read from the environment variables named below; export them before starting.
"""

_YES = {"y", "yes", "예", "네", "ㅇ"}
_NO = {"n", "no", "아니오", "아니요", "ㄴ"}


class InitError(Exception):
    """Bad flags or an output that may not be written; each problem is one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _InputEnded(Exception):
    """Standard input ended before every question was answered."""


@dataclass(frozen=True)
class ChannelAnswer:
    name: str
    platform: Platform
    id: str


@dataclass
class InitAnswers:
    """Everything `paperbot init` asks; `time` and `cron` are exclusive."""

    locale: str = DEFAULT_LOCALE
    source_kind: str = "folder"
    source_path: str | None = None
    source_pattern: str | None = None
    source_url: str | None = None
    channels: list[ChannelAnswer] = field(default_factory=list)
    timezone: str = field(default_factory=lambda: _default("schedule", "timezone"))
    time: dt.time | None = field(default_factory=lambda: _default("schedule", "time"))
    cron: str | None = None


# --- Validation, shared by both forms ---


def _spec(section: str, key: str) -> KeySpec:
    keys = (
        CHANNEL_KEYS if section == "channels" else next(s.keys for s in SCHEMA if s.name == section)
    )
    return next(spec for spec in keys if spec.name == key)


def _convert(section: str, key: str, text: str) -> Any:
    """Convert `text` with the config loader's converter of `section.key`.

    Raises:
        ValueError: the loader rejects the value; the message states what was expected.
    """
    return _spec(section, key).convert(text)


def _default(section: str, key: str) -> Any:
    return _spec(section, key).default


def check_pattern(text: str) -> str:
    """Validate a folder file-name pattern the way the folder source does."""
    pattern = _convert("source", "pattern", text)
    try:
        FolderSource(Path("."), pattern)
        fill_template(pattern, _TEMPLATE_CHECK_DATE, setting="source.pattern")
    except SourceError as error:
        raise ValueError(str(error)) from None
    return pattern


def check_url(text: str) -> str:
    """Validate an http(s) URL template with the loader and the template filler."""
    url = _convert("source", "url", text)
    try:
        fill_template(url, _TEMPLATE_CHECK_DATE, setting="source.url")
    except SourceError as error:
        raise ValueError(str(error)) from None
    return url


def check_schedule(text: str) -> tuple[dt.time | None, str | None]:
    """Read "HH:MM" as a daily time and anything with spaces as a cron expression."""
    if " " in text.strip():
        return None, _convert("schedule", "cron", text)
    return _convert("schedule", "time", text), None


def check_channel(channel: ChannelAnswer, taken: set[str]) -> ChannelAnswer:
    """Validate a channel's name and id with `build_config`, so the id rules stay in one place.

    Raises:
        ValueError: with the loader's problem text for the name or the id.
    """
    if channel.name in taken:
        raise ValueError(f'channel name "{channel.name}" is already used; names must be unique')
    document = {
        "source": {"kind": "folder", "path": "."},
        "channels": [{"name": channel.name, "platform": str(channel.platform), "id": channel.id}],
    }
    with tempfile.TemporaryDirectory(prefix="paperbot-init-") as folder:
        path = Path(folder) / "channel.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        try:
            build_config(path, require_tokens=False, environ={})
        except ConfigError as error:
            raise ValueError("; ".join(_strip_location(p) for p in error.problems)) from None
    return channel


def _strip_location(problem: str) -> str:
    """Drop the "file:line: " prefix of a loader problem, keeping "key: message"."""
    parts = problem.split(": ", 2)
    return parts[2] if len(parts) == 3 and parts[1].startswith("channels") else problem


# --- The written file ---


def render_config(answers: InitAnswers, output: Path) -> str:
    """Return the YAML text of the config described by `answers`."""
    source: dict[str, Any] = {"kind": answers.source_kind}
    if answers.source_kind == "folder":
        source["path"] = _path_from(output, answers.source_path or ".")
        source["pattern"] = answers.source_pattern or _default("source", "pattern")
    else:
        source["url"] = answers.source_url
    schedule: dict[str, Any] = {"timezone": answers.timezone}
    if answers.cron:
        schedule["cron"] = answers.cron
    else:
        schedule["time"] = f"{answers.time or _default('schedule', 'time'):%H:%M}"
    document: dict[str, Any] = {"locale": answers.locale, "source": source, "schedule": schedule}
    for platform in Platform:
        if any(channel.platform is platform for channel in answers.channels):
            section, tokens = _TOKEN_SETTINGS[platform]
            document[section] = dict(tokens)
    document["channels"] = [
        {"name": c.name, "platform": str(c.platform), "id": c.id} for c in answers.channels
    ]
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return _FILE_HEADER + body


def _path_from(output: Path, answer: str) -> str:
    """Express a folder typed relative to the working directory relative to the config file."""
    folder = Path(answer).expanduser()
    if folder.is_absolute():
        return str(folder)
    return os.path.relpath(folder.resolve(), output.parent.resolve())


def write_config(text: str, output: Path, *, force: bool) -> None:
    """Validate `text` with `build_config` in a temporary file, then move it to `output`.

    The temporary file sits beside `output`, so relative paths resolve the same way and the
    final rename does not cross file systems.

    Raises:
        InitError: `output` exists and `force` is False, or the text does not load.
    """
    _check_output(output, force=force)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".paperbot-init-", suffix=".yaml", dir=output.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            build_config(temporary, require_tokens=False, environ={})
        except ConfigError as error:
            problems = [p.replace(str(temporary), str(output)) for p in error.problems]
            raise InitError(problems) from None
        _check_output(output, force=force)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _check_output(output: Path, *, force: bool) -> None:
    if output.is_dir():
        raise InitError([f"--output: {output} is a folder; give the path of a YAML file"])
    if output.exists() and not force:
        raise InitError([f"--output: {output} already exists; pass --force to replace it"])


def _token_variables(answers: InitAnswers) -> str:
    names = []
    for platform in Platform:
        if any(channel.platform is platform for channel in answers.channels):
            names += [value[2:-1] for value in _TOKEN_SETTINGS[platform][1].values()]
    return ", ".join(names)


def _locale(text: str) -> str:
    return _convert("", "locale", text.lower())


def _timezone(text: str) -> str:
    return _convert("schedule", "timezone", text)


def _time(text: str) -> dt.time:
    return _convert("schedule", "time", text)


def _cron(text: str) -> str:
    return _convert("schedule", "cron", text)


def _source_kind(text: str) -> str:
    return _convert("source", "kind", text.lower())


def _source_path(text: str) -> str:
    return str(_convert("source", "path", text))


def _platform(text: str) -> str:
    return _convert("channels", "platform", text.lower())


# --- Non-interactive form ---

_ANSWER_FLAGS = (
    "source_path",
    "source_pattern",
    "source_url",
    "slack_channel",
    "discord_channel",
    "timezone",
    "time",
    "cron",
    "locale",
)


def wants_flags(args: argparse.Namespace) -> bool:
    """Return whether `args` selects the non-interactive form."""
    return args.non_interactive or any(getattr(args, name) is not None for name in _ANSWER_FLAGS)


def answers_from_args(args: argparse.Namespace) -> InitAnswers:
    """Build the answers from flags, with the loader's defaults for the optional ones.

    Raises:
        InitError: with one line per bad or missing flag, naming the flag.
    """
    problems: list[str] = []
    answers = InitAnswers()

    def take(flag: str, text: str | None, check: Callable[[str], Any]) -> Any:
        if text is None:
            return None
        try:
            return check(text)
        except ValueError as error:
            problems.append(f"{flag}: {error}")
            return None

    answers.locale = take("--locale", args.locale, _locale) or DEFAULT_LOCALE
    answers.timezone = take("--timezone", args.timezone, _timezone) or answers.timezone
    if args.time is not None:
        answers.time = take("--time", args.time, _time)
    if args.cron is not None:
        answers.time = None
        answers.cron = take("--cron", args.cron, _cron)
    _source_from_args(args, answers, problems, take)
    answers.channels = _channels_from_args(args, problems)
    if problems:
        raise InitError(problems)
    return answers


def _source_from_args(
    args: argparse.Namespace,
    answers: InitAnswers,
    problems: list[str],
    take: Callable[[str, str | None, Callable[[str], Any]], Any],
) -> None:
    if args.source_url is not None:
        answers.source_kind = "http"
        answers.source_url = take("--source-url", args.source_url, check_url)
        if args.source_pattern is not None:
            problems.append("--source-pattern: applies to --source-path only; remove it")
        return
    if args.source_path is None:
        problems.append("--source-path or --source-url: missing; say where the digests come from")
        return
    answers.source_path = take("--source-path", args.source_path, _source_path)
    answers.source_pattern = take("--source-pattern", args.source_pattern, check_pattern)


def _channels_from_args(args: argparse.Namespace, problems: list[str]) -> list[ChannelAnswer]:
    flags = [("--slack-channel", Platform.SLACK, args.slack_channel or [])]
    flags.append(("--discord-channel", Platform.DISCORD, args.discord_channel or []))
    channels: list[ChannelAnswer] = []
    for flag, platform, values in flags:
        for value in values:
            name, separator, channel_id = value.partition("=")
            if not separator or not name.strip() or not channel_id.strip():
                problems.append(
                    f'{flag}: expected NAME=ID such as papers=C0123456789, got "{value}"'
                )
                continue
            channel = ChannelAnswer(name.strip(), platform, channel_id.strip())
            try:
                channels.append(check_channel(channel, {c.name for c in channels}))
            except ValueError as error:
                problems.append(f"{flag} {value}: {error}")
    if not channels and not any(p.startswith(("--slack", "--discord")) for p in problems):
        problems.append("--slack-channel or --discord-channel: missing; give at least one channel")
    return channels


# --- Interactive form ---


@dataclass(frozen=True)
class _Question:
    """One prompt: its text key, the keys of the re-ask messages, converter and default.

    `invalid` shows the rejected answer, and `required` is shown instead when the answer is
    empty and the question has no default.
    """

    prompt: str
    invalid: str
    convert: Callable[[str], Any]
    default: str | None = None
    required: str = "init_answer_required"


class Wizard:
    """Asks the questions of `paperbot init`, re-asking after every invalid answer.

    Args:
        read_line: Shows a prompt and returns the line typed, raising EOFError at the end of
            input; `input` by default.
        write: Prints one line of the dialogue.
    """

    def __init__(
        self,
        read_line: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self._read_line = read_line
        self._write = write
        self.t = Translator(DEFAULT_LOCALE)

    def ask(self, question: _Question, **values: object) -> Any:
        """Ask until the answer converts; an empty answer takes the default or shows `required`."""
        prompt = self.t(question.prompt, **values)
        suffix = f" [{question.default}]: " if question.default else ": "
        while True:
            try:
                answer = self._read_line(prompt + suffix).strip()
            except EOFError:
                raise _InputEnded(self.t("init_input_ended")) from None
            if not answer and question.default:
                answer = question.default
            if not answer:
                self._write(self.t(question.required))
                continue
            try:
                return question.convert(answer)
            except ValueError:
                self._write(self.t(question.invalid, value=answer))

    def run(self, output: Path) -> InitAnswers:
        """Ask every question and return the answers."""
        answers = InitAnswers()
        answers.locale = self.ask(_LOCALE_QUESTION)
        self.t = Translator(answers.locale)
        self._write(self.t("init_intro", path=output))
        self._ask_source(answers)
        self._ask_channels(answers)
        answers.timezone = self.ask(_TIMEZONE_QUESTION)
        answers.time, answers.cron = self.ask(_SCHEDULE_QUESTION)
        return answers

    def _ask_source(self, answers: InitAnswers) -> None:
        answers.source_kind = self.ask(_SOURCE_KIND_QUESTION)
        if answers.source_kind == "http":
            answers.source_url = self.ask(_SOURCE_URL_QUESTION)
            return
        answers.source_path = str(self.ask(_SOURCE_PATH_QUESTION))
        if not Path(answers.source_path).expanduser().is_dir():
            self._write(self.t("init_source_path_missing", path=answers.source_path))
        answers.source_pattern = self.ask(_SOURCE_PATTERN_QUESTION)

    def _ask_channels(self, answers: InitAnswers) -> None:
        while True:
            answers.channels.append(self._ask_channel(answers.channels))
            if not self.ask(_MORE_CHANNELS_QUESTION):
                return

    def _ask_channel(self, previous: list[ChannelAnswer]) -> ChannelAnswer:
        number = len(previous) + 1
        platform = Platform(self.ask(_PLATFORM_QUESTION, number=number))
        taken = {channel.name for channel in previous}

        def channel_id(text: str) -> str:
            return check_channel(ChannelAnswer("new", platform, text), set()).id

        id_question = dataclasses.replace(_CHANNEL_ID_QUESTIONS[platform], convert=channel_id)
        chosen_id = self.ask(id_question)

        def channel_name(text: str) -> str:
            return check_channel(ChannelAnswer(text, platform, chosen_id), taken).name

        name_question = dataclasses.replace(
            _CHANNEL_NAME_QUESTION,
            convert=channel_name,
            default=_free_name(f"papers-{platform}", taken),
        )
        return ChannelAnswer(self.ask(name_question), platform, chosen_id)


def _free_name(base: str, taken: set[str]) -> str:
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def _yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer in _YES:
        return True
    if answer in _NO:
        return False
    raise ValueError(f"expected y or n, got {text!r}")


_LOCALE_QUESTION = _Question(
    "init_ask_locale",
    "init_invalid_locale",
    _locale,
    default=DEFAULT_LOCALE,
)
_SOURCE_KIND_QUESTION = _Question(
    "init_ask_source_kind",
    "init_invalid_source_kind",
    _source_kind,
    default="folder",
)
_SOURCE_PATH_QUESTION = _Question(
    "init_ask_source_path",
    "init_invalid_source_path",
    _source_path,
    required="init_required_source_path",
)
_SOURCE_PATTERN_QUESTION = _Question(
    "init_ask_source_pattern",
    "init_invalid_source_pattern",
    check_pattern,
    default=str(_default("source", "pattern")),
)
_SOURCE_URL_QUESTION = _Question(
    "init_ask_source_url",
    "init_invalid_source_url",
    check_url,
    required="init_required_source_url",
)
_PLATFORM_QUESTION = _Question(
    "init_ask_platform",
    "init_invalid_platform",
    _platform,
    required="init_required_platform",
)
# The converters are set per channel, because they depend on the platform answered before.
_CHANNEL_ID_QUESTIONS = {
    Platform.SLACK: _Question(
        "init_ask_slack_channel_id",
        "init_invalid_slack_channel_id",
        str,
        required="init_required_slack_channel_id",
    ),
    Platform.DISCORD: _Question(
        "init_ask_discord_channel_id",
        "init_invalid_discord_channel_id",
        str,
        required="init_required_discord_channel_id",
    ),
}
_CHANNEL_NAME_QUESTION = _Question("init_ask_channel_name", "init_invalid_channel_name", str)
_MORE_CHANNELS_QUESTION = _Question(
    "init_ask_more_channels", "init_invalid_yes_no", _yes_no, default="n"
)
_TIMEZONE_QUESTION = _Question(
    "init_ask_timezone",
    "init_invalid_timezone",
    _timezone,
    default=str(_default("schedule", "timezone")),
)
_SCHEDULE_QUESTION = _Question(
    "init_ask_schedule",
    "init_invalid_schedule",
    check_schedule,
    default=f"{_default('schedule', 'time'):%H:%M}",
)


# --- Command ---


def run_init_command(args: argparse.Namespace) -> int:
    """Run `paperbot init` with parsed `args` and return the exit code.

    Problems are printed to stderr, one per line, and return 2 with nothing written.
    """
    output: Path = args.output
    try:
        _check_output(output, force=args.force)
        answers = answers_from_args(args) if wants_flags(args) else Wizard().run(output)
        write_config(render_config(answers, output), output, force=args.force)
    except InitError as error:
        for problem in error.problems:
            print(f"paperbot: error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _InputEnded as error:
        # The unanswered prompt has no line end; finish it before the error line.
        print()
        print(f"paperbot: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    t = Translator(answers.locale)
    print(t("init_written", path=output, variables=_token_variables(answers)))
    return EXIT_OK
