"""Cutting a paper's body into `##` sections, keeping each body as its markdown source.

Section bodies are sliced from the original lines through `Token.map`, so emphasis, code, links
and text such as `<Parallel>` reach the renderers exactly as the digest wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.digest.dialects.base import Block, Heading, MarkdownDocument, plain_text
from bot.digest.model import Bullet, Section

# Introduction bullet labels that the digests use, in English and Korean. A label may be bold
# (`**Goal**:` or `**Goal:**`) and may use a full-width colon.
BULLET_LABELS = ("Goal", "Motivation", "Contribution", "목표", "동기", "기여")
_LABEL_PATTERN = re.compile(
    r"(?:\*\*|__)?(?P<label>{labels})(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*".format(
        labels="|".join(re.escape(label) for label in BULLET_LABELS)
    ),
    re.IGNORECASE,
)
# The marker of a bullet list item at the start of its first line: `-`, `*` or `+`.
_BULLET_MARKER = re.compile(r"[ \t]*[-*+][ \t]*")


@dataclass(frozen=True)
class PaperBody:
    """A paper's blocks split into the part before its first section and the sections."""

    preamble_end: int
    sections: tuple[Section, ...]


def clean_markdown(lines: Sequence[str]) -> str:
    """Join lines with trailing whitespace removed and blank lines around the text dropped."""
    stripped = [line.rstrip() for line in lines]
    while stripped and not stripped[0]:
        stripped.pop(0)
    while stripped and not stripped[-1]:
        stripped.pop()
    return "\n".join(stripped)


def split_sections(
    document: MarkdownDocument, start_block: int, end_block: int, section_level: int
) -> PaperBody:
    """Split blocks `[start_block, end_block)` of one paper at headings of `section_level`.

    Headings of other levels stay inside the section markdown.
    """
    headings = [
        heading
        for index in range(start_block, end_block)
        if (heading := document.heading(index)) is not None and heading.level == section_level
    ]
    sections = []
    for position, heading in enumerate(headings):
        next_block = (
            headings[position + 1].block_index if position + 1 < len(headings) else end_block
        )
        sections.append(_section(document, heading, next_block))
    preamble_end = headings[0].block_index if headings else end_block
    return PaperBody(preamble_end, tuple(sections))


def _section(document: MarkdownDocument, heading: Heading, end_block: int) -> Section:
    heading_block = heading.block_index
    body_start = document.blocks[heading_block].end_line
    _, body_end = document.block_line_span(heading_block, end_block)
    markdown = clean_markdown(document.lines[body_start:body_end])
    body_blocks = document.blocks[heading_block + 1 : end_block]
    return Section(
        heading=plain_text(heading.inline.children or ()),
        markdown=markdown,
        bullets=_bullets(document, body_blocks),
    )


def _bullets(document: MarkdownDocument, body_blocks: Sequence[Block]) -> tuple[Bullet, ...]:
    """Return the items of a body that is exactly one bullet list, else nothing."""
    if len(body_blocks) != 1 or body_blocks[0].first.type != "bullet_list_open":
        return ()
    block = body_blocks[0]
    items = [
        token
        for token in document.tokens[block.start : block.end]
        if token.type == "list_item_open" and token.level == block.first.level + 1
    ]
    return tuple(_bullet(document.lines, item.map) for item in items if item.map)


def _bullet(lines: Sequence[str], line_span: Sequence[int]) -> Bullet:
    item_lines = list(lines[line_span[0] : line_span[1]])
    first = item_lines[0]
    marker = _BULLET_MARKER.match(first)
    content_indent = marker.end() if marker else 0
    dedented = [first[content_indent:]]
    for line in item_lines[1:]:
        indent = len(line) - len(line.lstrip(" "))
        dedented.append(line[min(indent, content_indent) :])
    markdown = clean_markdown(dedented)
    label = _LABEL_PATTERN.match(markdown)
    if label is None:
        return Bullet(None, markdown)
    return Bullet(label["label"], markdown[label.end() :])
