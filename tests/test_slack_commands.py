"""`/paper` on Slack over Socket Mode, end to end.

The real slack-bolt app and slack_sdk Socket Mode client run against the fake Web API,
websocket and response_url server of `tests.fakes.slack_socket` on 127.0.0.1. The
archive holds the 11-paper example digest of 2025-09-23, and the clock reads 09:30 that
day in Seoul.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.arxiv_lookup import ArxivLookup
from bot.commands import Answer, AnswerEntry, AnswerKind, PaperService
from bot.config import ChannelConfig, Config, Platform, SlackConfig
from bot.digest.model import Digest, Paper, Section
from bot.digest.parser import load_digest
from bot.i18n import Translator
from bot.platforms.slack.answers import (
    SHARE_ACTION_ID,
    SLACK_BUTTON_VALUE_MAX,
    render_slack_answer,
)
from bot.platforms.slack.app import (
    SlackApp,
    SlackStartError,
    build_slack_app,
    start_socket_mode,
)
from bot.platforms.slack.commands import ShareRequest
from bot.render.limits import SLACK_MAX_BLOCKS, slack_mention_problems, slack_payload_problems
from bot.render.slack import render_slack_paper
from bot.store import Store
from tests.conftest import EXAMPLE_DIGEST
from tests.fakes.arxiv_api import FakeArxivApi
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import TOKEN, SlackChannel
from tests.fakes.slack_socket import (
    APP_TOKEN,
    Acknowledgement,
    FakeSlackSocket,
    ResponsePost,
    SentEnvelope,
)

# 2025-09-23 00:30 UTC is 09:30 in Seoul.
NOW = dt.datetime(2025, 9, 23, 0, 30, tzinfo=dt.UTC)
DIGEST_DATE = dt.date(2025, 9, 23)
KOREAN_CHANNEL = "C0PAPERS"  # not configured: the config locale (ko) applies
ENGLISH_CHANNEL = "C0ENGLISH"  # configured with locale en
# Slack retries a command that is not acknowledged within 3 seconds.
ACK_DEADLINE_SECONDS = 3.0


@pytest.fixture
def digest() -> Digest:
    return load_digest(EXAMPLE_DIGEST)


@pytest.fixture
async def store(digest: Digest):
    opened = await Store.open(":memory:")
    await opened.save_digest(digest, "example")
    yield opened
    await opened.close()


@pytest.fixture
async def arxiv_api():
    server = FakeArxivApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def service(store: Store, arxiv_api: FakeArxivApi) -> PaperService:
    clock = FakeClock(NOW)
    lookup = ArxivLookup(
        store, clock, query_url_format=arxiv_api.query_url_format, timeout_seconds=5
    )
    return PaperService(store, lookup, clock)


@pytest.fixture
async def slack():
    server = FakeSlackSocket(
        [SlackChannel(KOREAN_CHANNEL, "papers"), SlackChannel(ENGLISH_CHANNEL, "papers-en")]
    )
    await server.start()
    yield server
    await server.close()


def make_config(slack: FakeSlackSocket, **slack_settings: Any) -> Config:
    settings = {"bot_token": TOKEN, "app_token": APP_TOKEN, "api_url": slack.api_url}
    settings.update(slack_settings)
    english = ChannelConfig("papers-en", Platform.SLACK, ENGLISH_CHANNEL, locale="en")
    return Config(
        path=Path("paperbot.yaml"),
        locale="ko",
        channels=(english,),
        slack=SlackConfig(**settings),
    )


async def connect(slack: FakeSlackSocket, service: Any):
    config = make_config(slack)
    app = build_slack_app(config, service)
    connection = await start_socket_mode(app, config)
    await slack.wait_connected()
    return app, connection


@pytest.fixture
async def bot(slack: FakeSlackSocket, service: PaperService):
    app, connection = await connect(slack, service)
    yield app
    await connection.close()
    await app.close()


async def ask(
    slack: FakeSlackSocket, text: str, channel_id: str = KOREAN_CHANNEL
) -> tuple[SentEnvelope, Acknowledgement, ResponsePost]:
    """Send `/paper text` and return the envelope, its acknowledgement and the one answer."""
    envelope = await slack.slash_command(text, channel_id=channel_id)
    ack = await slack.wait_ack(envelope)
    [response] = await slack.wait_responses(envelope)
    return envelope, ack, response


def block_types(body: dict[str, Any]) -> list[str]:
    return [block["type"] for block in body["blocks"]]


def share_button(body: dict[str, Any]) -> dict[str, Any]:
    [actions] = [block for block in body["blocks"] if block["type"] == "actions"]
    [button] = actions["elements"]
    return button


def assert_valid(body: dict[str, Any]) -> None:
    message = {**body, "channel": KOREAN_CHANNEL}
    assert slack_payload_problems(message) == []
    assert slack_mention_problems(message) == []


# Acknowledgement and answer


async def test_list_acked_before_answer(slack: FakeSlackSocket, bot: SlackApp) -> None:
    envelope, ack, response = await ask(slack, "")

    assert ack.payload is None
    assert ack.received_at - envelope.sent_at < ACK_DEADLINE_SECONDS
    assert ack.received_at <= response.received_at
    assert slack.unexpected == []


async def test_list_shows_today_papers(
    slack: FakeSlackSocket, bot: SlackApp, digest: Digest
) -> None:
    _, _, response = await ask(slack, "")
    body = response.body

    assert response.status == 200
    assert body["response_type"] == "ephemeral"
    assert block_types(body) == ["header", "section", "actions"]
    assert body["blocks"][0]["text"]["text"] == "Daily Papers — 2025-09-23 · 11편"
    lines = body["blocks"][1]["text"]["text"].split("\n")
    assert len(lines) == 11
    for paper, line in zip(digest.papers, lines, strict=True):
        assert line == f"<{paper.abs_url}|{paper.number}. {paper.title}>"
    assert_valid(body)


async def test_list_share_value_pins_date(slack: FakeSlackSocket, bot: SlackApp) -> None:
    _, _, response = await ask(slack, "")
    button = share_button(response.body)

    assert button["action_id"] == SHARE_ACTION_ID
    assert button["text"]["text"] == "채널에 공유"
    assert ShareRequest.decode(button["value"]) == ShareRequest("2025-09-23", "ko")


async def test_number_looks_like_daily_post(
    slack: FakeSlackSocket, bot: SlackApp, digest: Digest
) -> None:
    _, _, response = await ask(slack, "3")
    body = response.body
    daily_post = render_slack_paper(digest.papers[2], digest, Translator("ko"), channel="C1")

    assert body["blocks"][0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "2025-09-23 3번 논문", "verbatim": True}],
    }
    assert body["blocks"][1:-1] == daily_post["blocks"]
    assert body["blocks"][-1]["type"] == "actions"
    assert body["text"] == daily_post["text"]
    for key in ("channel", "metadata"):
        assert key not in body
    assert_valid(body)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2509.17765", 1),
        ("arXiv:2509.17765v1", 1),
        ("https://arxiv.org/abs/2509.17765", 1),
        ("https://arxiv.org/pdf/2509.17396v2", 3),
        ("https://www.alphaxiv.org/ko/overview/2509.17396", 3),
        ("2025-09-23 3", 3),
        ("20250923 11", 11),
    ],
)
async def test_paper_by_id_url_and_date(
    slack: FakeSlackSocket, bot: SlackApp, digest: Digest, text: str, number: int
) -> None:
    _, _, response = await ask(slack, text)
    blocks = response.body["blocks"]
    paper = digest.papers[number - 1]

    assert blocks[0]["elements"][0]["text"] == f"2025-09-23 {number}번 논문"
    assert blocks[1]["text"]["text"] == f"{number}. {paper.title}"
    assert_valid(response.body)


async def test_paper_by_date_shares_date_and_number(slack: FakeSlackSocket, bot: SlackApp) -> None:
    _, _, response = await ask(slack, "3")
    value = share_button(response.body)["value"]
    assert ShareRequest.decode(value) == ShareRequest("2025-09-23 3", "ko")


async def test_paper_only_on_arxiv(
    slack: FakeSlackSocket, bot: SlackApp, arxiv_api: FakeArxivApi
) -> None:
    _, _, response = await ask(slack, "2301.00001", ENGLISH_CHANNEL)
    blocks = response.body["blocks"]
    notes = [element["text"] for element in blocks[0]["elements"]]

    assert notes == [
        "Not in the digest archive; details from arXiv:",
        "Authors: Test Author",
    ]
    # Not listed in a digest, so the header has no "0." number.
    assert blocks[1]["text"]["text"] == "A Paper With A Wrapped Title"
    assert ShareRequest.decode(share_button(response.body)["value"]) == ShareRequest(
        "2301.00001", "en"
    )
    assert len(arxiv_api.queries) == 1
    assert_valid(response.body)


async def test_keywords_list_date_and_number(slack: FakeSlackSocket, bot: SlackApp) -> None:
    _, _, response = await ask(slack, "KV cache")
    body = response.body

    assert block_types(body) == ["header", "section", "actions"]
    assert body["blocks"][0]["text"]["text"] == '"KV cache" 검색 결과 (1편):'
    assert body["blocks"][1]["text"]["text"] == (
        "<https://arxiv.org/abs/2509.17396|2025-09-23 3번 · "
        "EpiCache: Episodic KV Cache Management for Long Conversational Question Answering"
        " (2509.17396)>"
    )
    assert ShareRequest.decode(share_button(body)["value"]) == ShareRequest("KV cache", "ko")
    assert_valid(body)


@pytest.mark.parametrize(
    ("channel_id", "title", "last"),
    [
        (KOREAN_CHANNEL, "/paper: 일일 다이제스트의 논문 찾기", "• /paper 도움말"),
        (ENGLISH_CHANNEL, "/paper: look up papers from the daily digests", "• /paper help"),
    ],
)
async def test_help_in_channel_locale(
    slack: FakeSlackSocket, bot: SlackApp, channel_id: str, title: str, last: str
) -> None:
    _, _, response = await ask(slack, "help", channel_id)
    body = response.body

    assert block_types(body) == ["header", "section"]
    assert body["blocks"][0]["text"]["text"] == title
    lines = body["blocks"][1]["text"]["text"].split("\n")
    assert len(lines) == 8
    assert lines[-1].startswith(last)
    assert_valid(body)


async def test_english_channel_gets_english(slack: FakeSlackSocket, bot: SlackApp) -> None:
    _, _, response = await ask(slack, "", ENGLISH_CHANNEL)
    body = response.body

    assert body["blocks"][0]["text"]["text"] == "Daily Papers — 2025-09-23 · 11 papers"
    assert share_button(body)["text"]["text"] == "Share to channel"
    assert ShareRequest.decode(share_button(body)["value"]) == ShareRequest("2025-09-23", "en")


# Bad input

BAD_INPUTS = [
    ("\u200b\u200b", "error_query_empty", {}),
    ("x" * 2000, "error_query_too_long", {"length": 2000, "max": 200}),
    ("0", "error_invalid_number", {}),
    ("999", "error_paper_number_not_found", {"date": "2025-09-23", "number": 999, "count": 11}),
    ("2025-09-24", "error_future_date", {"date": "2025-09-24"}),
    ("2025-09-24 3", "error_future_date", {"date": "2025-09-24"}),
    ("2025-02-30", "error_invalid_date", {"text": "2025-02-30"}),
    ("https://arxiv.org/abs/not-an-id", "error_malformed_url", {"site": "arXiv"}),
    ("https://example.com/2509.17765", "error_unsupported_url", {"host": "example.com"}),
    ("abc\x00def", "error_query_control_chars", {}),
    ("2509.99999", "error_unknown_id", {"arxiv_id": "2509.99999"}),
]


@pytest.mark.parametrize(
    ("channel_id", "locale"), [(KOREAN_CHANNEL, "ko"), (ENGLISH_CHANNEL, "en")]
)
@pytest.mark.parametrize(("text", "key", "values"), BAD_INPUTS)
async def test_bad_input_short_message(
    slack: FakeSlackSocket,
    bot: SlackApp,
    channel_id: str,
    locale: str,
    text: str,
    key: str,
    values: dict[str, Any],
) -> None:
    envelope, ack, response = await ask(slack, text, channel_id)
    body = response.body
    expected = Translator(locale)(key, **values)

    assert ack.received_at <= response.received_at
    assert body["response_type"] == "ephemeral"
    assert body["text"] == expected
    assert body["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": expected, "verbatim": True}}
    ]
    for leak in ("Traceback", "Error", "QueryError", "Exception"):
        assert leak not in body["text"]
    assert_valid(body)


class BrokenService:
    """An answer service that fails with internal details in the exception."""

    async def answer(self, query_text: str, locale: str | None = None) -> Answer:
        raise RuntimeError("database file /var/lib/paperbot.sqlite3 is locked")


@pytest.mark.parametrize(
    ("channel_id", "locale"), [(KOREAN_CHANNEL, "ko"), (ENGLISH_CHANNEL, "en")]
)
async def test_internal_error_hidden_from_user(
    slack: FakeSlackSocket,
    caplog: pytest.LogCaptureFixture,
    channel_id: str,
    locale: str,
) -> None:
    app, connection = await connect(slack, BrokenService())
    try:
        with caplog.at_level(logging.ERROR, logger="bot.platforms.slack.commands"):
            _, _, response = await ask(slack, "3", channel_id)
    finally:
        await connection.close()
        await app.close()

    assert response.body["text"] == Translator(locale)("error_internal")
    assert "locked" not in json.dumps(response.body)
    [record] = [r for r in caplog.records if r.name == "bot.platforms.slack.commands"]
    assert record.exc_info is not None
    assert "locked" in caplog.text


async def test_rejected_response_url_logged(
    slack: FakeSlackSocket, bot: SlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    slack.response_faults.append((404, "expired_url"))
    with caplog.at_level(logging.WARNING, logger="bot.platforms.slack.commands"):
        _, _, response = await ask(slack, "3")
        _, _, retried = await ask(slack, "3")

    assert response.status == 404
    assert "HTTP 404 expired_url" in caplog.text
    assert retried.status == 200


# Share to channel


async def test_share_posts_and_removes_private(
    slack: FakeSlackSocket, bot: SlackApp, digest: Digest
) -> None:
    _, _, private = await ask(slack, "3")
    value = share_button(private.body)["value"]

    click = await slack.click_button(SHARE_ACTION_ID, value)
    ack = await slack.wait_ack(click)
    shared, removal = await slack.wait_responses(click, 2)

    assert ack.received_at <= shared.received_at
    assert shared.body["response_type"] == "in_channel"
    assert shared.body["replace_original"] is False
    # The channel sees the same paper, without the share button.
    assert shared.body["blocks"] == private.body["blocks"][:-1]
    assert "actions" not in block_types(shared.body)
    assert removal.body["delete_original"] is True
    assert "blocks" not in removal.body
    assert removal.received_at >= shared.received_at
    assert_valid(shared.body)


async def test_share_list_uses_pinned_date(slack: FakeSlackSocket, bot: SlackApp) -> None:
    value = ShareRequest("2025-09-23", "en").encode()
    click = await slack.click_button(SHARE_ACTION_ID, value)
    shared, _ = await slack.wait_responses(click, 2)

    assert shared.body["response_type"] == "in_channel"
    assert shared.body["blocks"][0]["text"]["text"] == "Daily Papers — 2025-09-23 · 11 papers"


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "[]",
        json.dumps({"query": "3"}),
        json.dumps({"query": 3, "locale": "ko"}),
        json.dumps({"query": "3", "locale": "fr"}),
    ],
)
async def test_share_invalid_value_rejected(
    slack: FakeSlackSocket, bot: SlackApp, value: str
) -> None:
    click = await slack.click_button(SHARE_ACTION_ID, value)
    [response] = await slack.wait_responses(click)

    assert response.body["response_type"] == "ephemeral"
    assert response.body["replace_original"] is False
    assert response.body["text"] == Translator("ko")("slack_share_failed")


async def test_share_error_stays_private(slack: FakeSlackSocket, bot: SlackApp) -> None:
    # A digest date that no longer answers: the error must not reach the channel.
    value = ShareRequest("2025-09-22", "ko").encode()
    click = await slack.click_button(SHARE_ACTION_ID, value)
    [response] = await slack.wait_responses(click)

    assert response.body["response_type"] == "ephemeral"
    assert response.body["text"] == Translator("ko")("error_no_digest_on_date", date="2025-09-22")
    assert [post.body.get("response_type") for post in slack.responses] == ["ephemeral"]


async def test_errors_and_help_have_no_share(slack: FakeSlackSocket, bot: SlackApp) -> None:
    for text in ("help", "999"):
        _, _, response = await ask(slack, text)
        assert "actions" not in block_types(response.body)


# Connection and lifecycle


async def test_wrong_app_token_fails_fast(slack: FakeSlackSocket, service: PaperService) -> None:
    config = make_config(slack, app_token="xapp-1-wrong")
    app = build_slack_app(config, service)

    with pytest.raises(SlackStartError, match="invalid_auth"):
        await start_socket_mode(app, config)
    assert slack.connections == 0
    await app.close()


@pytest.mark.parametrize("app_token", [None, "", "xoxb-not-an-app-token"])
async def test_missing_app_token_rejected(
    slack: FakeSlackSocket, service: PaperService, app_token: str | None
) -> None:
    config = make_config(slack, app_token=app_token)
    app = build_slack_app(config, service)

    with pytest.raises(ValueError, match="xapp-"):
        await start_socket_mode(app, config)
    assert slack.requests == []


@pytest.mark.parametrize(
    ("settings", "command", "message"),
    [
        ({"bot_token": None}, "/paper", "bot_token"),
        ({"mode": "webhook"}, "/paper", "slack.mode"),
        ({"mode": "http", "signing_secret": None}, "/paper", "signing_secret"),
        ({}, "paper", "invalid Slack command"),
        ({}, "/paper now", "invalid Slack command"),
    ],
)
def test_build_rejects_bad_settings(
    slack: FakeSlackSocket,
    service: PaperService,
    settings: dict[str, Any],
    command: str,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        build_slack_app(make_config(slack, **settings), service, command=command)


async def test_custom_command_name(slack: FakeSlackSocket, service: PaperService) -> None:
    config = make_config(slack)
    app = build_slack_app(config, service, command="/paper-dev")
    connection = await start_socket_mode(app, config)
    await slack.wait_connected()
    try:
        envelope = await slack.slash_command("3", command="/paper-dev")
        [response] = await slack.wait_responses(envelope)
    finally:
        await connection.close()
        await app.close()

    assert response.body["blocks"][1]["text"]["text"].startswith("3. EpiCache")


async def test_reconnects_after_server_close(slack: FakeSlackSocket, bot: SlackApp) -> None:
    await slack.disconnect_client()
    await slack.wait_until(lambda: slack.connections == 2 and slack.connected, "a reconnection")

    _, _, response = await ask(slack, "1")
    assert response.body["blocks"][1]["text"]["text"].startswith("1. Qwen3-Omni")


class BlockedService:
    """An answer service that waits until the test releases it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def answer(self, query_text: str, locale: str | None = None) -> Answer:
        self.started.set()
        await self.release.wait()
        return Answer(AnswerKind.HELP, ("help",), locale=locale or "ko")


