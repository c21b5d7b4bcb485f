"""Text units for renderers: clean-up, grapheme clusters and per-platform escaping.

Escapers work grapheme by grapheme, so a cut between two units never splits a Hangul
syllable, an emoji sequence or an escape such as `&amp;` or `\\*`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Protocol
from urllib.parse import urlsplit

_log = logging.getLogger(__name__)

ZWSP = "\u200b"
ZWJ = "\u200d"

# Hangul conjoining jamo classes (Unicode Hangul_Syllable_Type): L leading consonants,
# V vowels, T trailing consonants. Precomposed syllables are LV or LVT.
_HANGUL_L = ((0x1100, 0x115F), (0xA960, 0xA97C))
_HANGUL_V = ((0x1160, 0x11A7), (0xD7B0, 0xD7C6))
_HANGUL_T = ((0x11A8, 0x11FF), (0xD7CB, 0xD7FB))
_HANGUL_SYLLABLES = (0xAC00, 0xD7A3)

# Code points that extend the preceding cluster besides combining marks (Mn, Me, Mc):
# ZWNJ/ZWJ, variation selectors, emoji skin-tone modifiers, tag characters (subdivision
# flags) and the halfwidth katakana sound marks.
_EXTEND_RANGES = (
    (0x200C, 0x200D),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
    (0x1F3FB, 0x1F3FF),
    (0xE0020, 0xE007F),
    (0xFF9E, 0xFF9F),
)
_REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)

_SENTENCE_END = frozenset(".!?。！？…")
_CONTROL_KEEP = frozenset("\n\t")


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _hangul_type(code: int) -> str | None:
    if _in_ranges(code, _HANGUL_L):
        return "L"
    if _in_ranges(code, _HANGUL_V):
        return "V"
    if _in_ranges(code, _HANGUL_T):
        return "T"
    if _HANGUL_SYLLABLES[0] <= code <= _HANGUL_SYLLABLES[1]:
        return "LV" if (code - _HANGUL_SYLLABLES[0]) % 28 == 0 else "LVT"
    return None


# Hangul jamo pairs that stay in one cluster (UAX #29 rules GB6 to GB8).
_HANGUL_JOINS = {
    "L": {"L", "V", "LV", "LVT"},
    "LV": {"V", "T"},
    "V": {"V", "T"},
    "LVT": {"T"},
    "T": {"T"},
}


def _is_extend(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) in ("Mn", "Me", "Mc") or _in_ranges(code, _EXTEND_RANGES)


def _is_regional_indicator(char: str) -> bool:
    return _REGIONAL_INDICATORS[0] <= ord(char) <= _REGIONAL_INDICATORS[1]


def _joins(previous: str, char: str, odd_regional_run: bool) -> bool:
    """Tell whether `char` continues the cluster that ends with `previous`."""
    if _is_extend(char):
        return True
    # Never break after ZWJ. UAX #29 joins only emoji there (GB11); joining every
    # character is coarser, but it only removes cut positions, so no cut splits an emoji.
    if previous == ZWJ:
        return True
    if _is_regional_indicator(previous) and _is_regional_indicator(char):
        return odd_regional_run
    previous_type = _hangul_type(ord(previous))
    char_type = _hangul_type(ord(char))
    return previous_type is not None and char_type in _HANGUL_JOINS.get(previous_type, ())


def graphemes(text: str) -> list[str]:
    """Split `text` into extended grapheme clusters (a subset of UAX #29).

    Handled: combining marks, ZWJ sequences, variation selectors, skin-tone modifiers,
    tag sequences, regional-indicator pairs (flags) and conjoining Hangul jamo. Prepend
    characters and Indic conjuncts are not joined.
    """
    clusters: list[str] = []
    start = 0
    # Length of the run of regional indicators that ends at the previous character.
    regional_run = 1 if text and _is_regional_indicator(text[0]) else 0
    for index in range(1, len(text)):
        previous, char = text[index - 1], text[index]
        if not _joins(previous, char, regional_run % 2 == 1):
            clusters.append(text[start:index])
            start = index
        regional_run = regional_run + 1 if _is_regional_indicator(char) else 0
    if text:
        clusters.append(text[start:])
    return clusters


def clean_text(text: str) -> str:
    """Return `text` safe to send as JSON text: no lone surrogates, no control characters.

    CR LF and a lone CR become LF. Tabs and line feeds stay, and other C0/C1 controls are
    dropped. Surrogate halves are paired where possible and replaced with U+FFFD otherwise.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        char for char in text if char in _CONTROL_KEEP or unicodedata.category(char) != "Cc"
    )


def is_sentence_end(cluster: str) -> bool:
    return cluster[:1] in _SENTENCE_END


def is_web_url(url: str) -> bool:
    """Tell whether `url` is an absolute http(s) URL with a host and no whitespace."""
    if not url or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# Characters that would end or break a link target on either platform, as percent escapes.
_URL_QUOTES = {"<": "%3C", ">": "%3E", "|": "%7C", "(": "%28", ")": "%29", '"': "%22"}


def quote_url(url: str) -> str:
    """Percent-encode the characters that end a Slack `<url|text>` or Discord `(url)` target."""
    return "".join(_URL_QUOTES.get(char, char) for char in url)


Unit = tuple[str, str]
"""One grapheme cluster of digest text and its escaped form for the target platform."""


class Escaper(Protocol):
    def units(self, raw: str, at_line_start: bool) -> list[Unit]:
        """Return `raw` as (cluster, escaped cluster) pairs.

        `at_line_start` is true when `raw` begins a line of the final message, where some
        markdown (headings, lists, quotes) only takes effect.
        """
        ...


