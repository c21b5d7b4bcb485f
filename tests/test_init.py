"""`paperbot init` driven as a subprocess with scripted answers, and its validators."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Platform
from bot.config_loader import build_config
from bot.init_wizard import ChannelAnswer, check_channel, check_pattern, check_schedule, check_url

from .conftest import REPO_ROOT

# Hang guard for one CLI run; a run takes about a second, mostly imports.
RUN_TIMEOUT_SECONDS = 60


def run_init(tmp_path: Path, *args: str, answers: str = "") -> subprocess.CompletedProcess[str]:
    """Run `python -m bot init ARGS` in `tmp_path` with `answers` on stdin."""
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", "init", *args],
        cwd=tmp_path,
        env=environment,
        input=answers,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def script(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


# Every question answered in English, with wrong answers that must be asked again.
ENGLISH_SESSION = (
    "fr",  # unknown locale
    "en",
    "ftp",  # unknown source kind
    "folder",
    "posts",
    "{date}/*.md",  # a folder in the pattern
    "{data}-*.md",  # unknown placeholder
    "{date}-daily-papers-*.md",
    "teams",  # unknown platform
    "slack",
    "c0123",  # bad Slack channel id
    "C0PAPERS",
    "",  # default name papers-slack
    "maybe",  # neither y nor n
    "y",
    "discord",
    "12345",  # bad Discord channel id
    "100000000000000001",
    "papers-slack",  # name already taken
    "papers-discord",
    "n",
    "Mars/Olympus",  # bad time zone
    "Europe/Berlin",
    "25:61",  # bad time
    "07:45",
)


def test_init_interactive_reasks_wrong_answers(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()

    result = run_init(tmp_path, "--output", "config/my.yaml", answers=script(*ENGLISH_SESSION))

    assert result.returncode == 0, result.stderr
    reasked = [
        "fr: type ko or en.",
        "ftp: type folder or http.",
        "{date}/*.md is not a valid pattern",
        "{data}-*.md is not a valid pattern",
        "teams: type slack or discord.",
        "c0123 is not a Slack channel id",
        "maybe: type y or n.",
        "12345 is not a Discord channel id",
        "The name papers-slack is already used",
        "Mars/Olympus is not an IANA time zone",
        "25:61 is neither a time",
    ]
    for message in reasked:
        assert message in result.stdout
    assert "Wrote config/my.yaml" in result.stdout

    config = build_config(tmp_path / "config" / "my.yaml", require_tokens=False, environ={})
    assert config.locale == "en"
    assert config.source.path is not None
    assert config.source.path.resolve() == (tmp_path / "posts").resolve()
    assert config.source.pattern == "{date}-daily-papers-*.md"
    assert [(c.name, c.platform, c.id) for c in config.channels] == [
        ("papers-slack", Platform.SLACK, "C0PAPERS"),
        ("papers-discord", Platform.DISCORD, "100000000000000001"),
    ]
    assert config.schedule.timezone == "Europe/Berlin"
    assert config.schedule.time == dt.time(7, 45)


def test_init_writes_token_references(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    run_init(tmp_path, "--output", "my.yaml", answers=script(*ENGLISH_SESSION))

    text = (tmp_path / "my.yaml").read_text(encoding="utf-8")

    assert "${SLACK_BOT_TOKEN}" in text
    assert "${SLACK_APP_TOKEN}" in text
    assert "${DISCORD_BOT_TOKEN}" in text
    assert "xoxb" not in text
    environ = {"SLACK_BOT_TOKEN": "xoxb-set", "DISCORD_BOT_TOKEN": "set"}
    config = build_config(tmp_path / "my.yaml", environ=environ)
    assert config.slack.bot_token == "xoxb-set"
    assert config.discord.token == "set"


def test_init_korean_prompts_and_cron(tmp_path: Path) -> None:
    answers = script(
        "",  # default locale ko
        "http",
        "ftp://example.org/{date}.md",  # not http(s)
        "https://example.org/_posts/{date}-papers.md",
        "slack",
        "C0PAPERS",
        "papers",
        "n",
        "",  # default Asia/Seoul
        "30 8 * * 1-5",
    )

    result = run_init(tmp_path, "--output", "ko.yaml", answers=answers)

    assert result.returncode == 0, result.stderr
    assert "다이제스트를 가져올 곳" in result.stdout
    assert "올바른 URL 템플릿이 아닙니다" in result.stdout
    config = build_config(tmp_path / "ko.yaml", require_tokens=False, environ={})
    assert config.locale == "ko"
    assert config.source.kind == "http"
    assert config.source.url == "https://example.org/_posts/{date}-papers.md"
    assert config.schedule.cron == "30 8 * * 1-5"
    assert config.schedule.timezone == "Asia/Seoul"


def test_init_empty_answers_get_hint(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    answers = script(
        "en",
        "folder",
        "",  # no default folder
        "posts",
        "",  # default pattern
        "",  # no default platform
        "   ",  # blank counts as empty
        "slack",
        "",  # no default channel id
        "C0PAPERS",
        "",  # default name
        "n",
        "",  # default time zone
        "",  # default time
    )

    result = run_init(tmp_path, "--output", "my.yaml", answers=answers)

    assert result.returncode == 0, result.stderr
    assert "Answer required: type the path of the folder" in result.stdout
    assert result.stdout.count("Answer required: type slack or discord.") == 2
    assert "Answer required: type the Slack channel id, such as C0123456789." in result.stdout
    # Only the two hints, and not the invalid-answer message with an empty value.
    assert result.stdout.count("type slack or discord.") == 2
    assert " is not a Slack channel id" not in result.stdout
    config = build_config(tmp_path / "my.yaml", require_tokens=False, environ={})
    assert [(c.platform, c.id) for c in config.channels] == [(Platform.SLACK, "C0PAPERS")]


def test_init_empty_answers_get_korean_hint(tmp_path: Path) -> None:
    answers = script(
        "",  # default locale ko
        "http",
        "",  # no default URL template
        "https://example.org/_posts/{date}-papers.md",
        "discord",
        "",  # no default channel id
        "100000000000000001",
        "",
        "n",
        "",
        "",
    )

    result = run_init(tmp_path, "--output", "ko.yaml", answers=answers)

    assert result.returncode == 0, result.stderr
    assert "답을 입력하세요: https://example.org/_posts/{date}-papers.md 같은 URL 템플릿" in (
        result.stdout
    )
    assert "답을 입력하세요: 15~21자리 숫자인 Discord 채널 ID" in result.stdout
    assert "Discord 채널 ID가 아닙니다" not in result.stdout


@pytest.mark.parametrize("answered", [0, 1, 5, len(ENGLISH_SESSION) - 1])
def test_init_end_of_input_writes_nothing(tmp_path: Path, answered: int) -> None:
    (tmp_path / "posts").mkdir()
    answers = script(*ENGLISH_SESSION[:answered])

    result = run_init(tmp_path, "--output", "my.yaml", answers=answers)

    assert result.returncode == 2
    assert "no file was written" in result.stderr or "파일을 쓰지 않았습니다" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["posts"]


def test_init_non_interactive(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    result = run_init(
        tmp_path,
        "--output",
        "config/my.yaml",
        "--source-path",
        "posts",
        "--source-pattern",
        "{date}-daily-papers-*.md",
        "--slack-channel",
        "papers=C0PAPERS",
        "--discord-channel",
        "papers-discord=100000000000000001",
        "--timezone",
        "Asia/Seoul",
        "--time",
        "08:30",
        "--locale",
        "ko",
        "--non-interactive",
    )

    assert result.returncode == 0, result.stderr
    config = build_config(tmp_path / "config" / "my.yaml", require_tokens=False, environ={})
    assert config.locale == "ko"
    assert config.source.path is not None
    assert config.source.path.resolve() == (tmp_path / "posts").resolve()
    assert [(c.name, c.id) for c in config.channels] == [
        ("papers", "C0PAPERS"),
        ("papers-discord", "100000000000000001"),
    ]
    assert config.schedule.time == dt.time(8, 30)


def test_init_non_interactive_defaults(tmp_path: Path) -> None:
    result = run_init(
        tmp_path,
        "--output",
        "my.yaml",
        "--source-url",
        "https://example.org/{yyyymmdd}.md",
        "--discord-channel",
        "papers=100000000000000001",
    )

    assert result.returncode == 0, result.stderr
    config = build_config(tmp_path / "my.yaml", require_tokens=False, environ={})
    assert config.locale == "ko"
    assert config.source.kind == "http"
    assert config.schedule.timezone == "Asia/Seoul"
    assert config.schedule.time == dt.time(8, 30)
    assert "slack" not in (tmp_path / "my.yaml").read_text(encoding="utf-8")


def test_init_bad_flags_named(tmp_path: Path) -> None:
    result = run_init(
        tmp_path,
        "--output",
        "my.yaml",
        "--source-path",
        "posts",
        "--source-pattern",
        "{data}.md",
        "--slack-channel",
        "papers=not-an-id",
        "--discord-channel",
        "no-equals-sign",
        "--timezone",
        "Mars/Olympus",
        "--time",
        "8.30",
        "--locale",
        "fr",
    )

    assert result.returncode == 2
    errors = result.stderr.splitlines()
    for flag in (
        "--source-pattern",
        "--slack-channel",
        "--discord-channel",
        "--timezone",
        "--time",
        "--locale",
    ):
        assert any(line.startswith(f"paperbot: error: {flag}") for line in errors), flag
    assert "Mars/Olympus" in result.stderr
    assert not (tmp_path / "my.yaml").exists()


def test_init_non_interactive_needs_source_and_channel(tmp_path: Path) -> None:
    result = run_init(tmp_path, "--output", "my.yaml", "--non-interactive")

    assert result.returncode == 2
    assert "--source-path or --source-url: missing" in result.stderr
    assert "--slack-channel or --discord-channel: missing" in result.stderr
    assert not (tmp_path / "my.yaml").exists()


def test_init_duplicate_channel_names_rejected(tmp_path: Path) -> None:
    result = run_init(
        tmp_path,
        "--output",
        "my.yaml",
        "--source-path",
        ".",
        "--slack-channel",
        "papers=C0PAPERS",
        "--discord-channel",
        "papers=100000000000000001",
    )

    assert result.returncode == 2
    assert "already used" in result.stderr
    assert not (tmp_path / "my.yaml").exists()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "my.yaml"
    existing.write_text("# keep me\n", encoding="utf-8")
    flags = ("--output", "my.yaml", "--source-path", ".", "--slack-channel", "papers=C0PAPERS")

    refused = run_init(tmp_path, *flags)

    assert refused.returncode == 2
    assert "already exists; pass --force" in refused.stderr
    assert existing.read_text(encoding="utf-8") == "# keep me\n"

    # Interactive runs are refused before the first question, too.
    asked = run_init(tmp_path, "--output", "my.yaml", answers=script("en"))
    assert asked.returncode == 2
    assert "Language" not in asked.stdout

    forced = run_init(tmp_path, *flags, "--force")

    assert forced.returncode == 0, forced.stderr
    assert "C0PAPERS" in existing.read_text(encoding="utf-8")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["my.yaml"]


def test_init_output_folder_rejected(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()

    result = run_init(
        tmp_path, "--output", "config", "--source-path", ".", "--slack-channel", "a=C0PAPERS"
    )

    assert result.returncode == 2
    assert "is a folder" in result.stderr


@pytest.mark.parametrize("pattern", ["{date}/x.md", "{data}.md", "{date", ""])
def test_check_pattern_rejects(pattern: str) -> None:
    with pytest.raises(ValueError):
        check_pattern(pattern)


def test_check_pattern_accepts_placeholders() -> None:
    assert check_pattern("{date}-daily-papers-{yyyymmdd}.md") == "{date}-daily-papers-{yyyymmdd}.md"


@pytest.mark.parametrize(
    "url", ["example.org/{date}.md", "ftp://example.org/{date}.md", "https://x.org/{day"]
)
def test_check_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)


def test_check_schedule_time_or_cron() -> None:
    assert check_schedule("08:30") == (dt.time(8, 30), None)
    assert check_schedule("30 8 * * 1-5") == (None, "30 8 * * 1-5")
    for bad in ("8.30", "24:00", "61 8 * * *"):
        with pytest.raises(ValueError):
            check_schedule(bad)


@pytest.mark.parametrize(
    ("platform", "channel_id"),
    [
        (Platform.SLACK, "general"),
        (Platform.SLACK, "C01"),
        (Platform.DISCORD, "12345"),
        (Platform.DISCORD, "C0123456789"),
    ],
)
def test_check_channel_rejects_bad_ids(platform: Platform, channel_id: str) -> None:
    with pytest.raises(ValueError, match="expected a"):
        check_channel(ChannelAnswer("papers", platform, channel_id), set())


def test_check_channel_rejects_taken_name() -> None:
    with pytest.raises(ValueError, match="already used"):
        check_channel(ChannelAnswer("papers", Platform.SLACK, "C0PAPERS"), {"papers"})
