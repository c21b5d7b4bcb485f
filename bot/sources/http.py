"""Digest source that downloads the day's markdown file from a URL template with aiohttp."""

from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.clock import Clock
from bot.config import SourceConfig
from bot.sources.base import FetchedDigest, SourceError, fill_template, validate_utf8

_log = logging.getLogger(__name__)

_USER_AGENT = "paperbot/0.1 (daily digest fetcher)"

_CHUNK_BYTES = 64 * 1024

# Statuses worth another attempt: server errors, 408 Request Timeout and 429 Too Many
# Requests.
_RETRYABLE_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))

_HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_HTML_PREFIXES = (b"<!doctype", b"<html")

_UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})

# URLs whose last document is kept for conditional requests: today's and a few recent days.
_CACHED_URLS = 8

# A date that fills every placeholder, to check a template when the source is created.
_TEMPLATE_CHECK_DATE = dt.date(2000, 1, 1)


class _RetryableError(Exception):
    """A failure that another attempt may not repeat; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class _CacheEntry:
    document: FetchedDigest
    etag: str | None
    last_modified_header: str | None


class HttpSource:
    """Downloads the day's digest from a URL template over HTTP(S).

    The URL template may use `{date}` (YYYY-MM-DD), `{yyyymmdd}`, `{year}`, `{month}` and
    `{day}`, as in `https://raw.githubusercontent.com/o/r/main/_posts/{date}-daily-papers-{yyyymmdd}.md`.

    A 404 returns None (not published yet). Server errors, 408, 429, timeouts and
    dropped connections are retried with exponential backoff on the injected clock.
    Repeat polls of one URL send If-None-Match and If-Modified-Since. A 304 (or an
    identical 200 body) returns the earlier document with `changed=False`.

    Args:
        url_template: http or https URL with date placeholders.
        clock: Clock whose `sleep` waits between attempts.
        max_bytes: Largest accepted body, in bytes after content decoding.
        timeout_seconds: Limit for one whole request, from connecting to the last byte.
        max_attempts: Attempts per fetch, counting the first.
        backoff_seconds: Wait after the first failed attempt; doubles after each one.
        max_backoff_seconds: Upper bound of one wait, also for a server's Retry-After.
        session: Session to use and leave open, for callers that share one.
        session_factory: Creates the session this source owns and closes in `close()`;
            the default creates a plain `aiohttp.ClientSession`.

    Raises:
        SourceError: The template is not an http(s) URL or has an unknown placeholder.
    """

    def __init__(
        self,
        url_template: str,
        *,
        clock: Clock,
        max_bytes: int = 1024 * 1024,
        timeout_seconds: float = 30.0,
        max_attempts: int = 4,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 60.0,
        session: aiohttp.ClientSession | None = None,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        _check_url_template(url_template)
        if max_attempts < 1:
            raise SourceError(f"max_attempts must be at least 1, got {max_attempts}")
        self.url_template = url_template
        self.max_bytes = max_bytes
        self.max_attempts = max_attempts
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._session = session
        self._owns_session = session is None
        self._session_factory = session_factory or _default_session
        self._cache: OrderedDict[str, _CacheEntry] = OrderedDict()

    @classmethod
    def from_config(cls, config: SourceConfig, clock: Clock) -> HttpSource:
        """Create an HTTP source from the `source:` settings.

        Raises:
            SourceError: `source.url` is missing or invalid.
        """
        if not config.url:
            raise SourceError("source.url: missing. Set it to the digest URL template")
        return cls(
            config.url,
            clock=clock,
            max_bytes=config.max_bytes,
            timeout_seconds=config.timeout_seconds,
        )

    async def __aenter__(self) -> HttpSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this source created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, day: dt.date) -> FetchedDigest | None:
        """Download the digest for `day`.

        Returns:
            The document, None on 404, or the earlier document with `changed=False` when
            the server reports it unchanged.

        Raises:
            SourceError: A non-retryable HTTP status, an HTML page, invalid UTF-8, a body
                over `max_bytes`, or retryable failures on every attempt.
        """
        url = fill_template(self.url_template, day, setting="source.url")
        shown_url = redact_url(url)
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._get(url, shown_url, day)
            except _RetryableError as exc:
                if attempt == self.max_attempts:
                    raise SourceError(
                        f"GET {shown_url} failed after {attempt} attempts: {exc}"
                    ) from exc
                delay = self._backoff(attempt, exc.retry_after)
                _log.warning(
                    "GET %s failed (%s) on attempt %d/%d, retrying in %.1f s",
                    shown_url,
                    exc,
                    attempt,
                    self.max_attempts,
                    delay,
                )
                await self._clock.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._max_backoff_seconds)
        return min(self._backoff_seconds * 2 ** (attempt - 1), self._max_backoff_seconds)

    async def _get(self, url: str, shown_url: str, day: dt.date) -> FetchedDigest | None:
        cached = self._cache.get(url)
        session = self._session_or_create()
        try:
            async with session.get(
                url, headers=_conditional_headers(cached), timeout=self._timeout
            ) as response:
                return await self._handle(response, url, shown_url, day, cached)
        except TimeoutError as exc:
            raise _RetryableError(f"timed out after {self._timeout.total} s") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _RetryableError(f"{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            # Too many redirects, an invalid redirect URL and similar: retrying repeats them.
            raise SourceError(f"GET {shown_url} failed: {type(exc).__name__}: {exc}") from exc

    def _session_or_create(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    async def _handle(
        self,
        response: aiohttp.ClientResponse,
        url: str,
        shown_url: str,
        day: dt.date,
        cached: _CacheEntry | None,
    ) -> FetchedDigest | None:
        status = response.status
        if status == 200:
            return await self._accept(response, url, shown_url)
        if status == 304:
            return _not_modified(cached, shown_url)
        if status == 404:
            _log.info("digest for %s not published yet: GET %s returned 404", day, shown_url)
            return None
        if status in _RETRYABLE_STATUSES:
            raise _RetryableError(
                f"HTTP {status} {response.reason}", _retry_after_seconds(response)
            )
        raise SourceError(
            f"GET {shown_url} returned HTTP {status} {response.reason}."
            " Check source.url and the server's access rules"
        )

    async def _accept(
        self, response: aiohttp.ClientResponse, url: str, shown_url: str
    ) -> FetchedDigest:
        if response.content_type in _HTML_CONTENT_TYPES:
            raise SourceError(_html_message(shown_url))
        body = await self._read_capped(response, shown_url)
        if _looks_like_html(body):
            raise SourceError(_html_message(shown_url))
        data = validate_utf8(body, shown_url)
        if response.charset and response.charset.lower() not in _UTF8_CHARSETS:
            _log.debug(
                "GET %s declared charset %s, but the body is valid UTF-8, so it is read as UTF-8",
                shown_url,
                response.charset,
            )
        document = FetchedDigest(
            data=data,
            name=shown_url,
            etag=response.headers.get("ETag"),
            last_modified=_parse_http_date(response.headers.get("Last-Modified")),
        )
        return self._remember(url, document, response.headers.get("Last-Modified"))

    async def _read_capped(self, response: aiohttp.ClientResponse, shown_url: str) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_bytes:
            raise SourceError(_too_large_message(shown_url, self.max_bytes, declared))
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            body += chunk
            if len(body) > self.max_bytes:
                # Leaving the response context releases the connection, and aiohttp closes
                # a connection whose body was not read to the end instead of reusing it.
                raise SourceError(_too_large_message(shown_url, self.max_bytes))
        return bytes(body)

    def _remember(
        self, url: str, document: FetchedDigest, last_modified_header: str | None
    ) -> FetchedDigest:
        previous = self._cache.get(url)
        self._cache[url] = _CacheEntry(document, document.etag, last_modified_header)
        self._cache.move_to_end(url)
        while len(self._cache) > _CACHED_URLS:
            self._cache.popitem(last=False)
        if previous is not None and previous.document.data == document.data:
            return document.unchanged()
        return document


def redact_url(url: str) -> str:
    """Return `url` without user info, query or fragment, which may carry access tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _check_url_template(url_template: str) -> None:
    url = fill_template(url_template, _TEMPLATE_CHECK_DATE, setting="source.url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(
            f"source.url: expected an http or https URL, got {redact_url(url_template)!r}"
        )


