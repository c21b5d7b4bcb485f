"""The prototype layout of the seed blog (August 2025).

Papers start at `### N. [Title](url)` headings whose link text may wrap onto the next line, which
CommonMark then reads as a heading plus a paragraph. Below the heading come a `제목:` (title) line
and an `arXiv: <url>` line, then `##` sections.
"""

from __future__ import annotations

from bot.digest.dialects.base import (
    InlineLink,
    MarkdownDocument,
    first_arxiv_link,
    inline_links,
    plain_text,
    quote,
    resolve_arxiv_link,
)
from bot.digest.dialects.papers import (
    PaperSpan,
    finish_paper,
    numbered_heading,
    spans_until_level,
)
from bot.digest.model import Paper

PAPER_LEVEL = 3
SECTION_LEVEL = 2
TITLE_LABEL = "제목:"
ARXIV_LABEL = "arXiv:"


class PrototypeDialect:
    """Papers at numbered `###` headings followed by `제목:` and `arXiv:` lines."""

    name = "prototype"

    def parse(self, document: MarkdownDocument) -> list[Paper] | None:
        """Return the papers, or None when no numbered `###` paper has a `제목:`/`arXiv:` line."""
        numbered = [
            found
            for heading in document.headings()
            if heading.level == PAPER_LEVEL and (found := numbered_heading(heading)) is not None
        ]
        spans = spans_until_level(document, numbered, 1)
        if not any(_labelled_lines(document, span) for span in spans):
            return None
        return [self._paper(document, span) for span in spans]

    def _paper(self, document: MarkdownDocument, span: PaperSpan) -> Paper:
        heading = span.numbered.heading
        block = document.blocks[heading.block_index]
        lines = _labelled_lines(document, span)
        link = _heading_link(document, span)
        if link is None and ARXIV_LABEL in lines:
            link = InlineLink(lines[ARXIV_LABEL], "")
        if link is None:
            raise document.error(
                f"paper heading {quote(heading.source)} has no arXiv link",
                "link the title to the paper or add a line 'arXiv: https://arxiv.org/abs/<id>'",
                block,
            )
        ref = resolve_arxiv_link(document, link, block)
        title = link.text or _title_line(document, lines) or span.numbered.rest
        return finish_paper(document, span, title, ref, SECTION_LEVEL)


def _heading_link(document: MarkdownDocument, span: PaperSpan) -> InlineLink | None:
    """Return the heading's paper link, joining a link text wrapped onto the next paragraph."""
    heading = span.numbered.heading
    link = first_arxiv_link(inline_links(heading.inline))
    next_index = heading.block_index + 1
    if link is not None or next_index >= span.end_block:
        return link
    if document.blocks[next_index].first.type != "paragraph_open":
        return None
    rest = document.tokens[document.blocks[next_index].start + 1].content
    joined = document.parse_inline(f"{heading.source}\n{rest}")
    return first_arxiv_link(inline_links(joined))


def _labelled_lines(document: MarkdownDocument, span: PaperSpan) -> dict[str, str]:
    """Return the `제목:` and `arXiv:` values between the heading and the first section.

    A `제목:` value runs on until the `arXiv:` line, because long titles wrap.
    """
    start = span.numbered.heading.block_index + 1
    end = next(
        (
            index
            for index in range(start, span.end_block)
            if (heading := document.heading(index)) is not None and heading.level == SECTION_LEVEL
        ),
        span.end_block,
    )
    values: dict[str, str] = {}
    for inline in document.inline_tokens(start, end):
        current: str | None = None
        for line in inline.content.split("\n"):
            stripped = line.strip()
            label = next((lb for lb in (TITLE_LABEL, ARXIV_LABEL) if stripped.startswith(lb)), None)
            if label is not None:
                current = label
                values[label] = stripped[len(label) :].strip()
            elif current == TITLE_LABEL:
                values[TITLE_LABEL] += f" {stripped}"
    return values


def _title_line(document: MarkdownDocument, lines: dict[str, str]) -> str:
    """Return the `제목:` value as plain text, with markdown escapes resolved."""
    source = lines.get(TITLE_LABEL, "")
    return plain_text(document.parse_inline(source).children or ()) if source else ""
