"""A fallback layout: papers at numbered headings of any level, the arXiv link anywhere below.

Covers digests such as `### 1. Title` with a `**URL**: <http://arxiv.org/abs/ID>` list item,
`### [1] [Title](https://arxiv.org/abs/ID)`, or a link line at the end of each paper. The paper
level is the level of the first numbered heading that has an arXiv link; sections are the
headings one level below it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.digest.arxiv_ids import parse_arxiv_url
from bot.digest.dialects.base import (
    InlineLink,
    MarkdownDocument,
    first_arxiv_link,
    inline_links,
    resolve_arxiv_link,
)
from bot.digest.dialects.papers import (
    NumberedHeading,
    PaperSpan,
    finish_paper,
    numbered_heading,
    spans_until_level,
)
from bot.digest.model import Paper


class NumberedHeadingDialect:
    """Papers at numbered headings of one level, linked in the heading or in the body."""

    name = "numbered-heading"

    def parse(self, document: MarkdownDocument) -> list[Paper] | None:
        """Return the papers, or None when no numbered heading leads to an arXiv link."""
        numbered = [
            found
            for heading in document.headings()
            if (found := numbered_heading(heading)) is not None
        ]
        level = _paper_level(document, numbered)
        if level is None:
            return None
        papers = [found for found in numbered if found.heading.level == level]
        spans = spans_until_level(document, papers, level)
        # Numbered headings without a link mean the numbers are something else, such as the
        # numbered parts of one paper's summary, so this general layout does not apply.
        if not all(_heading_link(span) or _body_link(document, span) for span in spans):
            return None
        return [self._paper(document, span, level) for span in spans]

    def _paper(self, document: MarkdownDocument, span: PaperSpan, level: int) -> Paper:
        heading = span.numbered.heading
        block = document.blocks[heading.block_index]
        heading_link = _heading_link(span)
        link = heading_link or _body_link(document, span)
        assert link is not None, "parse() keeps only papers with a link"
        ref = resolve_arxiv_link(document, link, block)
        title = heading_link.text if heading_link and heading_link.text else span.numbered.rest
        return finish_paper(document, span, title, ref, level + 1, links_from_whole_body=True)


def _paper_level(document: MarkdownDocument, numbered: Iterable[NumberedHeading]) -> int | None:
    """Return the level of the first numbered heading with an arXiv link, or None."""
    for found in numbered:
        level = found.heading.level
        (span,) = spans_until_level(document, [found], level)
        if _heading_link(span) or _body_link(document, span):
            return level
    return None


def _heading_link(span: PaperSpan) -> InlineLink | None:
    return first_arxiv_link(inline_links(span.numbered.heading.inline))


def _body_link(document: MarkdownDocument, span: PaperSpan) -> InlineLink | None:
    """Return the first link below the heading that contains a valid arXiv id."""
    start = span.numbered.heading.block_index + 1
    for inline in document.inline_tokens(start, span.end_block):
        for link in inline_links(inline):
            if parse_arxiv_url(link.href) is not None:
                return link
    return None
