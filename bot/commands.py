"""The `/paper` command: one grammar for every platform, and platform-neutral answers.

Forms: empty (latest list), `N` (paper N of the latest digest), an arXiv id or a paper URL
on arxiv.org, alphaxiv.org or huggingface.co, `YYYY-MM-DD` (that day's list),
`YYYY-MM-DD N`, `help` / `도움말`, and anything else as search keywords.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.arxiv_lookup import (
    ArxivLookupError,
    ArxivMetadata,
    ArxivNotFoundError,
    ArxivRateLimitedError,
    ArxivTimeoutError,
    ArxivUnavailableError,
    MetadataLookup,
)
from bot.clock import Clock
from bot.digest.arxiv_ids import ArxivRef, arxiv_id_from_url, parse_arxiv_id
from bot.digest.model import Digest, Paper
from bot.i18n import Translator, translator
from bot.store import Store

_log = logging.getLogger(__name__)

# Maximum query length in characters after cleaning. Paper URLs are far shorter, and a
# longer text is usually pasted by mistake.
MAX_QUERY_CHARS = 200
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_MAX_RESULTS = 5

HELP_WORDS = frozenset({"help", "도움말", "?"})
_PAPER_SITES = {"arxiv.org": "arXiv", "alphaxiv.org": "alphaXiv", "huggingface.co": "Hugging Face"}
# Tab, line feed and carriage return are whitespace in a pasted query; every other
# control character is rejected.
_WHITESPACE_CONTROLS = frozenset("\t\n\r")

_NUMBER = re.compile(r"\d+", re.ASCII)
# Ways people write "paper 3": `3번`, `3번째` (Korean counters) and `#3`.
_COUNTED_NUMBER = re.compile(r"#?(\d+)(?:번째|번)?", re.ASCII)
# Korean particles typed after an id, as in `2509.17765를 보여줘`-style queries cut short.
_TRAILING_PARTICLE = re.compile(r"(?<=[0-9])(?:으로|를|을|은|는|이|가|의|에|로|과|와|도|만)$")
# A new-style id typed with a capital V before its version.
_CAPITAL_VERSION = re.compile(r"(\d{4}\.\d{4,5})V(\d+)", re.ASCII)
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})|(\d{4})(\d{2})(\d{2})", re.ASCII)
_DATE_AND_NUMBER = re.compile(r"(\S+)\s+(\d+)", re.ASCII)
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.-]+\.(?:org|co|com)/\S*", re.IGNORECASE)


# Queries


@dataclass(frozen=True)
class PaperList:
    """The list of one digest; `date` None means the latest digest."""

    date: dt.date | None = None


@dataclass(frozen=True)
class PaperByNumber:
    """Paper `number` of one digest; `date` None means the latest digest."""

    number: int
    date: dt.date | None = None


@dataclass(frozen=True)
class PaperById:
    ref: ArxivRef


@dataclass(frozen=True)
class Keywords:
    text: str


@dataclass(frozen=True)
class Help:
    pass


PaperQuery = PaperList | PaperByNumber | PaperById | Keywords | Help


class QueryError(Exception):
    """A query that cannot be answered; `key` names its message in the locale files."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"{key} {values}")
        self.key = key
        self.values = values


def clean_query(text: str) -> str:
    """Return `text` without invisible format characters, in NFKC form, with single spaces.

    Raises:
        QueryError: the text has control characters, is empty after cleaning although
            it was not blank, or is longer than `MAX_QUERY_CHARS`.
    """
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in _WHITESPACE_CONTROLS:
            kept.append(" ")
        elif category == "Cc":
            raise QueryError("error_query_control_chars")
        elif category != "Cf":
            # Cf contains zero-width spaces and joiners, bidi overrides and the BOM.
            kept.append(char)

    cleaned = " ".join(unicodedata.normalize("NFKC", "".join(kept)).split())
    if not cleaned and text.strip():
        raise QueryError("error_query_empty")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise QueryError("error_query_too_long", length=len(cleaned), max=MAX_QUERY_CHARS)
    return cleaned


def parse_paper_query(text: str, *, today: dt.date) -> PaperQuery:
    """Parse the text after `/paper` into a query; `today` is the date in the bot's time zone.

    Raises:
        QueryError: for invalid input; its key and values name the localized message.
    """
    cleaned = _normalize_shorthand(clean_query(text))
    if not cleaned:
        return PaperList()
    if cleaned.casefold() in HELP_WORDS:
        return Help()
    if _NUMBER.fullmatch(cleaned) and len(cleaned) != len("YYYYMMDD"):
        return PaperByNumber(_paper_number(cleaned))
    if _DATE.fullmatch(cleaned):
        return PaperList(_date(cleaned, today))

    date_and_number = _DATE_AND_NUMBER.fullmatch(cleaned)
    if date_and_number and _DATE.fullmatch(date_and_number.group(1)):
        day = _date(date_and_number.group(1), today)
        return PaperByNumber(_paper_number(date_and_number.group(2)), day)

    if _URL.fullmatch(cleaned):
        return PaperById(_ref_from_url(cleaned))
    ref = parse_arxiv_id(cleaned)
    return PaperById(ref) if ref else Keywords(cleaned)


