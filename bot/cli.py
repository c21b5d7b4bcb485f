"""Command line: argument parsing, logging set-up and exit codes.

Exit codes: 0 success, 1 a run that failed part-way (a channel could not be served),
2 bad input (usage, config or digest) with nothing posted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DEFAULT_CONFIG = Path("config/example.yaml")

_log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad input found after argument parsing; printed as one line with exit code 2."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}; expected YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperbot",
        description="Post daily arXiv paper digests to Slack and Discord.",
    )
    parser.add_argument("--version", action="version", version=f"paperbot {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the messages written to stderr (default: INFO)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_post(commands)
    _add_check_config(commands)
    _add_init(commands)
    _add_preview(commands)
    _add_run(commands)
    _add_backfill(commands)
    _add_discord(commands)
    return parser


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    # PAPERBOT_CONFIG lets a Procfile or systemd unit choose the file without arguments.
    default = Path(os.environ.get("PAPERBOT_CONFIG") or DEFAULT_CONFIG)
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help=f"YAML config file (default: $PAPERBOT_CONFIG, else {DEFAULT_CONFIG})",
    )


def _add_post(commands: argparse._SubParsersAction) -> None:
    post = commands.add_parser("post", help="post one digest to the configured channels and exit")
    which = post.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--date", type=_date, help="digest date to post, YYYY-MM-DD, from the configured source"
    )
    which.add_argument("--digest", type=Path, metavar="FILE", help="markdown digest file to post")
    _add_config_option(post)
    post.add_argument(
        "--channel",
        action="append",
        metavar="NAME",
        help="post only to this configured channel; repeat for several (default: all)",
    )
    post.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send nothing"
    )
    post.add_argument(
        "--repost",
        action="store_true",
        help="send papers again even if the state file records them as posted",
    )
    post.add_argument(
        "--output",
        choices=["text", "json"],
        default="text",
        help="text for people; json prints one object per message with the exact payload",
    )
    post.set_defaults(handler=_run_post)


def _add_check_config(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check-config", help="validate a config file and list every problem"
    )
    _add_config_option(check)
    check.add_argument(
        "--no-tokens",
        action="store_true",
        help="do not require tokens (check a config meant for --dry-run)",
    )
    check.add_argument(
        "--online",
        action="store_true",
        help="also call Slack and Discord: check each token, the Slack scopes, and that the bot "
        "can post to each channel; sends no message",
    )
    check.set_defaults(handler=_run_check_config)


def _add_init(commands: argparse._SubParsersAction) -> None:
    from bot.init_wizard import DEFAULT_OUTPUT

    init = commands.add_parser(
        "init",
        help="write a new config file by answering questions, or from the flags below",
        description="Without answer flags, asks the questions interactively. With any of "
        "--source-path, --source-url, --slack-channel, --discord-channel, --timezone, --time, "
        "--cron or --locale (or with --non-interactive), takes the answers from the flags and "
        "asks nothing. Tokens are written as ${SLACK_BOT_TOKEN} and ${DISCORD_BOT_TOKEN} "
        "references, never asked for.",
    )
    init.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="FILE",
        help=f"config file to write (default: {DEFAULT_OUTPUT})",
    )
    init.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    init.add_argument(
        "--non-interactive", action="store_true", help="take every answer from the flags"
    )
    source = init.add_mutually_exclusive_group()
    source.add_argument("--source-path", metavar="DIR", help="folder of the digest posts")
    source.add_argument(
        "--source-url", metavar="TEMPLATE", help="URL template of the raw post, with {date}"
    )
    init.add_argument(
        "--source-pattern",
        metavar="GLOB",
        help="file-name glob in DIR, with {date} or {yyyymmdd} (default: {date}-*.md)",
    )
    for platform, example in (("slack", "C0123456789"), ("discord", "123456789012345678")):
        init.add_argument(
            f"--{platform}-channel",
            action="append",
            metavar="NAME=ID",
            help=f"a {platform.title()} channel, such as papers={example}; repeat for several",
        )
    init.add_argument("--timezone", metavar="ZONE", help="IANA time zone (default: Asia/Seoul)")
    when = init.add_mutually_exclusive_group()
    when.add_argument("--time", metavar="HH:MM", help="daily posting time (default: 08:30)")
    when.add_argument("--cron", metavar="EXPR", help='cron expression such as "30 8 * * 1-5"')
    init.add_argument("--locale", metavar="ko|en", help="language of the bot (default: ko)")
    init.set_defaults(handler=_run_init)


def _run_init(args: argparse.Namespace) -> int:
    from bot.init_wizard import run_init_command

    return run_init_command(args)


def _add_preview(commands: argparse._SubParsersAction) -> None:
    from bot.i18n import SUPPORTED_LOCALES

    preview = commands.add_parser(
        "preview", help="write an HTML page that shows every post as Slack and Discord draw it"
    )
    which = preview.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--date", type=_date, help="digest date to preview, YYYY-MM-DD, from the configured source"
    )
    which.add_argument(
        "--digest", type=Path, metavar="FILE", help="markdown digest file to preview"
    )
    _add_config_option(preview)
    preview.add_argument(
        "--html", type=Path, required=True, metavar="FILE", help="HTML file to write the page to"
    )
    preview.add_argument(
        "--locale",
        choices=SUPPORTED_LOCALES,
        help="language of the page and of messages to channels without their own locale "
        "(default: the config's locale)",
    )
    preview.set_defaults(handler=_run_preview)


def _run_preview(args: argparse.Namespace) -> int:
    from bot.preview import PreviewOutputError, run_preview_command

    try:
        return run_preview_command(args)
    except PreviewOutputError as error:
        raise UsageError(str(error)) from error


def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run the bot: post the daily digest on schedule and serve /healthz and /metrics",
    )
    _add_config_option(run)
    run.set_defaults(handler=_run_service)


def _run_service(args: argparse.Namespace) -> int:
    from bot.service import run_service_command

    return run_service_command(args)


def _run_post(args: argparse.Namespace) -> int:
    from bot.posting import run_post_command

    return run_post_command(args)


def _run_check_config(args: argparse.Namespace) -> int:
    from bot.config_loader import build_config, config_warnings

    if args.online and args.no_tokens:
        raise UsageError("--online needs the tokens; remove --no-tokens")
    config = build_config(args.config, require_tokens=not args.no_tokens)
    for warning in config_warnings(config):
        print(f"paperbot: warning: {warning}", file=sys.stderr)
    if args.online:
        from bot.online_check import run_online_check_command

        code = run_online_check_command(config)
        if code != EXIT_OK:
            return code
    channels = ", ".join(f"{c.name} ({c.platform})" for c in config.channels) or "none"
    print(f"{args.config}: OK; channels: {channels}")
    return EXIT_OK


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Library debug output can include request bodies; keep it at warning unless asked.
    if level != "DEBUG":
        for noisy in ("slack_sdk", "slack_bolt", "discord", "aiohttp.access", "arxiv"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _add_backfill(commands: argparse._SubParsersAction) -> None:
    backfill = commands.add_parser(
        "backfill", help="load past digests into the archive for /paper, without posting them"
    )
    which = backfill.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--from",
        dest="date_from",
        type=_date,
        metavar="DATE",
        help="first date to load from the configured source, YYYY-MM-DD (needs --to)",
    )
    which.add_argument(
        "--folder", type=Path, metavar="PATH", help="load every *.md post in a folder"
    )
    backfill.add_argument(
        "--to", dest="date_to", type=_date, metavar="DATE", help="last date, YYYY-MM-DD"
    )
    _add_config_option(backfill)
    backfill.set_defaults(handler=_run_backfill)


def _run_backfill(args: argparse.Namespace) -> int:
    from bot.backfill import run_backfill_command

    if args.date_from is not None and args.date_to is None:
        raise UsageError("backfill --from needs --to (the last date to load)")
    if args.folder is not None and args.date_to is not None:
        raise UsageError("backfill --to goes with --from, not with --folder")
    return run_backfill_command(args)


def _add_discord(commands: argparse._SubParsersAction) -> None:
    sync = commands.add_parser(
        "discord-sync", help="register the /paper command with Discord now, changed or not"
    )
    _add_config_option(sync)
    sync.set_defaults(handler=_run_discord_sync)
    invite = commands.add_parser(
        "discord-invite", help="print the URL that adds the bot to a Discord server"
    )
    _add_config_option(invite)
    invite.set_defaults(handler=_run_discord_invite)


def _run_discord_sync(args: argparse.Namespace) -> int:
    from bot.discord_admin import run_sync_command

    return run_sync_command(args)


def _run_discord_invite(args: argparse.Namespace) -> int:
    from bot.discord_admin import run_invite_command

    return run_invite_command(args)


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    from bot.backfill import BackfillRangeError
    from bot.config import ConfigError
    from bot.digest.errors import DigestError
    from bot.discord_admin import DiscordSetupError
    from bot.health import HealthServerError
    from bot.posting import ChannelSelectionError
    from bot.sources.base import SourceError

    return (
        BackfillRangeError,
        ConfigError,
        DigestError,
        UsageError,
        ChannelSelectionError,
        DiscordSetupError,
        HealthServerError,
        SourceError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the paperbot command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except _bad_input_errors() as error:
        problems = getattr(error, "problems", None) or [str(error)]
        for problem in problems:
            print(f"paperbot: error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("paperbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`paperbot post --dry-run | head`); that is not an
        # error. Point stdout at devnull so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
