"""Steps every dialect takes once it has found a paper: number, title check, sections, links."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from bot.digest.arxiv_ids import ArxivRef
from bot.digest.dialects.base import (
    Heading,
    MarkdownDocument,
    build_paper,
    inline_links,
    paper_links,
    plain_text,
    quote,
)
from bot.digest.dialects.sections import split_sections
from bot.digest.model import Paper

# `1. Title` or `[1] Title` at the start of a heading's source; `1.2B` is not a number prefix.
_NUMBER_PREFIXES = (
    re.compile(r"(?P<number>\d{1,4})\.(?!\d)[ \t]*", re.ASCII),
    re.compile(r"\[(?P<number>\d{1,4})\][ \t]*", re.ASCII),
)


@dataclass(frozen=True)
class NumberedHeading:
    """A heading that starts with a paper number, and the heading text after the number."""

    heading: Heading
    number: int
    rest: str


def numbered_heading(heading: Heading) -> NumberedHeading | None:
    """Return the heading with its leading `N.` or `[N]` number, or None without one."""
    for pattern in _NUMBER_PREFIXES:
        match = pattern.match(heading.source)
        if match:
            rest = plain_text(heading.inline.children or ())
            rest_match = pattern.match(rest)
            rest = rest[rest_match.end() :] if rest_match else rest
            return NumberedHeading(heading, int(match["number"]), rest.strip())
    return None


@dataclass(frozen=True)
class PaperSpan:
    """The blocks of one paper: its heading and the index of the block after its last one."""

    numbered: NumberedHeading
    end_block: int


def finish_paper(
    document: MarkdownDocument,
    span: PaperSpan,
    title: str,
    ref: ArxivRef,
    section_level: int,
    *,
    links_from_whole_body: bool = False,
) -> Paper:
    """Split the paper body into sections and collect its links into a Paper.

    Extra links (alphaXiv, Hugging Face) come from the heading and the blocks before the first
    section, or from the whole body when `links_from_whole_body` is set.

    Raises:
        DigestError: The title is empty.
    """
    heading = span.numbered.heading
    block = document.blocks[heading.block_index]
    title = " ".join(title.split())
    if not title:
        raise document.error(
            f"paper heading {quote(heading.source)} has an empty title",
            "write the paper title in the heading link: # N. [Title](https://arxiv.org/abs/<id>)",
            block,
        )
    body = split_sections(document, heading.block_index + 1, span.end_block, section_level)
    links_end = span.end_block if links_from_whole_body else body.preamble_end
    hrefs = [link.href for link in inline_links(heading.inline)]
    for inline in document.inline_tokens(heading.block_index + 1, links_end):
        hrefs.extend(link.href for link in inline_links(inline))
    links = paper_links(document.source, ref, hrefs)
    return build_paper(span.numbered.number, title, ref, links, body.sections)


def spans_until_level(
    document: MarkdownDocument, papers: list[NumberedHeading], level: int
) -> list[PaperSpan]:
    """Return each paper's span, ending at the next heading of `level` or higher, or at a paper."""
    paper_blocks = sorted(numbered.heading.block_index for numbered in papers)
    spans = []
    for numbered in papers:
        start = numbered.heading.block_index
        end = document.next_heading_at_or_above(start, level)
        position = bisect.bisect_right(paper_blocks, start)
        if position < len(paper_blocks):
            end = min(end, paper_blocks[position])
        spans.append(PaperSpan(numbered, end))
    return spans
