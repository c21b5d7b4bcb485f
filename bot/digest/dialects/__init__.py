"""Digest layouts, tried in order by the parser until one recognizes the document.

A new layout is one new module with a class that follows `Dialect`, added to `DIALECTS`. The
general `NumberedHeadingDialect` comes last so the specific layouts win.
"""

from __future__ import annotations

from bot.digest.dialects.base import Dialect, MarkdownDocument
from bot.digest.dialects.numbered_heading import NumberedHeadingDialect
from bot.digest.dialects.prototype import PrototypeDialect
from bot.digest.dialects.seed_blog import SeedBlogDialect

DIALECTS: tuple[Dialect, ...] = (
    SeedBlogDialect(),
    PrototypeDialect(),
    NumberedHeadingDialect(),
)

__all__ = ["DIALECTS", "Dialect", "MarkdownDocument"]
