"""Platform-neutral parts of a paper message: title, Introduction, other sections and links."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.digest.model import Digest, LinkKind, Paper, Section
from bot.i18n import Translator
from bot.render.markdown import BULLET, Markup, block_pieces, plain, text_pieces
from bot.render.pieces import Piece, literal
from bot.render.text import is_web_url

_log = logging.getLogger(__name__)

# Headings (compared case-insensitively) of the section shown as the summary: the
# Introduction of the Korean digests and its usual English and Korean variants.
INTRODUCTION_HEADINGS = frozenset(
    {"introduction", "intro", "summary", "tl;dr", "tldr", "소개", "서론", "개요", "요약"}
)

# Links in the order they are shown, with the Translator key of their label.
_LINK_LABELS = (
    (LinkKind.ABS, "link_abs"),
    (LinkKind.PDF, "link_pdf"),
    (LinkKind.ALPHAXIV, "link_alphaxiv"),
    (LinkKind.HUGGINGFACE, "link_huggingface"),
)


@dataclass(frozen=True)
class PaperLink:
    label: str
    url: str


def paper_title(paper: Paper, t: Translator) -> str:
    """Return "N. Title", with the localized "Paper N" when the title is blank."""
    title = plain(paper.title)
    return f"{paper.number}. {title}" if title else t("paper_number", number=paper.number)


def digest_header(digest: Digest, t: Translator) -> str:
    """Return the localized header line, such as "Daily Papers — 2025-09-23 · 11편"."""
    title = plain(digest.title) or t("header_fallback_title", date=digest.date.isoformat())
    return t("header", title=title, count=len(digest.papers))


def read_more_url(paper: Paper, digest: Digest) -> str:
    """Return where the full text of a cut summary is: the post, else the arXiv abstract."""
    if digest.url and is_web_url(digest.url):
        return digest.url
    return paper.abs_url


def paper_links(paper: Paper, t: Translator, *, max_url_length: int) -> list[PaperLink]:
    """Return the paper's links; arXiv abs and PDF are always there, derived from the id.

    A link that is not an http(s) URL or is longer than `max_url_length` is left out.
    """
    urls = {
        LinkKind.ABS: paper.abs_url,
        LinkKind.PDF: paper.pdf_url,
        LinkKind.ALPHAXIV: paper.link(LinkKind.ALPHAXIV),
        LinkKind.HUGGINGFACE: paper.link(LinkKind.HUGGINGFACE),
    }
    links = []
    for kind, key in _LINK_LABELS:
        url = urls[kind]
        if url and is_web_url(url) and len(url) <= max_url_length:
            links.append(PaperLink(t(key), url))
        elif url:
            _log.warning("paper %s: %s link left out, not a usable URL", paper.arxiv_id, kind)
    return links


def split_introduction(paper: Paper) -> tuple[Section | None, list[Section]]:
    """Return the Introduction (by heading, else a leading bullet section) and the rest."""
    sections = list(paper.sections)
    for index, section in enumerate(sections):
        if section.heading.strip().casefold() in INTRODUCTION_HEADINGS:
            return section, sections[:index] + sections[index + 1 :]
    if sections and sections[0].bullets:
        return sections[0], sections[1:]
    return None, sections


def introduction_pieces(section: Section, markup: Markup) -> list[Piece]:
    """Render the Introduction bullets as "• Label: text" lines, or its body as is."""
    if not section.bullets:
        return block_pieces(section.markdown, markup)
    pieces: list[Piece] = []
    for bullet in section.bullets:
        if pieces:
            pieces.append(literal("\n"))
        pieces.append(literal(BULLET))
        label = plain(bullet.label or "").rstrip(":：").strip()
        if label:
            pieces += text_pieces(f"{label}:", markup, style="strong")
            pieces.append(Piece(raw=" "))
        pieces += block_pieces(bullet.markdown, markup)
    return pieces


def heading_pieces(section: Section, markup: Markup, *, style: str | None = None) -> list[Piece]:
    return text_pieces(plain(section.heading), markup, style=style)


def body_pieces(section: Section, markup: Markup) -> list[Piece]:
    return block_pieces(section.markdown, markup)
