"""The seed blog layout: `# N. [Title](https://arxiv.org/abs/ID)` per paper, `##` sections.

An optional `> [Alphaxiv](https://www.alphaxiv.org/ko/overview/ID)` line may sit between the
heading and the first section.
"""

from __future__ import annotations

from bot.digest.dialects.base import (
    MarkdownDocument,
    first_arxiv_link,
    inline_links,
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

PAPER_LEVEL = 1
SECTION_LEVEL = 2


class SeedBlogDialect:
    """Papers at numbered `#` headings whose link is the paper's arXiv page."""

    name = "seed-blog"

    def parse(self, document: MarkdownDocument) -> list[Paper] | None:
        """Return the papers, or None when no numbered `#` heading carries a link."""
        numbered = [
            found
            for heading in document.headings()
            if heading.level == PAPER_LEVEL and (found := numbered_heading(heading)) is not None
        ]
        if not any(inline_links(found.heading.inline) for found in numbered):
            return None
        spans = spans_until_level(document, numbered, PAPER_LEVEL)
        return [self._paper(document, span) for span in spans]

    def _paper(self, document: MarkdownDocument, span: PaperSpan) -> Paper:
        heading = span.numbered.heading
        block = document.blocks[heading.block_index]
        link = first_arxiv_link(inline_links(heading.inline))
        if link is None:
            raise document.error(
                f"paper heading {quote(heading.source)} has no arXiv link",
                "link the title to the paper: # N. [Title](https://arxiv.org/abs/<id>)",
                block,
            )
        ref = resolve_arxiv_link(document, link, block)
        title = link.text or span.numbered.rest
        return finish_paper(document, span, title, ref, SECTION_LEVEL)