def _normalize_shorthand(text: str) -> str:
    """Rewrite `3번`, `#3`, `2025-09-23 3번`, a particle after an id and `V2` to the plain forms."""
    words = text.split(" ")
    numbered = len(words) == 1 or (len(words) == 2 and _DATE.fullmatch(words[0]) is not None)
    counted = _COUNTED_NUMBER.fullmatch(words[-1]) if numbered else None
    if counted:
        words[-1] = counted.group(1)
    text = " ".join(words)
    if " " not in text:
        text = _TRAILING_PARTICLE.sub("", text)
        text = _CAPITAL_VERSION.sub(r"\1v\2", text)
    return text


def _paper_number(text: str) -> int:
    number = int(text)
    if number < 1:
        raise QueryError("error_invalid_number")
    return number


def _date(text: str, today: dt.date) -> dt.date:
    match = _DATE.fullmatch(text)
    assert match is not None
    year, month, day = (int(part) for part in match.groups() if part is not None)
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise QueryError("error_invalid_date", text=text) from None
    if date > today:
        raise QueryError("error_future_date", date=date.isoformat())
    return date


def _ref_from_url(url: str) -> ArxivRef:
    ref = arxiv_id_from_url(url)
    if ref is not None:
        return ref
    host = _host(url)
    site = next((name for domain, name in _PAPER_SITES.items() if _on_domain(host, domain)), None)
    if site is not None:
        raise QueryError("error_malformed_url", site=site)
    raise QueryError("error_unsupported_url", host=host or url[:40])


def _host(url: str) -> str:
    with_scheme = url if "://" in url else f"https://{url}"
    try:
        return (urlsplit(with_scheme).hostname or "").lower()
    except ValueError:
        return ""