class PlainEscaper:
    """No escaping: for Slack `plain_text`, which Slack shows without parsing markup."""

    def units(self, raw: str, at_line_start: bool) -> list[Unit]:
        return [(cluster, cluster) for cluster in graphemes(raw)]


_SLACK_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_slack(text: str) -> str:
    """Escape `&`, `<` and `>` as Slack mrkdwn requires.

    With `<` escaped, `<!channel>`, `<!here>`, `<@U…>`, `<#C…>` and `<!subteam^…>` in digest
    text can no longer form a mention.
    """
    return "".join(_SLACK_ENTITIES.get(char, char) for char in text)


_SLACK_MASS_MENTION = re.compile(r"@(?=channel|here|everyone)")


class SlackEscaper:
    """Slack mrkdwn text and code: `&`, `<` and `>` are escaped.

    `@channel`, `@here` and `@everyone` also get a zero-width space after the `@`, in
    case a client or a `link_names` setting would turn them into mentions. Slack has no
    backslash escape, so a literal `*`, `_` or `~` stays as it is.
    """

    def units(self, raw: str, at_line_start: bool) -> list[Unit]:
        mentions = {match.start() for match in _SLACK_MASS_MENTION.finditer(raw)}
        result: list[Unit] = []
        offset = 0
        for cluster in graphemes(raw):
            escaped_cluster = escape_slack(cluster)
            if offset in mentions:
                escaped_cluster = escaped_cluster[0] + ZWSP + escaped_cluster[1:]
            result.append((cluster, escaped_cluster))
            offset += len(cluster)
        return result


# Discord markdown characters that format anywhere in a line. A backslash before any
# ASCII punctuation character shows that character literally.
_DISCORD_INLINE = frozenset("\\*_~`|[]<")
# Characters that format only at the start of a line: headings, lists, quotes.
_DISCORD_LINE_START = frozenset("#->+")
_DISCORD_MASS_MENTION = re.compile(r"@(?=everyone|here)")
# `<` of a user, role or channel mention (`<@123>`, `<@!123>`, `<@&123>`, `<#123>`).
_DISCORD_BRACKET_MENTION = re.compile(r"<(?=[@#])")
_DISCORD_ORDERED_ITEM = re.compile(r"[ \t]*\d+(?=\.)")


def _discord_mention_offsets(raw: str) -> set[int]:
    """Offsets of `@` characters that start `@everyone` or `@here`, and of `<` that start
    a user, role or channel mention."""
    pattern_matches = [
        *_DISCORD_MASS_MENTION.finditer(raw),
        *_DISCORD_BRACKET_MENTION.finditer(raw),
    ]
    return {match.start() for match in pattern_matches}


def _discord_line_start_offset(raw: str) -> int | None:
    """Offset of the character that would start a heading, list or quote, if any."""
    ordered = _DISCORD_ORDERED_ITEM.match(raw)
    if ordered:
        return ordered.end()
    stripped = len(raw) - len(raw.lstrip(" \t"))
    if stripped < len(raw) and raw[stripped] in _DISCORD_LINE_START:
        return stripped
    return None


class DiscordEscaper:
    """Discord markdown text: backslash-escape formatting characters where they would format.

    `@everyone` and `@here` get a zero-width space after the `@`, so they read as text even
    where a client would highlight them. `allowed_mentions` already stops the ping.
    """

    def __init__(self, *, markdown: bool = True) -> None:
        self._markdown = markdown

    def units(self, raw: str, at_line_start: bool) -> list[Unit]:
        mentions = _discord_mention_offsets(raw)
        line_start = _discord_line_start_offset(raw) if self._markdown and at_line_start else None
        result: list[Unit] = []
        offset = 0
        for cluster in graphemes(raw):
            result.append((cluster, self._escape(cluster, offset, mentions, line_start)))
            offset += len(cluster)
        return result

    def _escape(self, cluster: str, offset: int, mentions: set[int], line_start: int | None) -> str:
        if self._markdown and (cluster[0] in _DISCORD_INLINE or offset == line_start):
            # A backslash before `<` already shows a bracket mention as plain text.
            return "\\" + cluster
        if offset in mentions:
            return cluster[0] + ZWSP + cluster[1:]
        return cluster


class DiscordCodeEscaper:
    """Discord code spans and blocks: no backslash escapes work there.

    Mentions are broken with a zero-width space because some clients still highlight
    them, and a backtick becomes U+02CB so that it cannot close the code span.
    """

    def units(self, raw: str, at_line_start: bool) -> list[Unit]:
        mentions = _discord_mention_offsets(raw)
        result: list[Unit] = []
        offset = 0
        for cluster in graphemes(raw):
            escaped_cluster = cluster.replace("`", "\u02cb")
            if offset in mentions:
                escaped_cluster = escaped_cluster[0] + ZWSP + escaped_cluster[1:]
            result.append((cluster, escaped_cluster))
            offset += len(cluster)
        return result


class SlackCodeEscaper:
    """Slack code: `&`, `<`, `>` escaped; a backtick becomes U+02CB so the span stays closed."""

    def units(self, raw: str, at_line_start: bool) -> list[Unit]:
        return [
            (cluster, escape_slack(cluster.replace("`", "\u02cb"))) for cluster in graphemes(raw)
        ]


def escaped(raw: str, escaper: Escaper, *, at_line_start: bool = True) -> str:
    """Return `raw` escaped by `escaper` as one string."""
    return "".join(escaped_unit for _, escaped_unit in escaper.units(raw, at_line_start))
