"""Discord create-message payloads: one embed per paper, a header, notes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.digest.model import Digest, Paper
from bot.i18n import Translator
from bot.render.limits import (
    DISCORD_BUTTON_LABEL_MAX,
    DISCORD_BUTTON_URL_MAX,
    DISCORD_CONTENT_MAX,
    DISCORD_EMBED_DESCRIPTION_MAX,
    DISCORD_EMBED_MAX_FIELDS,
    DISCORD_EMBED_TITLE_MAX,
    DISCORD_EMBEDS_TOTAL_MAX,
    DISCORD_FIELD_NAME_MAX,
    DISCORD_FIELD_VALUE_MAX,
    DISCORD_LINK_BUTTON_STYLE,
    DISCORD_MAX_BUTTONS_PER_ROW,
    DISCORD_NONCE_MAX,
    DiscordMessagePayload,
)
from bot.render.markdown import DISCORD, discord_link, plain, text_pieces
from bot.render.paper import (
    body_pieces,
    digest_header,
    heading_pieces,
    introduction_pieces,
    paper_links,
    read_more_url,
    split_introduction,
)
from bot.render.pieces import ELLIPSIS, Escapers, Piece, chunk, fit, literal, render
from bot.render.text import ZWSP, DiscordEscaper, clean_text, is_web_url

__all__ = [
    "DiscordMessagePayload",
    "render_discord_header",
    "render_discord_note",
    "render_discord_paper",
]

_log = logging.getLogger(__name__)

# Footers, author names and button labels show no markdown, so they only get their
# mentions broken, without backslashes.
_UNFORMATTED = Escapers(text=DiscordEscaper(markdown=False), code=DiscordEscaper(markdown=False))
# Each part of a paper keeps at least this many characters when the 6000-character
# embed total forces cuts, so headings and a few words of every section stay visible.
_MIN_PART = 32
# A field of a section that continues from the field before has this invisible name,
# because Discord requires a non-empty name.
_CONTINUED = ZWSP
# The footer repeats only the digest title and date, so it is kept far below Discord's 2048.
_FOOTER_MAX = 256


@dataclass(frozen=True)
class _Part:
    heading: list[Piece]
    body: list[Piece]


def _check_nonce(nonce: str | None) -> None:
    if nonce is not None and not (isinstance(nonce, str) and 0 < len(nonce) <= DISCORD_NONCE_MAX):
        raise ValueError(
            f"invalid Discord nonce {nonce!r}: expected 1 to {DISCORD_NONCE_MAX} characters"
        )


def _message(nonce: str | None, **fields: object) -> DiscordMessagePayload:
    # No parse types: `@everyone`, `@here`, roles and users in digest text never ping.
    payload: DiscordMessagePayload = {**fields, "allowed_mentions": {"parse": []}}
    if nonce is not None:
        # With enforce_nonce, Discord returns the first message instead of posting a
        # retried send again.
        payload["nonce"] = nonce
        payload["enforce_nonce"] = True
    return payload


def _link_buttons(paper: Paper, t: Translator) -> list[dict[str, object]]:
    links = paper_links(paper, t, max_url_length=DISCORD_BUTTON_URL_MAX)
    buttons = [
        {
            "type": 2,
            "style": DISCORD_LINK_BUTTON_STYLE,
            "label": fit([Piece(raw=link.label)], DISCORD_BUTTON_LABEL_MAX, _UNFORMATTED),
            "url": link.url,
        }
        for link in links
    ]
    rows = [
        buttons[start : start + DISCORD_MAX_BUTTONS_PER_ROW]
        for start in range(0, len(buttons), DISCORD_MAX_BUTTONS_PER_ROW)
    ]
    return [{"type": 1, "components": row} for row in rows]


def _title_pieces(paper: Paper, t: Translator) -> list[Piece]:
    # The number is markup, so "1. " is not escaped as the start of an ordered list.
    title = plain(paper.title)
    if not title:
        return text_pieces(t("paper_number", number=paper.number), DISCORD)
    return [literal(f"{paper.number}. "), *text_pieces(title, DISCORD)]


def _footer(digest: Digest) -> str:
    title = plain(digest.title)
    date = digest.date.isoformat()
    if not title:
        text = date
    elif date in title:
        text = title
    else:
        text = f"{title} · {date}"
    return fit([Piece(raw=text)], _FOOTER_MAX, _UNFORMATTED)


def _paper_parts(paper: Paper) -> tuple[list[Piece], list[_Part]]:
    introduction, others = split_introduction(paper)
    description = introduction_pieces(introduction, DISCORD) if introduction else []
    parts = [
        _Part(heading_pieces(section, DISCORD), body_pieces(section, DISCORD)) for section in others
    ]
    return description, [part for part in parts if part.heading or part.body]


def _fields(parts: list[_Part], cap: int, more: str) -> list[dict[str, str]]:
    """Lay out sections as fields, each section's text within `cap` characters.

    A section longer than one field continues in further fields while fewer than 25 are
    used. Sections beyond the 25th are replaced by one field that links to the full text.
    """
    overflow = len(parts) > DISCORD_EMBED_MAX_FIELDS
    if overflow:
        parts = parts[: DISCORD_EMBED_MAX_FIELDS - 1]
    spare = DISCORD_EMBED_MAX_FIELDS - len(parts) - overflow
    fields = []
    for part in parts:
        name_limit = min(DISCORD_FIELD_NAME_MAX, cap)
        name = fit(part.heading, name_limit, DISCORD.escapers) or _CONTINUED
        values = chunk(
            part.body,
            DISCORD.escapers,
            chunk_limit=DISCORD_FIELD_VALUE_MAX,
            max_chunks=1 + spare,
            total_limit=cap,
            more=more,
        ) or [_CONTINUED]
        spare -= len(values) - 1
        fields.append({"name": name, "value": values[0]})
        fields += [{"name": _CONTINUED, "value": value} for value in values[1:]]
    if overflow:
        fields.append(
            {
                "name": ELLIPSIS,
                "value": more.strip() if len(more) <= DISCORD_FIELD_VALUE_MAX else ELLIPSIS,
            }
        )
    return fields


def _embed_text_length(embed: dict[str, object]) -> int:
    fields = embed.get("fields", [])
    total = len(str(embed.get("title", ""))) + len(str(embed.get("description", "")))
    total += len(embed.get("footer", {}).get("text", ""))  # type: ignore[union-attr]
    return total + sum(len(item["name"]) + len(item["value"]) for item in fields)  # type: ignore[union-attr]


def _layout(
    embed: dict[str, object], description: list[Piece], parts: list[_Part], cap: int, more: str
) -> dict[str, object]:
    laid_out = dict(embed)
    if description:
        limit = min(DISCORD_EMBED_DESCRIPTION_MAX, cap)
        laid_out["description"] = fit(description, limit, DISCORD.escapers, more=more)
    if parts:
        laid_out["fields"] = _fields(parts, cap, more)
    return laid_out


def _fit_embed(
    embed: dict[str, object], description: list[Piece], parts: list[_Part], more: str
) -> dict[str, object]:
    """Fit the embed into Discord's 6000-character total by cutting the longest parts first.

    Every part is capped at the same length, and bisection finds the largest cap that
    fits, so short sections stay whole while long ones are cut.
    """
    natural = [len(render(description, DISCORD.escapers))]
    natural += [len(render(part.body, DISCORD.escapers)) for part in parts]
    high = max(natural)
    best = _layout(embed, description, parts, high, more)
    if _embed_text_length(best) <= DISCORD_EMBEDS_TOTAL_MAX:
        return best

    low = _MIN_PART
    best = _layout(embed, description, parts, low, more)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = _layout(embed, description, parts, middle, more)
        if _embed_text_length(candidate) <= DISCORD_EMBEDS_TOTAL_MAX:
            low, best = middle, candidate
        else:
            high = middle - 1
    _log.debug("embed cut: each part capped at %d characters", low)
    return best


def render_discord_paper(
    paper: Paper, digest: Digest, t: Translator, *, nonce: str | None = None
) -> DiscordMessagePayload:
    """Build the create-message body of one paper: one embed and link buttons.

    The embed title "N. Title" links to the arXiv abstract, the description contains the
    Introduction, one field (or several, for a long one) contains each other section, and
    the footer names the digest. Text over a limit is cut with `…` and a link to the
    full text.

    Args:
        paper: The paper to show.
        digest: The digest it comes from, for the footer and its web address.
        t: Translator for button labels and the "read more" text.
        nonce: Deduplication key of this send, at most 25 characters.

    Raises:
        ValueError: `nonce` is empty or longer than 25 characters.
    """
    _check_nonce(nonce)
    more = " " + discord_link(read_more_url(paper, digest), t("read_more"))
    title = fit(_title_pieces(paper, t), DISCORD_EMBED_TITLE_MAX, DISCORD.escapers)

    embed: dict[str, object] = {"title": title}
    if is_web_url(paper.abs_url):
        embed["url"] = paper.abs_url
    embed["footer"] = {"text": _footer(digest)}
    description, parts = _paper_parts(paper)
    embed = _fit_embed(embed, description, parts, more)

    components = _link_buttons(paper, t)
    return _message(nonce, embeds=[embed], **({"components": components} if components else {}))


def render_discord_header(
    digest: Digest, t: Translator, *, nonce: str | None = None
) -> DiscordMessagePayload:
    """Build the message that opens a digest: an embed titled "Title · N papers".

    Raises:
        ValueError: `nonce` is empty or longer than 25 characters.
    """
    _check_nonce(nonce)
    header = digest_header(digest, t)
    embed: dict[str, object] = {
        "title": fit(text_pieces(header, DISCORD), DISCORD_EMBED_TITLE_MAX, DISCORD.escapers)
    }
    if digest.url and is_web_url(digest.url):
        embed["url"] = digest.url
    return _message(nonce, embeds=[embed])


def render_discord_note(text: str, *, nonce: str | None = None) -> DiscordMessagePayload:
    """Build a message of one already localized note, such as "no papers today".

    Raises:
        ValueError: `text` is empty, or `nonce` is empty or longer than 25 characters.
    """
    _check_nonce(nonce)
    if not clean_text(text).strip():
        raise ValueError("empty Discord note: expected a localized message text")
    content = fit(text_pieces(text, DISCORD), DISCORD_CONTENT_MAX, DISCORD.escapers)
    return _message(nonce, content=content)
