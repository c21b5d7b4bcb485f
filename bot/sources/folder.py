"""Digest source that reads posts from a local folder, such as a clone of a Jekyll `_posts/`."""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
import fnmatch
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.config import SourceConfig
from bot.sources.base import FetchedDigest, SourceError, fill_template, validate_utf8

_log = logging.getLogger(__name__)

# Front matter is a few hundred bytes. Reading at most this much keeps the title check
# cheap when a folder contains several large posts for one date.
_FRONT_MATTER_MAX_BYTES = 16 * 1024

_FRONT_MATTER_FENCE = "---"

_TITLE_LINE = re.compile(r"^title:\s*(?P<title>.*?)\s*$", re.MULTILINE)

_REGEX_PREFIX = "re:"

# Days whose last fetch is kept to mark an identical re-read as unchanged.
_REMEMBERED_DAYS = 4


def compile_title_pattern(pattern: str) -> Callable[[str], bool]:
    """Build a predicate for front-matter titles from a `title_pattern` setting.

    A pattern that starts with `re:` is a regular expression searched anywhere in the
    title (case-sensitive unless it starts with `(?i)`). Any other pattern is a glob
    (fnmatch) matched against the whole title, ignoring case: `Daily Papers*`.

    Raises:
        SourceError: The regular expression does not compile.
    """
    if pattern.startswith(_REGEX_PREFIX):
        expression = pattern.removeprefix(_REGEX_PREFIX)
        try:
            regex = re.compile(expression)
        except re.error as exc:
            raise SourceError(
                f"source.title_pattern: invalid regular expression {expression!r} ({exc})"
            ) from exc
        return lambda title: regex.search(title) is not None

    folded = pattern.casefold()
    return lambda title: fnmatch.fnmatchcase(title.casefold(), folded)


def read_front_matter_title(path: Path) -> str | None:
    """Read the `title:` of a post's YAML front matter without reading the body.

    Surrounding quotes are removed, also an unbalanced one such as the trailing quote in
    `title: Daily Papers — 2025-08-29"`.

    Returns:
        The title, "" when the front matter has no title, or None when the file does not
        start with front matter.
    """
    with path.open("rb") as stream:
        head = stream.read(_FRONT_MATTER_MAX_BYTES)
    text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != _FRONT_MATTER_FENCE:
        return None
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.rstrip() == _FRONT_MATTER_FENCE)
    except StopIteration:
        return None
    return _title_from_front_matter("\n".join(lines[1:end]))


def _title_from_front_matter(front_matter: str) -> str:
    try:
        fields = yaml.safe_load(front_matter)
    except yaml.YAMLError:
        fields = None
    if isinstance(fields, dict) and "title" in fields:
        title = fields["title"]
        return "" if title is None else str(title).strip().strip("\"'")

    # Front matter that YAML rejects still has a readable title line in most posts.
    match = _TITLE_LINE.search(front_matter)
    return match.group("title").strip("\"'") if match else ""