async def test_close_cancels_answers_in_flight(slack: FakeSlackSocket) -> None:
    service = BlockedService()
    app, connection = await connect(slack, service)
    try:
        envelope = await slack.slash_command("3")
        await slack.wait_ack(envelope)
        await asyncio.wait_for(service.started.wait(), 5)
        assert app.commands.pending == 1

        await app.close(grace_seconds=0)
        assert app.commands.pending == 0

        # After close, a request is still acknowledged but no answer starts.
        late = await slack.slash_command("3")
        await slack.wait_ack(late)
        assert app.commands.pending == 0
    finally:
        await connection.close()
    assert slack.responses == []


# Renderer limits


def make_answer(kind: AnswerKind, lines: tuple[str, ...], entries=(), digest=None) -> Answer:
    return Answer(kind, lines, tuple(entries), digest=digest, locale="en")


def test_long_paper_fits_block_limit(digest: Digest) -> None:
    sections = tuple(Section(f"Part {n}", "text " * 400) for n in range(80))
    paper = dataclasses.replace(digest.papers[0], sections=sections)
    long_digest = dataclasses.replace(digest, papers=(paper,))
    entry = AnswerEntry(paper, DIGEST_DATE, 1)
    answer = make_answer(AnswerKind.PAPER, ("Paper 1 of 2025-09-23",), [entry], long_digest)

    body = render_slack_answer(answer, share_value="x")

    assert len(body["blocks"]) == SLACK_MAX_BLOCKS
    assert body["blocks"][-1]["type"] == "actions"
    # The links stay; the cut sections end in a "read more" link.
    assert body["blocks"][-2]["type"] == "context"
    assert "https://arxiv.org/abs/2509.17765" in body["blocks"][-2]["elements"][0]["text"]
    assert body["blocks"][-3]["text"]["text"].startswith("… <https://arxiv.org/abs/2509.17765|")
    assert_valid(body)


