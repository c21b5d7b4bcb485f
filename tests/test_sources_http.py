"""HttpSource with the real aiohttp client against FakeDigestServer on 127.0.0.1."""

from __future__ import annotations

import codecs
import datetime as dt
import logging
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import SourceConfig
from bot.sources.base import SourceError, open_source
from bot.sources.http import HttpSource, redact_url
from tests.fakes.clock import FakeClock
from tests.fakes.http_source import FakeDigestServer, Mode, Route

DAY = dt.date(2025, 9, 23)
PATH = "/_posts/2025-09-23-daily-papers-20250923.md"
TEMPLATE_PATH = "/_posts/{date}-daily-papers-{yyyymmdd}.md"
DIGEST = (
    "---\ntitle: Daily Papers — 2025-09-23\n---\n\n# 1. [논문](https://arxiv.org/abs/2509.17765)\n"
)
LAST_MODIFIED = "Mon, 22 Sep 2025 22:15:00 GMT"


@pytest.fixture
async def server() -> AsyncIterator[FakeDigestServer]:
    async with FakeDigestServer() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_source(server: FakeDigestServer, clock: FakeClock, **options: object) -> HttpSource:
    options.setdefault("timeout_seconds", 5.0)
    return HttpSource(server.base_url + TEMPLATE_PATH, clock=clock, **options)  # type: ignore[arg-type]


async def test_http_fetch_returns_document(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), etag='"v1"', last_modified=LAST_MODIFIED))

    async with make_source(server, clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.text == DIGEST
    assert fetched.name == server.base_url + PATH
    assert fetched.etag == '"v1"'
    assert fetched.last_modified == dt.datetime(2025, 9, 22, 22, 15, tzinfo=dt.UTC)
    assert fetched.changed
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("template", "expected_path"),
    [
        ("/{year}/{month}/{day}.md", "/2025/09/23.md"),
        ("/{yyyymmdd}.md", "/20250923.md"),
        ("/{date}.md", "/2025-09-23.md"),
    ],
)
async def test_http_template_placeholders_filled(
    server: FakeDigestServer, clock: FakeClock, template: str, expected_path: str
) -> None:
    server.add(expected_path, Route(body=b"# digest\n"))

    async with HttpSource(server.base_url + template, clock=clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert [request.path for request in server.requests] == [expected_path]


async def test_http_etag_sent_and_304_unchanged(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), etag='"v1"', last_modified=LAST_MODIFIED))

    async with make_source(server, clock) as source:
        first = await source.fetch(DAY)
        second = await source.fetch(DAY)

    first_request, second_request = server.requests_to(PATH)
    assert "If-None-Match" not in first_request.headers
    assert "If-Modified-Since" not in first_request.headers
    assert second_request.headers["If-None-Match"] == '"v1"'
    assert second_request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert first is not None
    assert second is not None
    assert not second.changed
    assert second.data == first.data
    assert second.etag == '"v1"'


async def test_http_last_modified_only_gets_304(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), last_modified=LAST_MODIFIED))

    async with make_source(server, clock) as source:
        await source.fetch(DAY)
        second = await source.fetch(DAY)

    second_request = server.requests_to(PATH)[1]
    assert "If-None-Match" not in second_request.headers
    assert second_request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert second is not None
    assert not second.changed


async def test_http_new_etag_marks_changed(server: FakeDigestServer, clock: FakeClock) -> None:
    route = server.add(PATH, Route(body=b"# first\n", etag='"v1"'))

    async with make_source(server, clock) as source:
        await source.fetch(DAY)
        route.body = b"# second\n"
        route.etag = '"v2"'
        second = await source.fetch(DAY)
        third = await source.fetch(DAY)

    assert second is not None
    assert second.changed
    assert second.data == b"# second\n"
    assert third is not None
    assert not third.changed
    assert server.requests_to(PATH)[2].headers["If-None-Match"] == '"v2"'


async def test_http_same_body_without_validators_unchanged(
    server: FakeDigestServer, clock: FakeClock
) -> None:
    server.add(PATH, Route(body=DIGEST.encode()))

    async with make_source(server, clock) as source:
        first = await source.fetch(DAY)
        second = await source.fetch(DAY)

    assert first is not None
    assert first.changed
    assert second is not None
    assert not second.changed
    assert "If-None-Match" not in server.requests_to(PATH)[1].headers


async def test_http_404_returns_none(
    server: FakeDigestServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sources.http")

    async with make_source(server, clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is None
    assert len(server.requests) == 1
    assert clock.sleeps == []
    assert "not published yet" in caplog.text


async def test_http_500_then_200_retried(
    server: FakeDigestServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), statuses=deque([500])))

    async with make_source(server, clock, backoff_seconds=2.0) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.text == DIGEST
    assert len(server.requests_to(PATH)) == 2
    assert clock.sleeps == [2.0]
    assert "attempt 1/4" in caplog.text


