"""Slack Block Kit payloads for `chat.postMessage`: one message per paper, a header, notes."""

from __future__ import annotations

import logging

from bot.digest.model import Digest, Paper
from bot.i18n import Translator
from bot.render.limits import (
    SLACK_BUTTON_URL_MAX,
    SLACK_CONTEXT_MAX_ELEMENTS,
    SLACK_HEADER_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_TEXT_MAX,
    SLACK_TEXT_OBJECT_MAX,
    SlackMessagePayload,
)
from bot.render.markdown import SLACK, slack_link, text_pieces
from bot.render.paper import (
    body_pieces,
    digest_header,
    heading_pieces,
    introduction_pieces,
    paper_links,
    paper_title,
    read_more_url,
    split_introduction,
)
from bot.render.pieces import ELLIPSIS, Escapers, Piece, chunk, fit, literal
from bot.render.text import PlainEscaper, clean_text, is_web_url

__all__ = [
    "SlackMessagePayload",
    "render_slack_header",
    "render_slack_note",
    "render_slack_paper",
]

_log = logging.getLogger(__name__)

EVENT_TYPE = "paperbot_paper"
# A section longer than one block continues in at most this many blocks, then is cut.
MAX_BLOCKS_PER_SECTION = 3
# The fallback `text` appears in notifications, so it stays as short as a section.
FALLBACK_TEXT_MAX = SLACK_SECTION_TEXT_MAX
_PLAIN = Escapers(text=PlainEscaper(), code=PlainEscaper())


def _require_channel(channel: str) -> None:
    if not isinstance(channel, str) or not channel.strip():
        raise ValueError(
            f"invalid Slack channel {channel!r}: expected a channel id such as C0123ABCD"
        )


def _header_block(text: str) -> dict[str, object]:
    # plain_text is shown without parsing, so it needs no escaping and cannot mention.
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": fit([Piece(raw=text)], SLACK_HEADER_MAX, _PLAIN),
            "emoji": True,
        },
    }


def _mrkdwn(text: str) -> dict[str, object]:
    # verbatim: Slack keeps formatting and <url|label> links but does not turn plain
    # words such as #channel names or @here into links or mentions.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section_block(text: str) -> dict[str, object]:
    return {"type": "section", "text": _mrkdwn(text)}


def _metadata(digest: Digest, number: int, arxiv_id: str) -> dict[str, object]:
    # The delivery service finds already-posted messages by this metadata.
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "digest_date": digest.date.isoformat(),
            "paper": number,
            "arxiv_id": arxiv_id,
        },
    }


def _message(channel: str, text: str, blocks: list[dict[str, object]]) -> SlackMessagePayload:
    return {
        "channel": channel,
        "text": fit([Piece(raw=text)], FALLBACK_TEXT_MAX, SLACK.escapers),
        "blocks": blocks,
        # A paper link would otherwise add a large preview under every message.
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _paper_parts(paper: Paper) -> list[list[Piece]]:
    """Return the pieces of each part: the Introduction first, then "*Heading*" + body."""
    introduction, others = split_introduction(paper)
    parts = [introduction_pieces(introduction, SLACK)] if introduction else []
    for section in others:
        heading = heading_pieces(section, SLACK, style="strong")
        body = body_pieces(section, SLACK)
        parts.append(heading + ([literal("\n"), *body] if body and heading else body))
    return [part for part in parts if part]


def _section_blocks(
    parts: list[list[Piece]], more: str, max_blocks: int
) -> list[dict[str, object]]:
    """Lay out the parts in at most `max_blocks` section blocks of at most 3000 characters.

    Every part gets one block, and the blocks left over let long parts continue. When
    there are more parts than blocks, the last block links to the full text.
    """
    if len(parts) > max_blocks:
        _log.warning("%d sections exceed %d Slack blocks; the rest is cut", len(parts), max_blocks)
        parts = parts[: max_blocks - 1]
        overflow = [_section_block(ELLIPSIS + more)]
    else:
        overflow = []
    spare = max_blocks - len(parts) - len(overflow)
    blocks = []
    for part in parts:
        allowed = 1 + min(spare, MAX_BLOCKS_PER_SECTION - 1)
        texts = chunk(
            part, SLACK.escapers, chunk_limit=SLACK_SECTION_TEXT_MAX, max_chunks=allowed, more=more
        )
        spare -= max(len(texts) - 1, 0)
        blocks += [_section_block(text) for text in texts]
    return blocks + overflow


def _links_block(paper: Paper, t: Translator) -> dict[str, object] | None:
    # Links are mrkdwn in a context block, not URL buttons: Slack sends a block_actions
    # request for every button click, which the app would have to acknowledge.
    elements = []
    for link in paper_links(paper, t, max_url_length=SLACK_BUTTON_URL_MAX):
        text = slack_link(link.url, link.label)
        if len(text) <= SLACK_TEXT_OBJECT_MAX:
            elements.append(_mrkdwn(text))
    if not elements:
        return None
    return {"type": "context", "elements": elements[:SLACK_CONTEXT_MAX_ELEMENTS]}


def render_slack_paper(
    paper: Paper, digest: Digest, t: Translator, *, channel: str, thread_ts: str | None = None
) -> SlackMessagePayload:
    """Build the `chat.postMessage` arguments of one paper.

    Blocks: a header "N. Title", the Introduction bullets with bold labels, each other
    section as a bold heading and text, and a context line with the paper's links.
    Text over a block limit continues in the next block or is cut with `…` and a link
    to the full text.

    Args:
        paper: The paper to show.
        digest: The digest it comes from, for its date and web address.
        t: Translator for link labels and the "read more" text.
        channel: Slack channel id.
        thread_ts: Timestamp of the message to reply under, if any.

    Raises:
        ValueError: `channel` is empty.
    """
    _require_channel(channel)
    title = paper_title(paper, t)
    more = " " + slack_link(read_more_url(paper, digest), t("read_more"))

    links = _links_block(paper, t)
    fixed = 1 + (links is not None)
    blocks = [_header_block(title)]
    blocks += _section_blocks(_paper_parts(paper), more, SLACK_MAX_BLOCKS - fixed)
    if links is not None:
        blocks.append(links)

    payload = _message(channel, f"{title} — {paper.abs_url}", blocks)
    payload["metadata"] = _metadata(digest, paper.number, paper.arxiv_id)
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def render_slack_header(digest: Digest, t: Translator, *, channel: str) -> SlackMessagePayload:
    """Build the message that opens a digest: "Title · N papers", linked to the post if known.

    Its metadata names paper 0, so the delivery service can find it like a paper message.

    Raises:
        ValueError: `channel` is empty.
    """
    _require_channel(channel)
    header = digest_header(digest, t)
    blocks = [_header_block(header)]
    if digest.url and is_web_url(digest.url) and len(digest.url) <= SLACK_BUTTON_URL_MAX:
        link = slack_link(digest.url, t("read_more"))
        blocks.append({"type": "context", "elements": [_mrkdwn(link)]})
    payload = _message(channel, header, blocks)
    payload["metadata"] = _metadata(digest, 0, "")
    return payload


def render_slack_note(text: str, *, channel: str) -> SlackMessagePayload:
    """Build a message of one already localized note, such as "no papers today".

    Raises:
        ValueError: `channel` or `text` is empty.
    """
    _require_channel(channel)
    if not clean_text(text).strip():
        raise ValueError("empty Slack note: expected a localized message text")
    section = fit(text_pieces(text, SLACK), SLACK_SECTION_TEXT_MAX, SLACK.escapers)
    return _message(channel, text, [_section_block(section)])