def _on_domain(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


# Answers


class AnswerKind(enum.StrEnum):
    PAPER = "paper"
    PAPER_LIST = "paper_list"
    SEARCH_RESULTS = "search_results"
    HELP = "help"
    ERROR = "error"


@dataclass(frozen=True)
class AnswerEntry:
    """One paper in an answer, with the digest date and number it was listed under.

    `date` and `number` are None for a paper found only on arXiv; `metadata` is then set.
    """

    paper: Paper
    date: dt.date | None
    number: int | None
    metadata: ArxivMetadata | None = None


@dataclass(frozen=True)
class Answer:
    """A platform-neutral reply: renderers draw `entries` and show `lines` as text."""

    kind: AnswerKind
    lines: tuple[str, ...]
    entries: tuple[AnswerEntry, ...] = ()
    digest: Digest | None = None
    error_key: str | None = None
    locale: str = "ko"


# Message key of each arXiv failure; each message tells the user what to try next.
_ARXIV_ERROR_KEYS: dict[type[ArxivLookupError], str] = {
    ArxivNotFoundError: "error_unknown_id",
    ArxivRateLimitedError: "error_arxiv_busy",
    ArxivUnavailableError: "error_arxiv_unavailable",
    ArxivTimeoutError: "error_arxiv_timeout",
}

HELP_KEYS = (
    "help_title",
    "help_today",
    "help_number",
    "help_id",
    "help_url",
    "help_date",
    "help_date_number",
    "help_keywords",
    "help_help",
)


class PaperService:
    """Answer `/paper` queries from the archive, falling back to arXiv for unknown ids."""

    def __init__(
        self,
        store: Store,
        arxiv_lookup: MetadataLookup,
        clock: Clock,
        translator_factory: Callable[[str | None], Translator] = translator,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        max_results: int = DEFAULT_MAX_RESULTS,
    ) -> None:
        self._store = store
        self._arxiv = arxiv_lookup
        self._clock = clock
        self._translator_factory = translator_factory
        self._zone = ZoneInfo(timezone)
        self._max_results = max_results
        self._handlers: dict[type, Callable[[Any, Translator], Awaitable[Answer]]] = {
            PaperList: self._paper_list,
            PaperByNumber: self._paper_by_number,
            PaperById: self._paper_by_id,
            Keywords: self._keywords,
            Help: self._help,
        }

    def today(self) -> dt.date:
        """Return today's date in the configured time zone."""
        return self._clock.now().astimezone(self._zone).date()

    async def answer(self, query_text: str, locale: str | None = None) -> Answer:
        """Answer the text after `/paper` in `locale`; errors become a localized error answer."""
        translate = self._translator_factory(locale)
        try:
            query = parse_paper_query(query_text, today=self.today())
            _log.debug("/paper query parsed as %s", type(query).__name__)
            return await self._handlers[type(query)](query, translate)
        except QueryError as error:
            _log.debug("/paper query rejected: %s", error.key)
            return _error(translate, error.key, **error.values)
        except ArxivLookupError as error:
            _log.warning("/paper lookup of %s failed: %s", error.arxiv_id, error)
            key = _ARXIV_ERROR_KEYS.get(type(error), "error_arxiv_unavailable")
            return _error(translate, key, arxiv_id=error.arxiv_id)
        except Exception:
            _log.exception("/paper query failed; the user got a generic error message")
            return _error(translate, "error_internal")

    async def _digest(self, date: dt.date | None) -> Digest:
        day = date or await self._store.latest_digest_date(on_or_before=self.today())
        if day is None:
            raise QueryError("error_no_digest")
        digest = await self._store.digest_for(day)
        if digest is None:
            raise QueryError("error_no_digest_on_date", date=day.isoformat())
        return digest

    async def _paper_list(self, query: PaperList, translate: Translator) -> Answer:
        digest = await self._digest(query.date)
        date = digest.date.isoformat()
        if not digest.papers:
            lines = (translate("no_papers_today", date=date),)
        else:
            header = translate("paper_list_header", title=digest.title, count=len(digest.papers))
            items = [
                translate("paper_list_item", number=p.number, title=p.title) for p in digest.papers
            ]
            lines = (header, *items)
        entries = tuple(AnswerEntry(p, digest.date, p.number) for p in digest.papers)
        return _answer(translate, AnswerKind.PAPER_LIST, lines, entries, digest=digest)

    async def _paper_by_number(self, query: PaperByNumber, translate: Translator) -> Answer:
        digest = await self._digest(query.date)
        date = digest.date.isoformat()
        paper = next((p for p in digest.papers if p.number == query.number), None)
        if paper is None and not digest.papers:
            raise QueryError("error_no_papers_on_date", date=date)
        if paper is None:
            raise QueryError(
                "error_paper_number_not_found",
                date=date,
                number=query.number,
                count=len(digest.papers),
            )
        lines = (
            translate("paper_context", number=paper.number, date=date),
            paper.title,
            paper.abs_url,
        )
        entry = AnswerEntry(paper, digest.date, paper.number)
        return _answer(translate, AnswerKind.PAPER, lines, (entry,), digest=digest)

    async def _paper_by_id(self, query: PaperById, translate: Translator) -> Answer:
        paper = await self._store.paper_by_id(query.ref.id)
        if paper is None:
            return await self._paper_from_arxiv(query.ref, translate)

        appearances = await self._store.appearances(query.ref.id)
        latest = appearances[0] if appearances else None
        lines = [paper.title, paper.abs_url]
        if latest is not None:
            context = translate("paper_context", number=latest.number, date=latest.date.isoformat())
            lines.insert(0, context)
        if len(appearances) > 1:
            dates = ", ".join(a.date.isoformat() for a in appearances[1:])
            lines.append(translate("paper_also_listed", dates=dates))
        entry = AnswerEntry(
            paper, latest.date if latest else None, latest.number if latest else None
        )
        return _answer(translate, AnswerKind.PAPER, tuple(lines), (entry,))

    async def _paper_from_arxiv(self, ref: ArxivRef, translate: Translator) -> Answer:
        metadata = await self._arxiv.lookup(ref.versioned_id)
        paper = metadata.to_paper(translate("paper_abstract_heading"))
        lines = [translate("paper_from_arxiv"), metadata.title]
        if metadata.authors:
            lines.append(translate("paper_authors", authors=", ".join(metadata.authors)))
        lines.append(metadata.abs_url)
        entry = AnswerEntry(paper, None, None, metadata=metadata)
        return _answer(translate, AnswerKind.PAPER, tuple(lines), (entry,))

    async def _keywords(self, query: Keywords, translate: Translator) -> Answer:
        hits = await self._store.search(query.text, limit=self._max_results)
        entries = []
        for hit in hits:
            paper = await self._store.paper_by_id(hit.arxiv_id)
            if paper is not None:
                entries.append(AnswerEntry(paper, hit.date, hit.number))
        if not entries:
            lines = (translate("search_no_results", query=query.text),)
        else:
            header = translate("search_header", query=query.text, count=len(entries))
            items = [
                translate(
                    "search_item",
                    date=entry.date.isoformat() if entry.date else "",
                    number=entry.number,
                    title=entry.paper.title,
                    arxiv_id=entry.paper.arxiv_id,
                )
                for entry in entries
            ]
            lines = (header, *items)
        return _answer(translate, AnswerKind.SEARCH_RESULTS, lines, tuple(entries))

    async def _help(self, query: Help, translate: Translator) -> Answer:
        lines = tuple(translate(key, max=MAX_QUERY_CHARS) for key in HELP_KEYS)
        return _answer(translate, AnswerKind.HELP, lines)


def _answer(
    translate: Translator,
    kind: AnswerKind,
    lines: tuple[str, ...],
    entries: tuple[AnswerEntry, ...] = (),
    *,
    digest: Digest | None = None,
) -> Answer:
    return Answer(kind, lines, entries, digest=digest, locale=translate.locale)


def _error(translate: Translator, key: str, **values: object) -> Answer:
    return Answer(
        AnswerKind.ERROR, (translate(key, **values),), error_key=key, locale=translate.locale
    )
