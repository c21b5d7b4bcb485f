"""Tests of the arXiv lookup: the real `arxiv` client against the fake Atom endpoint."""

from __future__ import annotations

import pytest

from bot.arxiv_lookup import (
    ArxivLookup,
    ArxivNotFoundError,
    ArxivRateLimitedError,
    ArxivTimeoutError,
    ArxivUnavailableError,
)
from bot.digest.model import LinkKind
from bot.store import Store
from tests.fakes.arxiv_api import FakeArxivApi
from tests.fakes.clock import FakeClock


@pytest.fixture
async def api():
    server = FakeArxivApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def store():
    opened = await Store.open(":memory:")
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_lookup(store: Store, clock: FakeClock, api: FakeArxivApi, **options) -> ArxivLookup:
    return ArxivLookup(store, clock, query_url_format=api.query_url_format, **options)


async def test_lookup_found(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    lookup = make_lookup(store, clock, api)

    metadata = await lookup.lookup("2509.17765")

    assert metadata.arxiv_id == "2509.17765"
    assert metadata.version == 1
    assert metadata.title == "Qwen3-Omni Technical Report"
    assert metadata.authors == ("Test Author",)
    assert metadata.summary == "Placeholder abstract served by the fake arXiv API."
    assert metadata.pdf_url == "https://arxiv.org/pdf/2509.17765v1"
    assert metadata.abs_url == "https://arxiv.org/abs/2509.17765"
    assert len(api.queries) == 1
    assert api.queries[0]["id_list"] == "2509.17765"
    assert api.queries[0]["max_results"] == "1"


async def test_lookup_second_call_uses_cache(
    store: Store, clock: FakeClock, api: FakeArxivApi
) -> None:
    lookup = make_lookup(store, clock, api)
    first = await lookup.lookup("2509.17765")

    second = await lookup.lookup("2509.17765")
    # A new lookup object (a restarted bot) reads the same SQLite cache.
    third = await make_lookup(store, clock, api).lookup("2509.17765")

    assert second == first
    assert third == first
    assert len(api.queries) == 1
    assert lookup.requests_sent == 1


async def test_lookup_builds_pdf_link_from_id(
    store: Store, clock: FakeClock, api: FakeArxivApi
) -> None:
    metadata = await make_lookup(store, clock, api).lookup("2301.00001v2")

    assert metadata.pdf_url == "https://arxiv.org/pdf/2301.00001v2"
    assert metadata.version == 2
    assert metadata.title == "A Paper With A Wrapped Title"
    paper = metadata.to_paper()
    assert paper.link(LinkKind.PDF) == "https://arxiv.org/pdf/2301.00001v2"
    assert paper.arxiv_id == "2301.00001"


async def test_lookup_old_style_id(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    metadata = await make_lookup(store, clock, api).lookup("hep-th/9901001")
    assert metadata.arxiv_id == "hep-th/9901001"
    assert metadata.title == "An Old-Style Identifier Entry"


async def test_lookup_paces_requests(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    lookup = make_lookup(store, clock, api, min_interval_seconds=3.0)

    await lookup.lookup("2509.17765")
    clock.advance(1.0)
    with pytest.raises(ArxivNotFoundError):
        await lookup.lookup("2509.99999")
    await lookup.lookup("hep-th/9901001")

    assert clock.sleeps == [2.0, 3.0]
    assert len(api.queries) == 3


async def test_lookup_empty_feed_is_not_found(
    store: Store, clock: FakeClock, api: FakeArxivApi
) -> None:
    lookup = make_lookup(store, clock, api)

    with pytest.raises(ArxivNotFoundError):
        await lookup.lookup("2509.99999")
    assert await store.cached_arxiv("2509.99999") is None


async def test_lookup_newer_version_than_exists_is_not_found(
    store: Store, clock: FakeClock, api: FakeArxivApi
) -> None:
    with pytest.raises(ArxivNotFoundError):
        await make_lookup(store, clock, api).lookup("2509.17765v9")


async def test_lookup_http_429(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    api.statuses = [429]
    lookup = make_lookup(store, clock, api)

    with pytest.raises(ArxivRateLimitedError):
        await lookup.lookup("2509.17765")
    # The failure was not cached, so the next lookup asks again and succeeds.
    assert (await lookup.lookup("2509.17765")).title == "Qwen3-Omni Technical Report"
    assert len(api.queries) == 2


async def test_lookup_http_503(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    api.statuses = [503]
    with pytest.raises(ArxivUnavailableError) as raised:
        await make_lookup(store, clock, api).lookup("2509.17765")
    assert "HTTP 503" in str(raised.value)
    assert len(api.queries) == 1


async def test_lookup_timeout(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    api.hang = True
    lookup = make_lookup(store, clock, api, timeout_seconds=0.2)

    with pytest.raises(ArxivTimeoutError):
        await lookup.lookup("2509.17765")
    api.release()


async def test_lookup_malformed_xml(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    api.body = b"<feed><entry><id>unclosed"
    with pytest.raises(ArxivNotFoundError):
        await make_lookup(store, clock, api).lookup("2509.17765")


async def test_lookup_connection_refused(store: Store, clock: FakeClock, api: FakeArxivApi) -> None:
    url = api.query_url_format
    await api.stop()

    with pytest.raises(ArxivUnavailableError):
        await ArxivLookup(store, clock, query_url_format=url).lookup("2509.17765")