class FolderSource:
    """Reads the day's post from a local folder.

    Args:
        path: Folder holding the posts (not searched recursively).
        pattern: File-name glob with `{date}` (YYYY-MM-DD) and `{yyyymmdd}` placeholders,
            matched case-sensitively, such as `{date}-daily-papers-*.md`.
        title_pattern: Optional filter on the front-matter title, for folders where two
            series share a date; see `compile_title_pattern`.
        max_bytes: Largest accepted file, checked before reading.

    Raises:
        SourceError: The pattern contains a path separator or the title pattern is invalid.
    """

    def __init__(
        self,
        path: Path,
        pattern: str = "{date}-*.md",
        title_pattern: str | None = None,
        *,
        max_bytes: int = 1024 * 1024,
    ) -> None:
        if "/" in pattern or os.sep in pattern:
            raise SourceError(
                f"source.pattern: {pattern!r} contains a path separator."
                " Put the folder in source.path and only a file-name glob in source.pattern"
            )
        self.path = Path(path)
        self.pattern = pattern
        self.title_pattern = title_pattern
        self.max_bytes = max_bytes
        self._title_matches = compile_title_pattern(title_pattern) if title_pattern else None
        self._last_fetched: dict[dt.date, FetchedDigest] = {}

    @classmethod
    def from_config(cls, config: SourceConfig) -> FolderSource:
        """Create a folder source from the `source:` settings.

        Raises:
            SourceError: `source.path` is missing.
        """
        if config.path is None:
            raise SourceError("source.path: missing. Set it to the folder that contains the posts")
        return cls(config.path, config.pattern, config.title_pattern, max_bytes=config.max_bytes)

    async def fetch(self, day: dt.date) -> FetchedDigest | None:
        """Read the post for `day`, or return None when no matching post exists yet.

        Raises:
            SourceError: The folder is missing, several posts match, or the file is too
                large or not UTF-8.
        """
        fetched = await asyncio.to_thread(self._fetch_blocking, day)
        if fetched is None:
            return None
        return self._mark_if_unchanged(day, fetched)

    async def close(self) -> None:
        """Do nothing, because the source keeps no file open between fetches."""

    def _fetch_blocking(self, day: dt.date) -> FetchedDigest | None:
        candidates = self._candidates(day)
        if not candidates:
            _log.debug("no post in %s matches %r for %s", self.path, self.pattern, day)
            return None
        chosen = self._choose(day, candidates)
        return None if chosen is None else self._read(chosen)

    def _candidates(self, day: dt.date) -> list[Path]:
        glob = fill_template(self.pattern, day, setting="source.pattern")
        try:
            with os.scandir(self.path) as entries:
                names = [
                    entry.name
                    for entry in entries
                    if entry.is_file() and fnmatch.fnmatchcase(entry.name, glob)
                ]
        except FileNotFoundError as exc:
            raise SourceError(f"source.path: folder {self.path} not found") from exc
        except NotADirectoryError as exc:
            raise SourceError(f"source.path: {self.path} is not a folder") from exc
        except OSError as exc:
            raise SourceError(f"source.path: cannot list {self.path} ({exc.strerror})") from exc
        return [self.path / name for name in sorted(names)]

    def _choose(self, day: dt.date, candidates: list[Path]) -> Path | None:
        matching = candidates
        if self._title_matches is not None:
            matching = [path for path in candidates if self._has_matching_title(path)]
            if not matching:
                _log.info(
                    "posts for %s exist but none has a title matching %r: %s",
                    day,
                    self.title_pattern,
                    ", ".join(path.name for path in candidates),
                )
                return None
        if len(matching) > 1:
            names = ", ".join(path.name for path in matching)
            raise SourceError(
                f"{len(matching)} posts in {self.path} match {day}: {names}."
                " Set source.pattern or source.title_pattern so that only one matches"
            )
        return matching[0]

    def _has_matching_title(self, path: Path) -> bool:
        assert self._title_matches is not None
        try:
            title = read_front_matter_title(path)
        except OSError as exc:
            raise SourceError(f"cannot read {path} ({exc.strerror})") from exc
        return title is not None and self._title_matches(title)

    def _read(self, path: Path) -> FetchedDigest:
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise SourceError(_too_large(path, size, self.max_bytes))
            with path.open("rb") as stream:
                # Read one byte past the cap in case the file grew after stat().
                data = stream.read(self.max_bytes + 1)
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        except OSError as exc:
            raise SourceError(f"cannot read {path} ({exc.strerror})") from exc
        if len(data) > self.max_bytes:
            raise SourceError(_too_large(path, len(data), self.max_bytes))
        return FetchedDigest(
            data=validate_utf8(data, str(path)), name=path.name, last_modified=modified
        )

    def _mark_if_unchanged(self, day: dt.date, fetched: FetchedDigest) -> FetchedDigest:
        previous = self._last_fetched.get(day)
        self._last_fetched[day] = fetched
        while len(self._last_fetched) > _REMEMBERED_DAYS:
            del self._last_fetched[min(self._last_fetched)]
        if previous is not None and previous.data == fetched.data:
            return fetched.unchanged()
        return fetched


def _too_large(path: Path, size: int, max_bytes: int) -> str:
    return (
        f"{path} is {size} bytes, over the {max_bytes}-byte limit."
        " Raise source.max_bytes if the file is a real digest"
    )
