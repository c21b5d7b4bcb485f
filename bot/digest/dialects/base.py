"""The parsed markdown document that every dialect reads, and the helpers dialects share.

A dialect works on top-level blocks (a heading, a paragraph, a whole list) from markdown-it-py
tokens. Line numbers in `Token.map` count from the start of the body, after the front matter.
`MarkdownDocument.file_line` turns them into 1-based line numbers of the file for errors.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.digest.arxiv_ids import ArxivRef, ArxivSite, parse_arxiv_url, site_of_url
from bot.digest.errors import DigestError
from bot.digest.model import Link, LinkKind, Paper, Section

_log = logging.getLogger(__name__)

# Headings and link texts quoted in error messages are cut to this many characters so the
# message stays one readable line.
_MAX_QUOTED_CHARS = 80


@dataclass(frozen=True)
class Block:
    """One top-level block: `tokens[start:end]` of the document, opened by `tokens[start]`."""

    start: int
    end: int
    first: Token

    @property
    def first_line(self) -> int:
        """0-based body line where the block starts."""
        return self.first.map[0] if self.first.map else 0

    @property
    def end_line(self) -> int:
        """0-based body line after the block's last line."""
        return self.first.map[1] if self.first.map else self.first_line


@dataclass(frozen=True)
class Heading:
    """A top-level heading block with its inline token."""

    block_index: int
    level: int
    inline: Token

    @property
    def source(self) -> str:
        """The heading's markdown source without the `#` marks."""
        return self.inline.content


@dataclass(frozen=True)
class InlineLink:
    """A link found in inline content: its target and its text as plain text."""

    href: str
    text: str


class MarkdownDocument:
    """The body of a digest (front matter removed), tokenized once for all dialects."""

    def __init__(self, source: str, body: str, line_offset: int, markdown: MarkdownIt) -> None:
        self.source = source
        self.lines = body.split("\n")
        self.line_offset = line_offset
        self.markdown = markdown
        self.tokens = markdown.parse(body)
        self.blocks = _top_level_blocks(self.tokens)
        self._headings = [
            Heading(index, int(block.first.tag[1:]), self.tokens[block.start + 1])
            for index, block in enumerate(self.blocks)
            if block.first.type == "heading_open"
        ]
        self._headings_by_block = {heading.block_index: heading for heading in self._headings}
        # For each heading level, the sorted blocks of headings at that level or above, so the
        # end of a paper or section is found by bisection instead of a scan.
        self._boundaries = {
            level: [h.block_index for h in self._headings if h.level <= level]
            for level in range(1, 7)
        }

    def file_line(self, body_line: int) -> int:
        """Return the 1-based file line of a 0-based body line."""
        return self.line_offset + body_line + 1

    def error(self, problem: str, fix: str, block: Block | None = None) -> DigestError:
        """Build a DigestError located at `block`, or at the whole file when it is None."""
        line = None if block is None else self.file_line(block.first_line)
        return DigestError(self.source, problem, fix, line=line)

    def heading(self, block_index: int) -> Heading | None:
        """Return the heading at `block_index`, or None when that block is not a heading."""
        return self._headings_by_block.get(block_index)

    def headings(self) -> list[Heading]:
        """Return every top-level heading in document order."""
        return list(self._headings)

    def next_heading_at_or_above(self, block_index: int, level: int) -> int:
        """Return the block of the next heading of `level` or higher, or the number of blocks."""
        boundaries = self._boundaries[level]
        position = bisect.bisect_right(boundaries, block_index)
        return boundaries[position] if position < len(boundaries) else len(self.blocks)

    def block_line_span(self, start_block: int, end_block: int) -> tuple[int, int]:
        """Return the body lines from the start of `start_block` up to where `end_block` starts."""
        first = self.blocks[start_block].first_line if start_block < len(self.blocks) else 0
        if end_block < len(self.blocks):
            return first, self.blocks[end_block].first_line
        return first, len(self.lines)

    def inline_tokens(self, start_block: int, end_block: int) -> Iterable[Token]:
        """Yield every inline token of the blocks in `[start_block, end_block)`, nested ones too."""
        if start_block >= end_block:
            return
        first = self.blocks[start_block].start
        last = self.blocks[end_block - 1].end
        for token in self.tokens[first:last]:
            if token.type == "inline":
                yield token

    def parse_inline(self, source: str) -> Token:
        """Parse markdown inline source, such as a heading joined with its wrapped rest."""
        tokens = self.markdown.parseInline(source)
        return tokens[0] if tokens else Token("inline", "", 0)


class Dialect(Protocol):
    """One digest layout. `parse` returns None when the document is not in this layout."""

    name: str

    def parse(self, document: MarkdownDocument) -> list[Paper] | None:
        """Return the papers of `document` in order, or None when the layout does not match.

        Raises:
            DigestError: The document is in this layout but a paper in it is broken.
        """
        ...


