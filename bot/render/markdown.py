"""Digest markdown to platform pieces, walking markdown-it-py tokens.

HTML parsing is off, so tag-like words in digest text (`<think>`, `<Parallel>`) stay
visible text and are escaped like any other text. Autolinks (`<https://…>`) still parse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.render.pieces import Escapers, Piece, literal
from bot.render.text import (
    ZWSP,
    DiscordCodeEscaper,
    DiscordEscaper,
    SlackCodeEscaper,
    SlackEscaper,
    clean_text,
    is_web_url,
    quote_url,
)

_log = logging.getLogger(__name__)

_MD = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

BULLET = "• "
_FENCE = "```"
_STYLE_ORDER = ("strong", "em", "s")


@dataclass(frozen=True)
class Markup:
    """The markup of one platform: style markers, link syntax and escapers."""

    name: str
    markers: dict[str, str]
    code: str
    link: Callable[[str], tuple[str, str]]
    escapers: Escapers
    # Slack only formats `*bold*` between word boundaries, so a marker that touches a
    # letter or digit gets a zero-width space outside it.
    # NOTE: not yet checked in a Slack client for Hangul directly after a marker.
    pad_markers: bool = False
    quote: str = "> "
    heading: str = "strong"


@dataclass
class _Run:
    raw: str
    styles: frozenset[str] = frozenset()
    url: str | None = None
    code: bool = False

    def same_format(self, other: _Run) -> bool:
        return (self.styles, self.url, self.code) == (other.styles, other.url, other.code)


def plain(markdown: str) -> str:
    """Return the text of inline `markdown` without markup: labels, code and alt text kept."""
    tokens = _MD.parseInline(clean_text(markdown))
    children = tokens[0].children if tokens and tokens[0].children else []
    return "".join(_run.raw for _run in _inline_runs(children)).strip()


def _inline_runs(children: Iterable[Token]) -> list[_Run]:
    styles: list[str] = []
    url: str | None = None
    runs: list[_Run] = []
    for token in children:
        kind = token.type
        if kind.endswith("_open") and kind[:-5] in _STYLE_ORDER:
            styles.append(kind[:-5])
        elif kind.endswith("_close") and kind[:-6] in _STYLE_ORDER:
            if kind[:-6] in styles:
                styles.remove(kind[:-6])
        elif kind == "link_open":
            href = str(token.attrs.get("href", ""))
            url = href if is_web_url(href) else None
        elif kind == "link_close":
            url = None
        else:
            runs.extend(_leaf_runs(token, frozenset(styles), url))
    return runs


def _leaf_runs(token: Token, styles: frozenset[str], url: str | None) -> list[_Run]:
    if token.type == "code_inline":
        return [_Run(token.content, url=url, code=True)]
    if token.type == "softbreak":
        return [_Run(" ", styles, url)]
    if token.type == "hardbreak":
        return [_Run("\n")]
    if token.type == "image":
        src = str(token.attrs.get("src", ""))
        alt = token.content or src
        return [_Run(alt, styles, src if is_web_url(src) else url)]
    return [_Run(token.content, styles, url)]


def _merge(runs: list[_Run]) -> list[_Run]:
    merged: list[_Run] = []
    for run in runs:
        if not run.raw:
            continue
        if merged and merged[-1].same_format(run) and "\n" not in run.raw + merged[-1].raw:
            merged[-1] = _Run(merged[-1].raw + run.raw, run.styles, run.url, run.code)
        else:
            merged.append(run)
    return merged


def _styled_pieces(run: _Run, markup: Markup, before: str, after: str) -> list[Piece]:
    """Wrap a styled run in markers, keeping its outer spaces outside the markers."""
    core = run.raw.strip()
    if not core:
        return [Piece(raw=run.raw)]
    lead = run.raw[: len(run.raw) - len(run.raw.lstrip())]
    trail = run.raw[len(run.raw.rstrip()) :]
    ordered = [style for style in _STYLE_ORDER if style in run.styles]
    opening = "".join(markup.markers[style] for style in ordered)
    closing = "".join(markup.markers[style] for style in reversed(ordered))
    if markup.pad_markers and not lead and before[-1:].isalnum():
        opening = ZWSP + opening
    if markup.pad_markers and not trail and after[:1].isalnum():
        closing += ZWSP
    pieces = [Piece(raw=lead)] if lead else []
    pieces.append(Piece(raw=core, open=opening, close=closing))
    if trail:
        pieces.append(Piece(raw=trail))
    return pieces


def _run_pieces(runs: list[_Run], markup: Markup) -> list[Piece]:
    pieces: list[Piece] = []
    for index, run in enumerate(runs):
        before = runs[index - 1].raw if index else ""
        after = runs[index + 1].raw if index + 1 < len(runs) else ""
        if run.raw == "\n":
            pieces.append(literal("\n"))
        elif run.url is not None:
            opening, closing = markup.link(run.url)
            pieces.append(Piece(raw=run.raw, open=opening, close=closing, code=run.code))
        elif run.code:
            pieces.append(Piece(raw=run.raw, open=markup.code, close=markup.code, code=True))
        elif run.styles:
            pieces.extend(_styled_pieces(run, markup, before, after))
        else:
            pieces.append(Piece(raw=run.raw))
    return pieces


def inline_pieces(children: Iterable[Token], markup: Markup) -> list[Piece]:
    """Convert the children of one markdown-it `inline` token to pieces."""
    return _run_pieces(_merge(_inline_runs(children)), markup)


def text_pieces(text: str, markup: Markup, *, style: str | None = None) -> list[Piece]:
    """Return plain `text` (not markdown) as one piece, optionally in one style."""
    text = clean_text(text)
    if not text:
        return []
    if style is None:
        return [Piece(raw=text)]
    return _styled_pieces(_Run(text, frozenset({style})), markup, "", "")


@dataclass
class _BlockWalker:
    """Turns block tokens into pieces: paragraphs, lists, quotes, headings, code, tables."""

    markup: Markup
    pieces: list[Piece] = field(default_factory=list)
    lists: list[int | None] = field(default_factory=list)
    quote_depth: int = 0
    prefix: str = ""
    heading: bool = False
    in_row: bool = False
    rows: int = 0
    cells: int = 0

    def walk(self, tokens: list[Token]) -> list[Piece]:
        for token in tokens:
            handler = _BLOCK_HANDLERS.get(token.type)
            if handler is not None:
                handler(self, token)
        return self.pieces

    def start_line(self, *, tight: bool = False) -> None:
        """Emit the break and prefixes that start a new line of text.

        Blocks are separated by a blank line, list items and table rows by a line break.
        """
        if self.pieces:
            self.pieces.append(literal("\n" if tight or self.lists else "\n\n"))
        line_prefix = self.markup.quote * self.quote_depth + self.prefix
        if line_prefix:
            self.pieces.append(literal(line_prefix))
        self.prefix = ""

    def open_item(self, token: Token) -> None:
        indent = "    " * (len(self.lists) - 1)
        number = self.lists[-1]
        if number is None:
            self.prefix = indent + BULLET
        else:
            self.prefix = f"{indent}{number}. "
            self.lists[-1] = number + 1

    def inline(self, token: Token) -> None:
        children = token.children or []
        if self.in_row:
            if self.cells:
                self.pieces.append(literal(" | "))
            self.cells += 1
            self.pieces.extend(inline_pieces(children, self.markup))
            return
        self.start_line()
        if self.heading:
            text = "".join(run.raw for run in _inline_runs(children)).strip()
            self.pieces.extend(text_pieces(text, self.markup, style=self.markup.heading))
            return
        self.pieces.extend(inline_pieces(children, self.markup))

    def code(self, token: Token) -> None:
        self.start_line()
        content = token.content.rstrip("\n")
        if content:
            self.pieces.append(
                Piece(raw=content, open=_FENCE + "\n", close="\n" + _FENCE, code=True)
            )


def _set(name: str, value: object) -> Callable[[_BlockWalker, Token], None]:
    def handler(walker: _BlockWalker, token: Token) -> None:
        setattr(walker, name, value)

    return handler


def _push_list(walker: _BlockWalker, token: Token) -> None:
    start = token.attrs.get("start", 1) if token.type == "ordered_list_open" else None
    walker.lists.append(int(start) if start is not None else None)


def _pop_list(walker: _BlockWalker, token: Token) -> None:
    walker.lists.pop()


def _quote(delta: int) -> Callable[[_BlockWalker, Token], None]:
    def handler(walker: _BlockWalker, token: Token) -> None:
        walker.quote_depth += delta

    return handler


def _row_open(walker: _BlockWalker, token: Token) -> None:
    walker.start_line(tight=walker.rows > 0)
    walker.rows += 1
    walker.in_row = True
    walker.cells = 0


def _row_close(walker: _BlockWalker, token: Token) -> None:
    walker.in_row = False
    walker.cells = 0


def _hr(walker: _BlockWalker, token: Token) -> None:
    walker.start_line()
    walker.pieces.append(literal("———"))


_BLOCK_HANDLERS: dict[str, Callable[[_BlockWalker, Token], None]] = {
    "bullet_list_open": _push_list,
    "ordered_list_open": _push_list,
    "bullet_list_close": _pop_list,
    "ordered_list_close": _pop_list,
    "list_item_open": _BlockWalker.open_item,
    "blockquote_open": _quote(1),
    "blockquote_close": _quote(-1),
    "heading_open": _set("heading", True),
    "heading_close": _set("heading", False),
    "inline": _BlockWalker.inline,
    "fence": _BlockWalker.code,
    "code_block": _BlockWalker.code,
    "table_open": _set("rows", 0),
    "tr_open": _row_open,
    "tr_close": _row_close,
    "hr": _hr,
}


def block_pieces(markdown: str, markup: Markup) -> list[Piece]:
    """Convert a markdown body (paragraphs, lists, code, tables) to pieces."""
    return _BlockWalker(markup).walk(_MD.parse(clean_text(markdown)))


def _slack_link(url: str) -> tuple[str, str]:
    # quote_url leaves no `|` in the URL, so the first `|` ends it. `&` in the URL is
    # escaped like in any other mrkdwn text.
    # NOTE: that Slack keeps later `|` characters as label text is assumed, not tested.
    return "<" + quote_url(url).replace("&", "&amp;") + "|", ">"


def _discord_link(url: str) -> tuple[str, str]:
    return "[", "](" + quote_url(url) + ")"


def slack_link(url: str, label: str) -> str:
    """Return a Slack mrkdwn link; `label` is plain text and gets escaped."""
    opening, closing = _slack_link(url)
    return opening + "".join(e for _, e in SLACK.escapers.text.units(label, False)) + closing


def discord_link(url: str, label: str) -> str:
    """Return a Discord masked link; `label` is plain text and gets escaped."""
    opening, closing = _discord_link(url)
    return opening + "".join(e for _, e in DISCORD.escapers.text.units(label, False)) + closing


def _make_markups() -> tuple[Markup, Markup]:
    slack = Markup(
        name="slack",
        markers={"strong": "*", "em": "_", "s": "~"},
        code="`",
        link=_slack_link,
        escapers=Escapers(text=SlackEscaper(), code=SlackCodeEscaper()),
        pad_markers=True,
    )
    discord = Markup(
        name="discord",
        markers={"strong": "**", "em": "*", "s": "~~"},
        code="`",
        link=_discord_link,
        escapers=Escapers(text=DiscordEscaper(), code=DiscordCodeEscaper()),
    )
    return slack, discord


SLACK, DISCORD = _make_markups()
