"""Domain model of a paper digest: frozen dataclasses with no markdown or platform logic."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class LinkKind(enum.StrEnum):
    ABS = "abs"
    PDF = "pdf"
    ALPHAXIV = "alphaxiv"
    HUGGINGFACE = "huggingface"


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    url: str


@dataclass(frozen=True)
class Bullet:
    """One Introduction bullet; `label` is `Goal`, `목표` and the like, or None when unlabeled."""

    label: str | None
    markdown: str


@dataclass(frozen=True)
class Section:
    """One `##` section of a paper, with its body kept as markdown.

    `bullets` holds the list items when the body is a single bullet list (the Introduction
    usually is); it is empty otherwise, and `markdown` always holds the full body.
    """

    heading: str
    markdown: str
    bullets: tuple[Bullet, ...] = ()


@dataclass(frozen=True)
class Paper:
    number: int
    title: str
    arxiv_id: str
    arxiv_version: int | None
    links: tuple[Link, ...]
    sections: tuple[Section, ...] = ()

    def link(self, kind: LinkKind) -> str | None:
        """Return the URL of the first link of `kind`, or None."""
        return next((link.url for link in self.links if link.kind is kind), None)

    @property
    def abs_url(self) -> str:
        return self.link(LinkKind.ABS) or f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return self.link(LinkKind.PDF) or f"https://arxiv.org/pdf/{self.arxiv_id}"


class DateSource(enum.StrEnum):
    FRONT_MATTER = "front_matter"
    FILENAME = "filename"


@dataclass(frozen=True)
class Digest:
    date: dt.date
    title: str
    source: str
    date_source: DateSource
    papers: tuple[Paper, ...] = field(default_factory=tuple)
    # Public web address of the post, when the source knows one; renderers link
    # to it after a cut summary.
    url: str | None = None