def _top_level_blocks(tokens: Sequence[Token]) -> list[Block]:
    blocks: list[Block] = []
    index = 0
    while index < len(tokens):
        start = index
        depth = tokens[index].nesting
        index += 1
        while depth > 0 and index < len(tokens):
            depth += tokens[index].nesting
            index += 1
        blocks.append(Block(start, index, tokens[start]))
    return blocks


# Inline HTML tags dropped from plain text. Other `<...>` inline "tags", such as the
# `<Parallel>` tokens that papers write about, are text and are kept.
_HTML_MARKUP_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "br",
        "code",
        "del",
        "div",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "mark",
        "p",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "u",
    ]
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def _is_html_markup(tag: str) -> bool:
    match = _TAG_NAME.match(tag)
    return match is not None and match[1].lower() in _HTML_MARKUP_TAGS


def plain_text(children: Iterable[Token]) -> str:
    """Return the text of inline tokens: markup dropped, escapes resolved, spaces collapsed."""
    parts: list[str] = []
    for token in children:
        if token.type == "html_inline" and _is_html_markup(token.content):
            continue
        if token.type in ("text", "code_inline", "html_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "image":
            parts.append(plain_text(token.children or ()))
    return " ".join("".join(parts).split())


def inline_links(inline: Token) -> list[InlineLink]:
    """Return the links of an inline token in order, each with its text as plain text."""
    links: list[InlineLink] = []
    children = inline.children or []
    index = 0
    while index < len(children):
        token = children[index]
        index += 1
        if token.type != "link_open":
            continue
        text_start = index
        while index < len(children) and children[index].type != "link_close":
            index += 1
        href = str(token.attrs.get("href", ""))
        links.append(InlineLink(href, plain_text(children[text_start:index])))
    return links


def quote(text: str) -> str:
    """Return `text` quoted for an error message, cut to a readable length."""
    collapsed = " ".join(text.split())
    if len(collapsed) > _MAX_QUOTED_CHARS:
        collapsed = collapsed[: _MAX_QUOTED_CHARS - 1] + "…"
    return f'"{collapsed}"'


def first_arxiv_link(links: Iterable[InlineLink]) -> InlineLink | None:
    """Return the first link that points at arxiv.org, alphaxiv.org or huggingface.co."""
    return next((link for link in links if site_of_url(link.href) is not None), None)


def resolve_arxiv_link(document: MarkdownDocument, link: InlineLink, block: Block) -> ArxivRef:
    """Return the arXiv id of a paper link.

    Raises:
        DigestError: The link points at a paper site but contains no valid arXiv id.
    """
    parsed = parse_arxiv_url(link.href)
    if parsed is None:
        raise document.error(
            f"invalid arXiv id in link {quote(link.href)}",
            "link the paper as https://arxiv.org/abs/<id>, for example 2509.17765",
            block,
        )
    return parsed[1]


_LINK_KINDS_BY_SITE = {
    ArxivSite.ALPHAXIV: LinkKind.ALPHAXIV,
    ArxivSite.HUGGINGFACE: LinkKind.HUGGINGFACE,
}


def paper_links(source: str, ref: ArxivRef, extra_hrefs: Iterable[str]) -> tuple[Link, ...]:
    """Build a paper's links: canonical abs and PDF, then alphaXiv and Hugging Face if linked.

    The abs and PDF URLs keep the version when the digest linked one. An alphaXiv URL is kept
    as written (it carries the reader's language); a Hugging Face URL is rebuilt canonically.
    A link whose id differs from the paper's is left out with a warning.
    """
    links = [
        Link(LinkKind.ABS, f"https://arxiv.org/abs/{ref.versioned_id}"),
        Link(LinkKind.PDF, f"https://arxiv.org/pdf/{ref.versioned_id}"),
    ]
    for href in extra_hrefs:
        parsed = parse_arxiv_url(href)
        if parsed is None or parsed[0] not in _LINK_KINDS_BY_SITE:
            continue
        site, linked = parsed
        kind = _LINK_KINDS_BY_SITE[site]
        if linked.id != ref.id:
            _log.warning("%s: %s link %s is not for paper %s; left out", source, site, href, ref.id)
            continue
        if any(link.kind is kind for link in links):
            continue
        url = (
            href.strip() if kind is LinkKind.ALPHAXIV else f"https://huggingface.co/papers/{ref.id}"
        )
        links.append(Link(kind, url))
    return tuple(links)


def build_paper(
    number: int, title: str, ref: ArxivRef, links: tuple[Link, ...], sections: tuple[Section, ...]
) -> Paper:
    """Assemble a Paper; the id is stored without version and the version separately."""
    return Paper(
        number=number,
        title=title,
        arxiv_id=ref.id,
        arxiv_version=ref.version,
        links=links,
        sections=sections,
    )