def _default_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"User-Agent": _USER_AGENT})


def _conditional_headers(cached: _CacheEntry | None) -> dict[str, str]:
    if cached is None:
        return {}
    headers = {}
    if cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached.last_modified_header:
        headers["If-Modified-Since"] = cached.last_modified_header
    return headers


def _not_modified(cached: _CacheEntry | None, shown_url: str) -> FetchedDigest:
    if cached is None:
        # Only requests with validators from the cache are conditional, so a 304 without
        # a cache entry comes from a misbehaving server or proxy.
        raise SourceError(f"GET {shown_url} returned 304 Not Modified to an unconditional request")
    return cached.document.unchanged()


def _retry_after_seconds(response: aiohttp.ClientResponse) -> float | None:
    # Only the delay-seconds form; an HTTP-date falls back to exponential backoff.
    value = response.headers.get("Retry-After", "")
    try:
        return float(value)
    except ValueError:
        return None


def _parse_http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        # HTTP dates are in GMT. parsedate_to_datetime returns a naive datetime for "-0000".
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _looks_like_html(body: bytes) -> bool:
    head = body.removeprefix(codecs.BOM_UTF8).lstrip()[:16].lower()
    return head.startswith(_HTML_PREFIXES)


def _html_message(shown_url: str) -> str:
    return (
        f"GET {shown_url} returned an HTML page, not a markdown file."
        " Set source.url to the raw file URL (on GitHub: raw.githubusercontent.com)"
    )


def _too_large_message(shown_url: str, max_bytes: int, declared: int | None = None) -> str:
    size = f"declares {declared} bytes" if declared is not None else "sent more"
    return (
        f"GET {shown_url} {size}, over the {max_bytes}-byte limit."
        " Raise source.max_bytes if the file is a real digest"
    )
