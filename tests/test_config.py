"""Config loading: interpolation, validation messages that name the key, secrets kept out."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, EditPolicy, Platform
from bot.config_loader import build_config

from .conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "config" / "example.yaml"
TOKENS = {"SLACK_BOT_TOKEN": "xoxb-test-secret", "DISCORD_BOT_TOKEN": "discord-test-secret"}


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "paperbot.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        build_config(path, **kwargs)
    return caught.value.problems


def test_example_config_loads_without_tokens_for_dry_run():
    config = build_config(EXAMPLE, require_tokens=False, environ={})

    assert config.locale == "ko"
    assert [channel.platform for channel in config.channels] == [Platform.SLACK, Platform.DISCORD]
    assert config.source.path == EXAMPLE.parent / "../examples/digests"
    assert config.source.path.is_dir()
    assert config.schedule.time == dt.time(8, 30)
    assert config.schedule.timezone == "Asia/Seoul"


def test_example_config_requires_tokens_for_real_post():
    problems = problems_of(EXAMPLE, environ={})

    assert len(problems) == 2
    assert "slack.bot_token: environment variable SLACK_BOT_TOKEN is not set" in problems[0]
    assert "discord.token: environment variable DISCORD_BOT_TOKEN is not set" in problems[1]
    assert problems[0].startswith(f"{EXAMPLE}:")


def test_tokens_interpolated_and_hidden_from_repr():
    config = build_config(EXAMPLE, environ=TOKENS)

    assert config.slack.bot_token == "xoxb-test-secret"
    assert config.discord.token == "discord-test-secret"
    assert "xoxb-test-secret" not in repr(config)
    assert "discord-test-secret" not in repr(config)


def test_token_missing_only_matters_for_platform_with_channels(tmp_path):
    path = write_config(
        tmp_path,
        """
        source: {path: .}
        slack: {bot_token: "${SLACK_BOT_TOKEN}"}
        discord: {token: "${DISCORD_BOT_TOKEN}"}
        channels:
          - {name: a, platform: slack, id: C0123456789}
        """,
    )

    config = build_config(path, environ={"SLACK_BOT_TOKEN": "xoxb-1"})

    assert config.discord.token is None
    assert len(config.channels) == 1


def test_env_default_used_when_variable_unset(tmp_path):
    path = write_config(tmp_path, 'source: {path: "${DIGEST_DIR:-posts}"}\n')

    config = build_config(path, environ={})

    assert config.source.path == tmp_path / "posts"


def test_bad_platform_named_with_line_and_expected_values(tmp_path):
    path = write_config(
        tmp_path,
        """
        source: {path: .}
        channels:
          - name: a
            platform: slak
            id: C0123456789
        """,
    )

    problems = problems_of(path, require_tokens=False)

    assert problems == [
        f'{path}:5: channels[0].platform: expected "slack" or "discord", got "slak"'
    ]


def test_every_problem_listed_at_once(tmp_path):
    path = write_config(
        tmp_path,
        """
        locale: fr
        colour: blue
        source: {path: ., max_bytes: -1, title_pattern: "re:(unclosed"}
        schedule: {time: "25:00", timezone: Mars/Olympus, cron: "every day"}
        channels:
          - {name: a, platform: discord, id: "12"}
          - {name: a, platform: slack, id: C0123456789, on_edit: rewrite}
          - {platform: slack}
        """,
    )

    problems = problems_of(path, require_tokens=False)
    joined = "\n".join(problems)

    assert 'locale: expected "ko" or "en", got "fr"' in joined
    assert "colour: unknown key" in joined
    assert "source.max_bytes: expected a value >= 1, got -1" in joined
    assert 'schedule.time: expected a time of day such as "08:30", got "25:00"' in joined
    assert "schedule.timezone: expected an IANA time zone" in joined
    assert "source.title_pattern: invalid regular expression after re:" in joined
    assert "schedule.cron: expected a cron expression" in joined
    assert "channels[0].id: expected a Discord channel id of 15 to 21 digits" in joined
    assert 'channels[1].on_edit: expected "ignore" or "update", got "rewrite"' in joined
    assert 'channels[2]: missing required key "name"' in joined
    assert 'channels[2]: missing required key "id"' in joined
    assert len(problems) == 11


def test_duplicate_channel_names_rejected(tmp_path):
    path = write_config(
        tmp_path,
        """
        source: {path: .}
        channels:
          - {name: a, platform: slack, id: C0123456789}
          - {name: a, platform: slack, id: C0123456780}
        """,
    )

    problems = problems_of(path, require_tokens=False)

    assert problems == [
        f'{path}:3: channels: channel name "a" is used more than once; names must be unique'
    ]


def test_unquoted_time_and_numeric_discord_id_accepted(tmp_path):
    path = write_config(
        tmp_path,
        """
        source: {path: .}
        schedule: {time: 07:45}
        channels:
          - {name: d, platform: discord, id: 123456789012345678, on_edit: update}
        """,
    )

    config = build_config(path, require_tokens=False)

    assert config.schedule.time == dt.time(7, 45)
    assert config.channels[0].id == "123456789012345678"
    assert config.channels[0].on_edit is EditPolicy.UPDATE


@pytest.mark.parametrize(
    ("written", "expected"),
    [("8:30", dt.time(8, 30)), ("23:05", dt.time(23, 5)), ("0:00", dt.time(0, 0))],
)
def test_unquoted_time_with_one_digit_hour(tmp_path, written, expected):
    path = write_config(tmp_path, f"source: {{path: .}}\nschedule: {{time: {written}}}\n")

    config = build_config(path, require_tokens=False)

    assert config.schedule.time == expected


@pytest.mark.parametrize("written", ["24:00", "25:00", "1430", "830", "12:75"])
def test_unquoted_invalid_time_rejected(tmp_path, written):
    # YAML 1.1 reads 24:00 as the base-60 integer 1440, and 1430 is an integer too.
    path = write_config(tmp_path, f"source: {{path: .}}\nschedule: {{deadline: {written}}}\n")

    problems = problems_of(path, require_tokens=False)

    assert len(problems) == 1
    assert "schedule.deadline: expected a time of day" in problems[0]
    assert written in problems[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"channels: [\n", "invalid YAML"),
        (b"\xff\xfe\x00binary", "not UTF-8 text"),
        (b"- just\n- a list\n", "expected a mapping of top-level keys, got a list"),
    ],
)
def test_unreadable_file_gives_one_line(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)

    problems = problems_of(path)

    assert len(problems) == 1
    assert expected in problems[0]
    assert str(path) in problems[0]


def test_missing_file_says_what_to_do(tmp_path):
    problems = problems_of(tmp_path / "nope.yaml")

    assert problems == [
        f"{tmp_path / 'nope.yaml'}: file not found; pass --config with the path of your config"
    ]


def test_admin_channel_must_name_a_channel(tmp_path):
    path = write_config(tmp_path, "source: {path: .}\nadmin_channel: ops\n")

    problems = problems_of(path)

    assert problems == [f'{path}:2: admin_channel: no channel is named "ops"']


def test_port_and_application_id_checked(tmp_path):
    path = write_config(
        tmp_path,
        """
        source: {path: .}
        health: {port: 70000}
        discord: {application_id: abc}
        """,
    )

    problems = problems_of(path, require_tokens=False)

    expected_id = 'expected a numeric Discord id of 15 to 21 digits, got "abc"'
    assert problems == [
        f"{path}:4: discord.application_id: {expected_id}",
        f"{path}:3: health.port: expected a value <= 65535, got 70000",
    ]


def test_warnings_for_settings_that_turn_features_off(tmp_path):
    from bot.config_loader import config_warnings

    path = write_config(
        tmp_path,
        """
        source: {path: posts}
        slack: {bot_token: xoxb-1}
        discord: {token: d}
        """,
    )

    warnings = config_warnings(build_config(path))

    assert warnings == [
        f"source.path: folder {tmp_path / 'posts'} does not exist yet; no digest can be found",
        "slack.app_token is not set, so /paper on Slack is off; set SLACK_APP_TOKEN",
        "discord.application_id is not set; paperbot discord-invite needs it",
    ]