async def test_http_backoff_doubles_and_gives_up(
    server: FakeDigestServer, clock: FakeClock
) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), statuses=deque([503, 502, 500, 504, 200])))

    async with make_source(
        server, clock, max_attempts=4, backoff_seconds=1.0, max_backoff_seconds=3.0
    ) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert len(server.requests_to(PATH)) == 4
    assert clock.sleeps == [1.0, 2.0, 3.0]
    message = str(caught.value)
    assert "failed after 4 attempts" in message
    assert "HTTP 504" in message
    assert "\n" not in message


async def test_http_429_retry_after_honoured(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(
        PATH,
        Route(body=DIGEST.encode(), statuses=deque([429]), headers_for_status={"Retry-After": "7"}),
    )

    async with make_source(server, clock, backoff_seconds=1.0) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert clock.sleeps == [7.0]


async def test_http_retry_after_capped(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(
        PATH,
        Route(
            body=DIGEST.encode(),
            statuses=deque([503]),
            headers_for_status={"Retry-After": "86400"},
        ),
    )

    async with make_source(server, clock, max_backoff_seconds=60.0) as source:
        await source.fetch(DAY)

    assert clock.sleeps == [60.0]


@pytest.mark.parametrize("status", [401, 403, 410, 451])
async def test_http_client_error_not_retried(
    server: FakeDigestServer, clock: FakeClock, status: int
) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), statuses=deque([status])))

    async with make_source(server, clock) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert len(server.requests_to(PATH)) == 1
    assert clock.sleeps == []
    assert f"HTTP {status}" in str(caught.value)


async def test_http_hang_times_out_and_retries(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(mode=Mode.HANG))

    async with make_source(
        server, clock, timeout_seconds=0.2, max_attempts=2, backoff_seconds=5.0
    ) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert "timed out after 0.2 s" in str(caught.value)
    assert len(server.requests_to(PATH)) == 2
    assert clock.sleeps == [5.0]


async def test_http_drop_before_headers_retried(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(mode=Mode.DROP_BEFORE_HEADERS))

    async with make_source(server, clock, max_attempts=3) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    # aiohttp 3.14 resends an idempotent request once by itself after ServerDisconnectedError
    # (ClientSession._request, following RFC 9112 section 9.3.1), so each attempt of ours
    # reaches the server once or twice depending on the aiohttp version.
    assert len(server.requests_to(PATH)) in (3, 6)
    assert clock.sleeps == [2.0, 4.0]
    assert "failed after 3 attempts" in str(caught.value)


async def test_http_drop_mid_body_retried(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), mode=Mode.DROP_MID_BODY))

    async with make_source(server, clock, max_attempts=2) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert len(server.requests_to(PATH)) == 2
    assert "ClientPayloadError" in str(caught.value)


async def test_http_dropped_then_served_recovers(
    server: FakeDigestServer, clock: FakeClock
) -> None:
    route = server.add(PATH, Route(body=DIGEST.encode(), mode=Mode.DROP_BEFORE_HEADERS))

    class RepairingClock(FakeClock):
        async def sleep(self, seconds: float) -> None:
            route.mode = Mode.SERVE
            await super().sleep(seconds)

    repairing = RepairingClock()
    async with make_source(server, repairing) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.text == DIGEST
    assert len(repairing.sleeps) == 1


async def test_http_connection_refused_retried(clock: FakeClock) -> None:
    # Take a free port from a server that is then closed, so nothing listens on it.
    async with FakeDigestServer() as closed:
        base_url = closed.base_url

    async with HttpSource(base_url + TEMPLATE_PATH, clock=clock, max_attempts=2) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert "failed after 2 attempts" in str(caught.value)
    assert clock.sleeps == [2.0]


async def test_http_endless_body_stopped_at_cap(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(mode=Mode.ENDLESS_BODY))

    async with make_source(server, clock, max_bytes=256 * 1024) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert "over the 262144-byte limit" in str(caught.value)
    assert len(server.requests_to(PATH)) == 1
    assert clock.sleeps == []


async def test_http_declared_length_over_cap_rejected(
    server: FakeDigestServer, clock: FakeClock
) -> None:
    server.add(PATH, Route(body=b"x" * 2000))

    async with make_source(server, clock, max_bytes=1000) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert "declares 2000 bytes" in str(caught.value)


async def test_http_body_at_cap_accepted(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=b"x" * 1000))

    async with make_source(server, clock, max_bytes=1000) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert len(fetched.data) == 1000


async def test_http_bom_removed(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=codecs.BOM_UTF8 + DIGEST.encode()))

    async with make_source(server, clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.data == DIGEST.encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/markdown; charset=ISO-8859-1",
        "text/plain",
        "application/octet-stream",
        "text/x-markdown; charset=windows-1252",
    ],
)
async def test_http_wrong_charset_header_tolerated(
    server: FakeDigestServer, clock: FakeClock, content_type: str
) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), content_type=content_type))

    async with make_source(server, clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.text == DIGEST


async def test_http_invalid_utf8_names_url(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body="# café\n".encode("latin-1")))

    async with make_source(server, clock) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert server.base_url + PATH in str(caught.value)
    assert "not valid UTF-8" in str(caught.value)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", b"# looks like markdown\n"),
        ("application/xhtml+xml", b"<?xml version='1.0'?>"),
        ("text/plain", b"<!DOCTYPE html>\n<html><body>post</body></html>"),
        ("text/plain", b"\xef\xbb\xbf  \n<HTML lang='ko'><body></body></HTML>"),
        ("text/markdown", b"<!doctype html><title>x</title>"),
    ],
)
async def test_http_html_page_rejected(
    server: FakeDigestServer, clock: FakeClock, content_type: str, body: bytes
) -> None:
    server.add(PATH, Route(body=body, content_type=content_type))

    async with make_source(server, clock) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert "HTML page" in str(caught.value)
    assert "raw file URL" in str(caught.value)
    assert len(server.requests_to(PATH)) == 1


