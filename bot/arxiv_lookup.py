"""Metadata of papers that are not in the archive, from the arXiv API via the `arxiv` package.

One shared `arxiv.Client` serves every lookup. Its blocking requests run in a worker
thread behind an asyncio lock, paced by the injected clock, and every answer is cached
in the store so that the same id is requested from arXiv at most once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

import arxiv
import requests

from bot.clock import Clock
from bot.digest.model import Link, LinkKind, Paper, Section
from bot.store import Store

_log = logging.getLogger(__name__)

DEFAULT_QUERY_URL_FORMAT = arxiv.Client.query_url_format
# The arxiv package's own default pause between API requests (`Client.delay_seconds`,
# arxiv 4.0.2), which follows arXiv's request to send at most one request per 3 s.
DEFAULT_MIN_INTERVAL_SECONDS = 3.0
DEFAULT_TIMEOUT_SECONDS = 15.0

_VERSION = re.compile(r"v(\d+)$")


class ArxivLookupError(Exception):
    """A lookup that returned no metadata; `reason` is a stable key for messages and logs."""

    reason = "failed"

    def __init__(self, arxiv_id: str, detail: str = "") -> None:
        super().__init__(f"arXiv lookup of {arxiv_id} failed ({self.reason}): {detail}")
        self.arxiv_id = arxiv_id


class ArxivNotFoundError(ArxivLookupError):
    reason = "not_found"


class ArxivRateLimitedError(ArxivLookupError):
    reason = "rate_limited"


class ArxivUnavailableError(ArxivLookupError):
    reason = "unavailable"


class ArxivTimeoutError(ArxivLookupError):
    reason = "timeout"


@dataclass(frozen=True)
class ArxivMetadata:
    """The fields of one arXiv entry that the bot shows."""

    arxiv_id: str
    version: int | None
    title: str
    summary: str
    authors: tuple[str, ...]
    published: dt.datetime | None
    abs_url: str
    pdf_url: str

    def to_json(self) -> dict[str, Any]:
        """Return the metadata as a JSON-ready dict for the store's cache."""
        data = dataclasses.asdict(self)
        data["authors"] = list(self.authors)
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArxivMetadata:
        """Rebuild metadata stored by `to_json`."""
        published = data.get("published")
        return cls(
            arxiv_id=data["arxiv_id"],
            version=data.get("version"),
            title=data["title"],
            summary=data.get("summary", ""),
            authors=tuple(data.get("authors", ())),
            published=dt.datetime.fromisoformat(published) if published else None,
            abs_url=data["abs_url"],
            pdf_url=data["pdf_url"],
        )

    def to_paper(self, abstract_heading: str = "Abstract") -> Paper:
        """Return the entry as a `Paper` (number 0, since no digest lists it)."""
        return Paper(
            number=0,
            title=self.title,
            arxiv_id=self.arxiv_id,
            arxiv_version=self.version,
            links=(Link(LinkKind.ABS, self.abs_url), Link(LinkKind.PDF, self.pdf_url)),
            sections=(Section(abstract_heading, self.summary),) if self.summary else (),
        )


class MetadataLookup(Protocol):
    async def lookup(self, arxiv_id: str) -> ArxivMetadata:
        """Return the metadata of `arxiv_id`; raise an `ArxivLookupError` when there is none."""


class ArxivLookup:
    """Look up arXiv ids with one paced `arxiv.Client`, caching results in the store.

    `query_url_format` replaces the client's API address, for a mirror or a test server.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        query_url_format: str = DEFAULT_QUERY_URL_FORMAT,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        min_interval_seconds: float = DEFAULT_MIN_INTERVAL_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._timeout = timeout_seconds
        self._min_interval = min_interval_seconds
        self._lock = asyncio.Lock()
        self._last_request: float | None = None
        # The client's own pacing and retries sleep on the wall clock in the worker
        # thread, so both are off and this class paces requests with the injected clock.
        self._client = arxiv.Client(page_size=1, delay_seconds=0.0, num_retries=0)
        self._client.query_url_format = query_url_format
        self.requests_sent = 0

    async def lookup(self, arxiv_id: str) -> ArxivMetadata:
        """Return the metadata of `arxiv_id` (with or without a version), from cache or arXiv.

        Raises:
            ArxivNotFoundError: arXiv returned no entry for the id.
            ArxivRateLimitedError: arXiv answered HTTP 429.
            ArxivUnavailableError: any other HTTP error or a connection failure.
            ArxivTimeoutError: no answer within the timeout.
        """
        cached = await self._store.cached_arxiv(arxiv_id)
        if cached is not None:
            return ArxivMetadata.from_json(cached.metadata)

        async with self._lock:
            # Another caller may have fetched the same id while this one waited.
            cached = await self._store.cached_arxiv(arxiv_id)
            if cached is not None:
                return ArxivMetadata.from_json(cached.metadata)
            await self._wait_for_turn()
            result = await self._request(arxiv_id)

        metadata = _metadata(result, arxiv_id)
        await self._store.cache_arxiv(arxiv_id, metadata.to_json(), self._clock.now())
        _log.info("arXiv metadata of %s fetched and cached", arxiv_id)
        return metadata

    async def _wait_for_turn(self) -> None:
        if self._last_request is not None:
            wait = self._last_request + self._min_interval - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
        self._last_request = self._clock.monotonic()

    async def _request(self, arxiv_id: str) -> arxiv.Result:
        self.requests_sent += 1
        search = arxiv.Search(id_list=[arxiv_id], max_results=1)
        try:
            results = await asyncio.wait_for(
                asyncio.to_thread(lambda: list(self._client.results(search))), self._timeout
            )
        except TimeoutError as error:
            # NOTE: the worker thread keeps waiting for the server after this, because
            # the arxiv package sends its requests without a timeout.
            raise ArxivTimeoutError(arxiv_id, f"no answer in {self._timeout:g} s") from error
        except arxiv.HTTPError as error:
            kind = ArxivRateLimitedError if error.status == 429 else ArxivUnavailableError
            raise kind(arxiv_id, f"HTTP {error.status}") from error
        except (arxiv.ArxivError, requests.RequestException) as error:
            raise ArxivUnavailableError(arxiv_id, type(error).__name__) from error

        # The arxiv package parses a malformed feed as an empty one, so malformed XML
        # ends here as well as a well-formed feed without entries.
        matching = [
            result for result in results if _bare_id(result.get_short_id()) == _bare_id(arxiv_id)
        ]
        if not matching:
            raise ArxivNotFoundError(arxiv_id, "the feed has no entry for it")
        return matching[0]


def _bare_id(arxiv_id: str) -> str:
    return _VERSION.sub("", arxiv_id)


def _metadata(result: arxiv.Result, requested_id: str) -> ArxivMetadata:
    short_id = result.get_short_id()
    version_match = _VERSION.search(short_id)
    bare_id = _bare_id(short_id)
    return ArxivMetadata(
        arxiv_id=bare_id,
        version=int(version_match.group(1)) if version_match else None,
        title=result.title.strip(),
        summary=" ".join(result.summary.split()),
        authors=tuple(author.name for author in result.authors),
        published=result.published,
        abs_url=f"https://arxiv.org/abs/{requested_id}",
        # Entries without a PDF link exist (withdrawn papers, some old ones); arXiv
        # serves the PDF of every id at this address.
        pdf_url=_https(result.pdf_url) or f"https://arxiv.org/pdf/{requested_id}",
    )


def _https(url: str | None) -> str | None:
    return url.replace("http://", "https://", 1) if url else None
