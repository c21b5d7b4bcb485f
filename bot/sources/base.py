"""The digest source protocol, the fetched document and the error every source raises."""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import SourceConfig


class SourceError(Exception):
    """Failure to fetch a digest, with a one-line message that states what to fix.

    Sources raise it and do not log it, so the caller logs it once with the consequence.
    """


@dataclass(frozen=True)
class FetchedDigest:
    """One day's digest document as fetched.

    Attributes:
        data: The document as UTF-8 bytes with any byte order mark removed.
        name: File name (folder) or URL (HTTP) the document came from.
        etag: HTTP entity tag, when the server sent one.
        last_modified: Modification time, aware UTC: the HTTP Last-Modified header or the
            file's mtime.
        changed: False when the document is the same as on the previous fetch of this day
            (HTTP 304, or identical file bytes). `data` is then the document fetched
            before, so a caller that already used it can skip it.
    """

    data: bytes
    name: str
    etag: str | None = None
    last_modified: dt.datetime | None = None
    changed: bool = True

    @property
    def text(self) -> str:
        """The document decoded as UTF-8."""
        return self.data.decode("utf-8")

    def unchanged(self) -> FetchedDigest:
        """Return a copy marked as the same document as before."""
        return replace(self, changed=False)


class DigestSource(Protocol):
    """Protocol of the objects that fetch the day's digest document."""

    async def fetch(self, day: dt.date) -> FetchedDigest | None:
        """Fetch the digest for `day`.

        Returns:
            The document, or None when it is not published yet.

        Raises:
            SourceError: The document exists but cannot be used, or fetching failed.
        """

    async def close(self) -> None:
        """Release connections and files the source holds."""


def date_fields(day: dt.date) -> dict[str, str]:
    """Return the placeholder values for `day` that file patterns and URL templates use."""
    return {
        "date": day.isoformat(),
        "yyyymmdd": day.strftime("%Y%m%d"),
        "year": f"{day.year:04d}",
        "month": f"{day.month:02d}",
        "day": f"{day.day:02d}",
    }


def fill_template(template: str, day: dt.date, *, setting: str) -> str:
    """Substitute the date placeholders of `template` for `day`.

    Raises:
        SourceError: The template has an unknown placeholder or a stray brace.
    """
    try:
        return template.format_map(date_fields(day))
    except KeyError as exc:
        known = ", ".join("{" + name + "}" for name in date_fields(day))
        raise SourceError(
            f"{setting}: unknown placeholder {{{exc.args[0]}}} in {template!r}. Use {known}"
        ) from exc
    except (ValueError, IndexError) as exc:
        raise SourceError(
            f"{setting}: invalid template {template!r} ({exc}). Write a literal brace as {{{{"
        ) from exc


def validate_utf8(data: bytes, name: str) -> bytes:
    """Check that `data` is UTF-8 and return it without a leading byte order mark.

    Raises:
        SourceError: `data` is not valid UTF-8. The message names `name` and the offset.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name} is not valid UTF-8 (invalid byte at offset {exc.start})."
            " Save the digest as UTF-8"
        ) from exc
    return data.removeprefix(codecs.BOM_UTF8)


def open_source(config: SourceConfig, clock: Clock) -> DigestSource:
    """Create the source that `config.kind` names ("folder" or "http").

    Raises:
        SourceError: The kind is unknown or a required setting is missing.
    """
    opener = _OPENERS.get(config.kind)
    if opener is None:
        raise SourceError(f'source.kind: expected "folder" or "http", got {config.kind!r}')
    return opener(config, clock)


# The openers import inside the function because both source modules import this one.
def _open_folder(config: SourceConfig, clock: Clock) -> DigestSource:
    from bot.sources.folder import FolderSource

    return FolderSource.from_config(config)


def _open_http(config: SourceConfig, clock: Clock) -> DigestSource:
    from bot.sources.http import HttpSource

    return HttpSource.from_config(config, clock)


_OPENERS: dict[str, Callable[[SourceConfig, Clock], DigestSource]] = {
    "folder": _open_folder,
    "http": _open_http,
}