async def test_http_markdown_with_inline_html_accepted(
    server: FakeDigestServer, clock: FakeClock
) -> None:
    body = b"# 1. Paper\n\n<html> appears in the text but not at the start\n"
    server.add(PATH, Route(body=body))

    async with make_source(server, clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.data == body


async def test_http_real_seed_post_round_trip(
    server: FakeDigestServer, clock: FakeClock, shared_digests: Path
) -> None:
    post = (shared_digests / "seed-blog" / "2025-09-23-daily-papers-20250923.md").read_bytes()
    server.add(PATH, Route(body=post, content_type="text/plain; charset=utf-8"))

    async with make_source(server, clock) as source:
        fetched = await source.fetch(DAY)

    assert fetched is not None
    assert fetched.data == post


async def test_http_token_in_query_not_shown(
    server: FakeDigestServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(PATH, Route(body=DIGEST.encode(), statuses=deque([500, 403])))
    template = server.base_url + TEMPLATE_PATH + "?token=SECRET123"

    async with HttpSource(template, clock=clock) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert server.requests_to(PATH)[0].headers.get("Host")
    assert "SECRET123" not in str(caught.value)
    assert "SECRET123" not in caplog.text
    assert server.base_url + PATH in str(caught.value)


async def test_http_redirect_loop_not_retried(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(mode=Mode.REDIRECT_LOOP))

    async with make_source(server, clock) as source:
        with pytest.raises(SourceError) as caught:
            await source.fetch(DAY)

    assert "TooManyRedirects" in str(caught.value)
    assert clock.sleeps == []
    # aiohttp raises TooManyRedirects after max_redirects (default 10) redirect responses.
    assert len(server.requests_to(PATH)) == 10


async def test_http_unexpected_304_rejected(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(statuses=deque([304])))

    async with make_source(server, clock) as source:
        with pytest.raises(SourceError, match="unconditional request"):
            await source.fetch(DAY)


async def test_http_borrowed_session_left_open(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode()))

    async with aiohttp.ClientSession() as session:
        async with make_source(server, clock, session=session) as source:
            fetched = await source.fetch(DAY)

        assert fetched is not None
        assert not session.closed


async def test_http_owned_session_closed(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode()))
    created: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        created.append(aiohttp.ClientSession(headers={"User-Agent": "test-agent"}))
        return created[-1]

    source = make_source(server, clock, session_factory=factory)
    await source.fetch(DAY)
    await source.fetch(DAY)
    await source.close()

    assert len(created) == 1
    assert created[0].closed
    assert server.requests[0].headers["User-Agent"] == "test-agent"


async def test_http_default_user_agent_sent(server: FakeDigestServer, clock: FakeClock) -> None:
    server.add(PATH, Route(body=DIGEST.encode()))

    async with make_source(server, clock) as source:
        await source.fetch(DAY)

    assert server.requests[0].headers["User-Agent"].startswith("paperbot/")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("ftp://127.0.0.1/{date}.md", "expected an http or https URL"),
        ("/_posts/{date}.md", "expected an http or https URL"),
        ("http://127.0.0.1/{slug}.md", "unknown placeholder {slug}"),
        ("http://127.0.0.1/{date.md", "invalid template"),
    ],
)
def test_http_bad_template_rejected(clock: FakeClock, template: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        HttpSource(template, clock=clock)


def test_http_zero_attempts_rejected(clock: FakeClock) -> None:
    with pytest.raises(SourceError, match="max_attempts"):
        HttpSource("http://127.0.0.1/{date}.md", clock=clock, max_attempts=0)


def test_open_source_http_from_config(clock: FakeClock) -> None:
    config = SourceConfig(
        kind="http", url="http://127.0.0.1/{date}.md", max_bytes=1234, timeout_seconds=3.0
    )

    source = open_source(config, clock)

    assert isinstance(source, HttpSource)
    assert source.max_bytes == 1234
    assert source.url_template == "http://127.0.0.1/{date}.md"


def test_open_source_http_without_url_rejected(clock: FakeClock) -> None:
    with pytest.raises(SourceError, match="source.url: missing"):
        open_source(SourceConfig(kind="http", url=None), clock)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@127.0.0.1:8443/a.md?token=x#frag", "https://127.0.0.1:8443/a.md"),
        ("http://127.0.0.1/a.md", "http://127.0.0.1/a.md"),
        ("http://[::1]:8080/a.md?sig=x", "http://[::1]:8080/a.md"),
    ],
)
def test_redact_url_drops_secrets(url: str, expected: str) -> None:
    assert redact_url(url) == expected
