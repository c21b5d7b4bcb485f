"""Rendered text as a list of pieces, and cutting it to a platform length limit.

A `Piece` is digest text (`raw`, escaped when rendered) between platform markup that is
emitted as is (`open`, `close`). A cut inside a piece keeps both markers, so bold text,
links and code blocks stay closed. A cut inside `raw` falls between grapheme clusters,
so no Hangul syllable, emoji or escape sequence is split.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.render.text import Escaper, Unit, is_sentence_end

_log = logging.getLogger(__name__)

ELLIPSIS = "…"

# A cut at a weaker boundary is taken only when every stronger one would keep less
# than this share of the limit, so a long sentence is not dropped whole.
_MIN_FILL = 0.5


@dataclass(frozen=True)
class Piece:
    raw: str = ""
    open: str = ""
    close: str = ""
    code: bool = False

    @property
    def is_literal(self) -> bool:
        return not self.raw


def literal(markup: str) -> Piece:
    """Return a piece of platform markup only, such as a line break or a bullet."""
    return Piece(open=markup)


@functools.lru_cache(maxsize=4096)
def _cached_units(escaper: Escaper, raw: str, at_line_start: bool) -> tuple[Unit, ...]:
    # Fitting measures the same pieces many times (Discord's 6000-character budget is
    # searched by bisection), so cluster splitting and escaping run once per text.
    return tuple(escaper.units(raw, at_line_start))


@dataclass(frozen=True)
class Escapers:
    text: Escaper
    code: Escaper

    def units(self, piece: Piece, at_line_start: bool) -> tuple[Unit, ...]:
        escaper = self.code if piece.code else self.text
        return _cached_units(escaper, piece.raw, at_line_start and not piece.open)


class Boundary(enum.IntEnum):
    """Quality of a cut position: a higher value is a better place to cut."""

    CLUSTER = 0
    WORD = 1
    SENTENCE = 2
    LINE = 3


@dataclass(frozen=True)
class _Cut:
    length: int
    piece: int
    # Characters of `raw` kept from the cut piece; None keeps the whole piece.
    chars: int | None


def _ends_line(text: str) -> bool:
    return not text or text.endswith("\n")


def render(pieces: Sequence[Piece], escapers: Escapers) -> str:
    """Join `pieces` into the final platform text."""
    parts: list[str] = []
    line_start = True
    for piece in pieces:
        body = "".join(escaped for _, escaped in escapers.units(piece, line_start))
        rendered = piece.open + body + piece.close
        parts.append(rendered)
        if rendered:
            line_start = rendered.endswith("\n")
    return "".join(parts)


def _piece_boundary(pieces: Sequence[Piece], index: int) -> Boundary | None:
    """Rate the cut position right after piece `index`, or None where a cut would look broken."""
    piece = pieces[index]
    if piece.is_literal:
        return Boundary.LINE if piece.open.endswith("\n") else None
    following = pieces[index + 1] if index + 1 < len(pieces) else None
    next_text = (following.open or following.raw) if following else ""
    if not next_text or next_text[0].isspace():
        return Boundary.SENTENCE if is_sentence_end(piece.raw.rstrip()[-1:]) else Boundary.WORD
    if piece.raw[-1:].isspace():
        return Boundary.WORD
    return Boundary.CLUSTER


def _scan(pieces: Sequence[Piece], limit: int, escapers: Escapers) -> dict[Boundary, _Cut]:
    """Find the last cut position of each boundary kind whose text fits in `limit`."""
    best: dict[Boundary, _Cut] = {}

    def record(kind: Boundary, cut: _Cut) -> None:
        for weaker in Boundary:
            if weaker <= kind:
                best[weaker] = cut

    length = 0
    line_start = True
    for index, piece in enumerate(pieces):
        units = escapers.units(piece, line_start)
        size = len(piece.open) + sum(len(unit) for _, unit in units) + len(piece.close)
        if length + size <= limit:
            length += size
            kind = _piece_boundary(pieces, index)
            if kind is not None:
                record(kind, _Cut(length, index, None))
            rendered = piece.open + "".join(unit for _, unit in units) + piece.close
            if rendered:
                line_start = rendered.endswith("\n")
            continue
        _scan_inside(piece, index, units, length, limit, record)
        break
    return best


def _scan_inside(
    piece: Piece,
    index: int,
    units: Sequence[Unit],
    length: int,
    limit: int,
    record: Callable[[Boundary, _Cut], None],
) -> None:
    """Record the cut positions between the clusters of the piece that overflows."""
    used = length + len(piece.open) + len(piece.close)
    chars = 0
    for position, (cluster, escaped) in enumerate(units):
        if used + len(escaped) > limit:
            return
        used += len(escaped)
        chars += len(cluster)
        if cluster.isspace():
            continue
        following = units[position + 1][0] if position + 1 < len(units) else ""
        if following.isspace():
            kind = Boundary.SENTENCE if is_sentence_end(cluster) else Boundary.WORD
        else:
            kind = Boundary.CLUSTER
        record(kind, _Cut(used, index, chars))


def _choose(best: dict[Boundary, _Cut], limit: int) -> _Cut | None:
    for kind in (Boundary.LINE, Boundary.SENTENCE, Boundary.WORD):
        cut = best.get(kind)
        if cut is not None and cut.length >= limit * _MIN_FILL:
            return cut
    return best.get(Boundary.CLUSTER)


def _strip_leading_breaks(pieces: list[Piece]) -> list[Piece]:
    while pieces and pieces[0].is_literal and not pieces[0].open.strip():
        pieces = pieces[1:]
    return pieces


def split(
    pieces: Sequence[Piece], limit: int, escapers: Escapers
) -> tuple[list[Piece], list[Piece]]:
    """Split `pieces` into a head whose text fits in `limit` characters and the rest.

    The head ends at the best boundary that keeps at least half of `limit`: a line break,
    then a sentence end, then a space, else between any two clusters. The head is empty
    when not even the first cluster fits.
    """
    cut = _choose(_scan(pieces, limit, escapers), limit)
    if cut is None:
        return [], list(pieces)
    if cut.chars is None:
        head = list(pieces[: cut.piece + 1])
        rest = list(pieces[cut.piece + 1 :])
    else:
        piece = pieces[cut.piece]
        head = [*pieces[: cut.piece], replace(piece, raw=piece.raw[: cut.chars].rstrip())]
        rest = [replace(piece, raw=piece.raw[cut.chars :].lstrip()), *pieces[cut.piece + 1 :]]
        if not rest[0].raw:
            rest = rest[1:]
    return head, _strip_leading_breaks(rest)


def _drop_first_cluster(pieces: list[Piece], escapers: Escapers) -> list[Piece]:
    """Drop what blocks any progress: markup longer than the limit, or one huge cluster."""
    first = pieces[0]
    if first.open or first.close:
        return [Piece(raw=first.raw), *pieces[1:]] if first.raw else pieces[1:]
    units = escapers.units(first, True)
    _log.debug("dropping a %d-character cluster longer than the limit", len(units[0][0]))
    remainder = first.raw[len(units[0][0]) :]
    return [Piece(raw=remainder), *pieces[1:]] if remainder else pieces[1:]


def fit(pieces: Sequence[Piece], limit: int, escapers: Escapers, *, more: str = "") -> str:
    """Render `pieces` in at most `limit` characters, cutting with `…` and then `more`.

    `more` (a link to the full text) is left out when it would not leave room for text.
    """
    full = render(pieces, escapers)
    if len(full) <= limit:
        return full
    tail = ELLIPSIS + more
    if len(tail) * 2 > limit:
        tail = ELLIPSIS
    remaining = list(pieces)
    while remaining:
        head, rest = split(remaining, limit - len(tail), escapers)
        if head:
            return render(head, escapers).rstrip() + tail
        remaining = _drop_first_cluster(remaining, escapers)
    return tail if len(tail) <= limit else ""


def chunk(
    pieces: Sequence[Piece],
    escapers: Escapers,
    *,
    chunk_limit: int,
    max_chunks: int,
    total_limit: int | None = None,
    more: str = "",
) -> list[str]:
    """Render `pieces` as up to `max_chunks` texts of at most `chunk_limit` characters each.

    All chunks together stay within `total_limit` characters. When the text does not fit,
    the last chunk ends with `…` and `more`. Blank chunks are left out.
    """
    remaining_total = total_limit if total_limit is not None else chunk_limit * max_chunks
    reserve = len(ELLIPSIS + more) * 2 + 1
    chunks: list[str] = []
    rest = list(pieces)
    while rest and len(chunks) < max_chunks and remaining_total > 0:
        limit = min(chunk_limit, remaining_total)
        is_last = len(chunks) == max_chunks - 1 or remaining_total - limit < reserve
        if is_last or len(render(rest, escapers)) <= limit:
            chunks.append(fit(rest, limit, escapers, more=more))
            break
        head, rest = split(rest, limit, escapers)
        if not head:
            rest = _drop_first_cluster(rest, escapers)
            continue
        text = render(head, escapers).rstrip()
        chunks.append(text)
        remaining_total -= len(text)
    return [text for text in chunks if text.strip()]