def test_long_list_fits_block_limit() -> None:
    papers = [Paper(n, "T" * 400 + f" {n}", f"2509.{n:05d}", None, ()) for n in range(1, 401)]
    entries = [AnswerEntry(paper, DIGEST_DATE, paper.number) for paper in papers]
    lines = ("Header " * 40, *(f"{p.number}. {p.title}" for p in papers))

    body = render_slack_answer(make_answer(AnswerKind.PAPER_LIST, lines, entries), share_value="x")

    assert len(body["blocks"]) == SLACK_MAX_BLOCKS
    assert body["blocks"][-2]["text"]["text"] == "…"
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    assert_valid(body)


def test_digest_text_cannot_mention() -> None:
    paper = Paper(1, "<!channel> & @here <@U123>", "2509.00001", None, ())
    entry = AnswerEntry(paper, DIGEST_DATE, 1)
    lines = ("Digest · 1 paper", "1. <!channel> & @here <@U123>")

    body = render_slack_answer(make_answer(AnswerKind.PAPER_LIST, lines, [entry]))

    assert "&lt;!channel&gt; &amp;" in body["blocks"][1]["text"]["text"]
    assert_valid(body)


def test_long_share_value_leaves_out_button() -> None:
    answer = make_answer(AnswerKind.HELP, ("help",))
    body = render_slack_answer(answer, share_value="x" * (SLACK_BUTTON_VALUE_MAX + 1))
    assert "actions" not in block_types(body)


def test_unknown_response_type_rejected() -> None:
    with pytest.raises(ValueError, match="response_type"):
        render_slack_answer(make_answer(AnswerKind.HELP, ("help",)), response_type="public")


def test_no_token_warning_with_bot_token_variable(
    slack: FakeSlackSocket, service: PaperService, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)

    with caplog.at_level(logging.WARNING):
        build_slack_app(make_config(slack), service)

    assert [r.getMessage() for r in caplog.records if "token" in r.getMessage()] == []
