"""Parse a digest post (YAML front matter, then markdown) into a `Digest`.

The layouts themselves live in `bot.digest.dialects`. This module decodes and checks the bytes,
reads the front matter, tries the dialects in order and settles the date and title.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt

from bot.digest.dialects import DIALECTS, MarkdownDocument
from bot.digest.dialects.base import plain_text
from bot.digest.dialects.papers import numbered_heading
from bot.digest.errors import DigestError, NotADigestError
from bot.digest.model import DateSource, Digest, Paper

_log = logging.getLogger(__name__)

# The public daily digests are 2-110 KB (the largest seed-blog post has 39 papers). The 1 MiB
# cap leaves ten times that for growth and bounds the parse time, because parsing is CPU-bound:
# on a 2-core container markdown-it-py 4.3 took 12 s for 5 MiB of plain text and 62 s for
# 5 MiB of unmatched `[`. Async callers still run the parser in a worker thread.
MAX_DIGEST_BYTES = 1024 * 1024

_UTF8_BOM = b"\xef\xbb\xbf"
_FRONT_MATTER_OPEN = "---"
# Jekyll ends front matter with `---`, and YAML also allows the document end marker `...`.
_FRONT_MATTER_CLOSE = ("---", "...")
_ISO_DATE_PREFIX = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?!\d)", re.ASCII)
_FILENAME_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)", re.ASCII)


@dataclass(frozen=True)
class _FrontMatter:
    metadata: dict[str, Any]
    body: str
    body_offset: int


@functools.cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark")


def parse_digest(data: str | bytes, source: str) -> Digest:
    """Parse one digest post.

    Args:
        data: The file content; bytes must be UTF-8 (a BOM is accepted).
        source: The path or URL of the post, used in errors and for the date in its file name.

    Returns:
        The digest with its papers in document order; a post with front matter only has none.

    Raises:
        NotADigestError: The markdown is readable but no digest layout finds a paper in it.
        DigestError: The data is too large, binary, not UTF-8, empty or has a broken paper, or
            neither the front matter nor the file name gives a date.
    """
    text = _decode(data, source)
    front_matter = _split_front_matter(text, source)
    document = MarkdownDocument(source, front_matter.body, front_matter.body_offset, _markdown())
    papers = _parse_papers(document)
    date, date_source = _resolve_date(front_matter.metadata, source)
    return Digest(
        date=date,
        title=_resolve_title(front_matter.metadata, document, source),
        source=source,
        date_source=date_source,
        papers=tuple(papers),
    )


def load_digest(path: str | os.PathLike[str]) -> Digest:
    """Read and parse the digest file at `path`.

    The size is checked before reading, so a huge file is rejected without being loaded.

    Raises:
        DigestError: The file cannot be read or is over `MAX_DIGEST_BYTES`, or `parse_digest`
            rejects it.
    """
    source = os.fspath(path)
    try:
        with open(path, "rb") as file:
            _check_size(os.fstat(file.fileno()).st_size, source)
            # Read one byte past the cap, so a file that grows or reports no size is still capped.
            data = file.read(MAX_DIGEST_BYTES + 1)
    except OSError as exc:
        raise DigestError(
            source,
            f"cannot read the file: {exc.strerror or exc}",
            "check that the path exists and is a readable file",
        ) from exc
    _check_size(len(data), source)
    return parse_digest(data, source)


def _check_size(size: int, source: str) -> None:
    if size > MAX_DIGEST_BYTES:
        raise DigestError(
            source,
            f"file is {size} bytes, over the limit of {MAX_DIGEST_BYTES} bytes (1 MiB)",
            "check that this is a digest post; daily digests are under 1 MiB",
        )


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: str | bytes, source: str) -> str:
    """Return the text with BOM removed and line ends normalized to `\\n`."""
    if isinstance(data, str):
        # A character is at least one UTF-8 byte, so this rejects a huge str before encoding it.
        _check_size(len(data), source)
        data = data.encode("utf-8", "surrogatepass")
    _check_size(len(data), source)
    offset = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    nul = data.find(b"\x00", offset)
    if nul >= 0:
        raise DigestError(
            source,
            f"binary data: NUL byte at byte offset {nul}",
            "give a UTF-8 markdown file, not a binary one",
            line=_line_of_offset(data, nul),
        )
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        position = offset + exc.start
        raise DigestError(
            source,
            f"invalid UTF-8 byte 0x{data[position]:02x} at byte offset {position}",
            "save the file as UTF-8",
            line=_line_of_offset(data, position),
        ) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DigestError(source, "empty file", "give a digest post with front matter and papers")
    return text


def _split_front_matter(text: str, source: str) -> _FrontMatter:
    lines = text.split("\n")
    if lines[0].rstrip() != _FRONT_MATTER_OPEN:
        return _FrontMatter({}, text, 0)
    close = next(
        (index for index in range(1, len(lines)) if lines[index].rstrip() in _FRONT_MATTER_CLOSE),
        None,
    )
    if close is None:
        raise DigestError(
            source,
            "front matter opened on line 1 is never closed",
            "end the front matter with a line '---'",
            line=1,
        )
    metadata = _load_front_matter("\n".join(lines[1:close]), source)
    return _FrontMatter(metadata, "\n".join(lines[close + 1 :]), close + 1)


def _load_front_matter(yaml_text: str, source: str) -> dict[str, Any]:
    """Return the front matter mapping, or an empty one (with a warning) when it is malformed."""
    try:
        loaded = yaml.safe_load(yaml_text)
    # PyYAML raises ValueError for impossible timestamps such as 2025-13-45 and recurses once
    # per nesting level of flow collections.
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        problem = " ".join(str(exc).split())
        _log.warning("%s: front matter is not valid YAML (%s); ignoring it", source, problem)
        return {}
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        kind = type(loaded).__name__
        _log.warning("%s: front matter is a %s, not a mapping; ignoring it", source, kind)
        return {}
    return loaded


def _parse_papers(document: MarkdownDocument) -> list[Paper]:
    for dialect in DIALECTS:
        papers = dialect.parse(document)
        if papers is not None:
            _log.debug("%s: %d papers in the %s layout", document.source, len(papers), dialect.name)
            return papers
    if not document.blocks:
        return []
    raise NotADigestError(
        document.source,
        "not a digest: no paper heading such as '# 1. [Title](https://arxiv.org/abs/<id>)'",
        "check that this file is a daily paper digest",
    )


def _date_from_text(text: str, pattern: re.Pattern[str]) -> dt.date | None:
    match = pattern.search(text) if pattern is _FILENAME_DATE else pattern.match(text)
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _front_matter_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return _date_from_text(value, _ISO_DATE_PREFIX)
    return None


def _file_name(source: str) -> str:
    path = urlsplit(source).path if "://" in source else source
    return PurePosixPath(path.replace("\\", "/")).name


def _resolve_date(metadata: dict[str, Any], source: str) -> tuple[dt.date, DateSource]:
    date = _front_matter_date(metadata.get("date"))
    if date is not None:
        return date, DateSource.FRONT_MATTER
    date = _date_from_text(_file_name(source), _FILENAME_DATE)
    if date is not None:
        _log.warning("%s: no valid front matter date; using %s from the file name", source, date)
        return date, DateSource.FILENAME
    raise DigestError(
        source,
        "no date: the front matter has no valid 'date' and the file name has no YYYY-MM-DD",
        "add 'date: YYYY-MM-DD' to the front matter or start the file name with the date",
    )


def _strip_unbalanced_quote(title: str) -> str:
    """Drop a lone `"` at either end, as in `Daily Papers — 2025-08-29"` from a generator bug."""
    if title.count('"') == 1 and (title.startswith('"') or title.endswith('"')):
        return title.strip('"').strip()
    return title


def _resolve_title(metadata: dict[str, Any], document: MarkdownDocument, source: str) -> str:
    """Return the front matter title, else the first non-paper `#` heading, else the file name."""
    value = metadata.get("title")
    if isinstance(value, str | int | float) and str(value).strip():
        return _strip_unbalanced_quote(" ".join(str(value).split()))
    for heading in document.headings():
        if heading.level == 1 and numbered_heading(heading) is None:
            text = plain_text(heading.inline.children or ())
            if text:
                return text
    return PurePosixPath(_file_name(source)).stem or source
