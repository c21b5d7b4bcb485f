"""Command line: argument parsing, logging set-up and exit codes.

Exit codes: 0 success, 1 a run that failed part-way (a channel could not be served),
2 bad input (usage, config or digest) with nothing posted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
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
    return parser


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"YAML config file (default: {DEFAULT_CONFIG})",
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
    check.set_defaults(handler=_run_check_config)


def _run_post(args: argparse.Namespace) -> int:
    from bot.posting import run_post_command

    return run_post_command(args)


def _run_check_config(args: argparse.Namespace) -> int:
    from bot.config_loader import build_config

    config = build_config(args.config, require_tokens=not args.no_tokens)
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


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    from bot.config import ConfigError
    from bot.digest.errors import DigestError
    from bot.posting import ChannelSelectionError

    errors: list[type[BaseException]] = [
        ConfigError,
        DigestError,
        UsageError,
        ChannelSelectionError,
    ]
    try:
        from bot.sources.base import SourceError
    except ImportError:  # pragma: no cover - sources not installed yet
        pass
    else:
        errors.append(SourceError)
    return tuple(errors)


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
